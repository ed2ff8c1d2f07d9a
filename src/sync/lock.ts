/**
 * `Lock` and `RLock`: one futex word in shared memory, usable from any thread, async or blocking.
 *
 * The word (a 3-state futex mutex, after Drepper's "Futexes Are Tricky", with the owner folded in):
 *   0             free
 *   owner*2       held by thread `owner` (threadId + 1), nobody asleep
 *   owner*2 + 1   held, and someone may be asleep on the word: release must wake one
 *   -1            broken: its holder died (see BrokenLockError)
 * Keeping the owner in the same word as the state means it is set by the very compare-and-swap
 * that takes the lock: a thread cannot die between "took it" and "recorded that it took it".
 * The word and its driver are futex.ts's; this file is what a Lock adds to them.
 *
 * Async waiters of one thread queue here, in a local FIFO list; one "driver" per thread stands
 * for them all on the futex (one Atomics.waitAsync, not one per waiter). When the holder releases
 * and no other thread is asleep, the lock goes straight to the next local waiter, by resolving a
 * promise: in one event loop a Lock costs what async-mutex's does. When another thread is asleep,
 * the lock is released for real and the oldest sleeper is woken (Atomics.notify is FIFO), so one
 * busy thread cannot starve the others.
 */
import { BrokenLockError } from './errors.js';
import {
  AGAIN,
  breakIfHeldBy,
  lockWordContended,
  lockWordStep,
  ownerOf,
  sleepCounted,
  TAKEN,
  tryLockWord,
  WaitDriver,
  wakeAfterUnlock,
} from './futex.js';
import {
  allocateWords,
  assertMayBlock,
  DESCRIBE,
  deadlineOf,
  rebuild,
  rebuildingFrom,
  registerKind,
  type SharedDescriptor,
  SharedPrimitive,
  THIS_THREAD,
  THREAD_EXITED,
} from './shared-memory.js';
import { assertNotStopped, stoppedError, taskStopped } from './task-stop.js';
import {
  acquireOrQueue,
  checkBlockingWaitOptions,
  runHolding,
  runHoldingSync,
  type Waiter,
  WaiterList,
  type WaitOptions,
} from './waiters.js';

const STATE = 2;
/** Threads asleep on STATE (async drivers and blocked threads). */
const SLEEPERS = 3;
/** RLock: how many times its owner holds it. */
const COUNT = 4;
/** Words of a lock; a primitive that embeds one (SharedValue, Queue) keeps these first. */
export const LOCK_WORDS = 5;
/**
 * futex.ts's FREE and BROKEN, as local constants on purpose: an imported binding is read through
 * its module cell (with a TDZ check) on every use, and on the hot path (acquireSync + release,
 * uncontended) that cost 18% (8.3 vs 6.8 million pairs/s in a worker). The values are the word's
 * format, fixed in futex.ts's header.
 */
const FREE = 0;
const BROKEN = -1;

function brokenLock(): BrokenLockError {
  // The word says only BROKEN: its holder may have been a worker thread or a child process (through the broker).
  return new BrokenLockError(
    'the lock is broken: a thread or process died while holding it, so what it protects may be half-updated',
  );
}

/** A Lock over existing shared memory whose first LOCK_WORDS words are a lock. */
export function attachLock<L extends Lock>(Kind: new () => L, memory: Int32Array): L {
  return rebuild(() => new Kind(), memory);
}

/** `threading.Lock` / `asyncio.Lock` in one: a mutex shared by every thread it is passed to. */
export class Lock extends SharedPrimitive {
  /** @internal */
  readonly memory: Int32Array;
  readonly #waiters = new WaiterList<boolean>(`take a ${this.constructor.name}`, this.obeysStop);
  readonly #driver: WaitDriver;

  constructor() {
    super();
    this.memory = rebuildingFrom<Int32Array>() ?? allocateWords(LOCK_WORDS);
    this.#driver = new WaitDriver(this.memory, STATE, SLEEPERS, {
      pending: () => this.#waiters.length,
      serve: () => this.#serve(),
      woken: (result) => {
        // Our waiters all gave up while we slept, yet we took a wake-up meant for a waiter:
        // pass it on, or another thread's waiter would sleep through a free lock.
        if (result === 'ok' && this.#waiters.length === 0) Atomics.notify(this.memory, STATE, 1);
      },
    });
  }

  /** Held by some thread (or broken). */
  get locked(): boolean {
    return Atomics.load(this.memory, STATE) !== FREE;
  }

  /** A thread died while holding it; see BrokenLockError. */
  get broken(): boolean {
    return Atomics.load(this.memory, STATE) === BROKEN;
  }

  /** Takes the lock if it is free and no one in this thread is queued for it. Never waits. */
  tryAcquire(): boolean {
    if (this.#waiters.length === 0 && tryLockWord(this.memory, STATE)) {
      this.onAcquired();
      return this.kept();
    }
    if (Atomics.load(this.memory, STATE) === BROKEN) throw brokenLock();
    return false;
  }

  /**
   * Waits for the lock, first come first served. Resolves true once held; false if `timeout`
   * ms pass first; rejects with the signal's reason if `signal` aborts first (the lock is then
   * not held), or with BrokenLockError.
   */
  acquire(options?: WaitOptions): Promise<boolean> {
    return acquireOrQueue(
      this.#waiters,
      options,
      () => this.tryAcquire(),
      () => this.#driver.start(),
    );
  }

  /** Blocks this (worker) thread until the lock is held, or `timeout` ms pass (then false). */
  acquireSync(options?: { timeout?: number }): boolean {
    assertMayBlock(`${this.constructor.name}.acquireSync`);
    if (options !== undefined) checkBlockingWaitOptions(`${this.constructor.name}.acquireSync(options)`, options);
    if (this.tryAcquire()) return true;
    this.checkSelfDeadlock();
    const deadline = deadlineOf(options?.timeout);
    const memory = this.memory;
    const outcome = lockWordContended(memory, STATE, deadline, (state) => {
      if (this.obeysStop) assertNotStopped(`take a ${this.constructor.name}`);
      sleepCounted(memory, STATE, SLEEPERS, state, deadline);
    });
    if (outcome === 'broken') throw brokenLock();
    if (outcome === 'timed out') return false;
    this.onAcquired();
    return this.kept();
  }

  /** Releases the lock (any thread may release a Lock, as in Python); throws if it is not held. */
  release(): void {
    const memory = this.memory;
    const state = Atomics.load(memory, STATE);
    if (state === FREE) throw new Error(`release() of an unlocked ${this.constructor.name}`);
    if (state === BROKEN) throw brokenLock();
    if (ownerOf(state) !== THIS_THREAD && taskStopped() && this.obeysStop) {
      // Most likely the `finally` of a Condition wait whose lock was not taken back (the task
      // was stopped): releasing a lock another thread holds would let two threads in.
      throw stoppedError(`release a ${this.constructor.name} held by another thread`);
    }
    this.#waiters.refuseIfStopped();
    const next = this.#waiters.first();
    if (next && ownerOf(state) === THIS_THREAD && this.#driver.noOtherSleeper()) {
      // Nobody in another thread is asleep on it: hand it to our next waiter, still held.
      this.grant(next);
      return;
    }
    let seen = state;
    for (;;) {
      const was = Atomics.compareExchange(memory, STATE, seen, FREE);
      if (was === seen) break;
      if (was === BROKEN) throw brokenLock();
      if (was === FREE) throw new Error(`release() of an unlocked ${this.constructor.name}`);
      seen = was;
    }
    wakeAfterUnlock(memory, STATE, SLEEPERS, seen);
    if (this.#waiters.length > 0) this.#driver.start();
  }

  /** Runs `fn` while holding the lock, and releases it however `fn` ends. Rejects with TimeoutError if `timeout` passes first. */
  withLock<T>(fn: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T> {
    return runHolding('withLock', this, fn, options);
  }

  /** `withLock` for worker code: blocks for the lock, runs `fn`, releases. */
  withLockSync<T>(fn: () => T, options?: { timeout?: number }): T {
    return runHoldingSync('withLockSync', this, fn, options);
  }

  /** @internal Held by this thread (Condition requires it). */
  isOwned(): boolean {
    const state = Atomics.load(this.memory, STATE);
    return state > 0 && ownerOf(state) === THIS_THREAD;
  }

  /** @internal Condition.wait: release completely; returns what acquireRestore needs. */
  releaseSave(): number {
    this.release();
    return 1;
  }

  /** @internal Condition.wait: take the lock back after waiting, whatever happened meanwhile. */
  async acquireRestore(_saved: number): Promise<void> {
    await this.acquire();
  }

  /** @internal */
  acquireRestoreSync(_saved: number): void {
    this.acquireSync();
  }

  /**
   * Whether a task the pool has stopped is refused this lock (see task-stop.ts). Only a
   * primitive's internal lock, held for a few lines of its own code, says no (a Barrier's).
   */
  protected get obeysStop(): boolean {
    return true;
  }

  /** Hook: the lock was just taken by this thread. */
  protected onAcquired(): void {}

  /**
   * Just taken by this thread: keep it, unless the pool has stopped the running task; then it
   * is given back (waking the next sleeper) and the task gets the stop error (see task-stop.ts).
   */
  protected kept(): true {
    if (taskStopped() && this.obeysStop) {
      this.release();
      throw stoppedError(`take a ${this.constructor.name}`);
    }
    return true;
  }

  /** @internal Throws when this thread already holds the lock it is about to wait for (RLock overrides). */
  protected checkSelfDeadlock(): void {
    if (this.isOwned()) {
      throw new Error('Lock.acquireSync() by the thread that holds it would wait forever; use an RLock to re-enter');
    }
  }

  /** @internal Hands the lock to a waiter of this thread. */
  protected grant(waiter: Waiter<boolean>): void {
    this.onAcquired();
    this.#waiters.settle(waiter, true);
  }

  /** One round of this thread's driver: take the word for the oldest waiter if it is free. */
  #serve(): number | typeof AGAIN {
    const step = lockWordStep(this.memory, STATE);
    if (step === BROKEN) {
      this.#waiters.failAll(brokenLock());
      return AGAIN;
    }
    if (step === TAKEN) {
      // Taken for a task the pool has stopped: give it back (release wakes the next sleeper).
      if (this.#waiters.refuseIfStopped()) this.release();
      else this.grant(this.#waiters.first() as Waiter<boolean>);
      return AGAIN;
    }
    return step;
  }

  /** @internal */
  [DESCRIBE](): SharedDescriptor {
    return { $skein: this instanceof RLock ? 'RLock' : 'Lock', buffers: [this.memory.buffer as SharedArrayBuffer] };
  }

  /** @internal */
  [THREAD_EXITED](deadThread: number): void {
    const memory = this.memory;
    if (breakIfHeldBy(memory, STATE, deadThread)) return;
    // A thread that died just as it was woken took that wake-up with it: let the sleepers look again.
    // (If it died asleep it stays counted in SLEEPERS, which only turns off the local hand-off.)
    if (Atomics.load(memory, SLEEPERS) > 0) Atomics.notify(memory, STATE);
  }
}

/**
 * `threading.RLock`: the thread that holds it may take it again; it is free once released as
 * many times as taken. The owner is the thread: in one event loop every async task is the same
 * thread, so an RLock does not keep two async tasks of one thread apart (use a Lock for that).
 */
export class RLock extends Lock {
  override tryAcquire(): boolean {
    if (this.isOwned()) {
      this.memory[COUNT] = (this.memory[COUNT] as number) + 1;
      return this.kept();
    }
    return super.tryAcquire();
  }

  /** Releases one level; the lock is free when every acquire has been released. Only its owner may release it. */
  override release(): void {
    if (!this.isOwned()) {
      if (taskStopped()) throw stoppedError('release an RLock it does not hold');
      throw new Error(
        Atomics.load(this.memory, STATE) === FREE
          ? 'release() of an unlocked RLock'
          : 'release() of an RLock held by another thread: only its owner may release it',
      );
    }
    const count = (this.memory[COUNT] as number) - 1;
    this.memory[COUNT] = count;
    if (count === 0) super.release();
  }

  /** How many times this thread holds it (0 if it does not). */
  get recursionLevel(): number {
    return this.isOwned() ? (this.memory[COUNT] as number) : 0;
  }

  override releaseSave(): number {
    const count = this.memory[COUNT] as number;
    this.memory[COUNT] = 1;
    this.release();
    return count;
  }

  override async acquireRestore(saved: number): Promise<void> {
    await this.acquire();
    this.memory[COUNT] = saved;
  }

  override acquireRestoreSync(saved: number): void {
    this.acquireSync();
    this.memory[COUNT] = saved;
  }

  protected override onAcquired(): void {
    this.memory[COUNT] = 1;
  }

  protected override checkSelfDeadlock(): void {}
}

registerKind('Lock', (d) => attachLock(Lock, new Int32Array(d.buffers[0] as SharedArrayBuffer)));
registerKind('RLock', (d) => attachLock(RLock, new Int32Array(d.buffers[0] as SharedArrayBuffer)));
