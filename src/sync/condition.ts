/**
 * `Condition`: a sequence-counter condition variable over a Lock or RLock.
 *
 * Words: SEQ (+1 on every notify that other threads must see) and WAITERS (waits in progress,
 * in every thread). A waiter reads SEQ while it still holds the lock, releases the lock, and
 * sleeps only while SEQ is unchanged. A notify needs the lock too, so one that comes between our
 * release and our sleep has changed SEQ, and the sleep returns at once: no wake-up is lost in
 * that window. (Condition variables that sleep on a word notify never changes lose exactly that
 * wake-up: atomics-sync, esfx; see js-lock-and-condition's lock.js.)
 *
 *   blocking waiter (worker)   one Atomics.wait on SEQ each
 *   async waiters of a thread  a FIFO list; one driver per thread sleeps on SEQ for all of them
 *                              (one Atomics.waitAsync, never one per wait: an aborted
 *                              Atomics.waitAsync cannot be withdrawn, and 100,000 aborted waits
 *                              would each hold one until the next notify)
 *
 * notify(n) wakes the n oldest sleepers (Atomics.notify is FIFO); a woken driver releases every
 * waiter of its thread that began before SEQ moved. When every waiter is in the notifying thread,
 * notify hands itself to its n oldest directly. A waiter that had read SEQ but not yet gone to
 * sleep also returns, so notify may wake more than n, as a POSIX condition variable may: wait in
 * a loop on your predicate, or use waitFor, which does.
 */
import { shownValue } from '../futures/options.js';
import { WaitDriver } from './futex.js';
import { Lock } from './lock.js';
import {
  allocateWords,
  assertMayBlock,
  DESCRIBE,
  deadlineOf,
  rebuild,
  rebuildingFrom,
  registerKind,
  remaining,
  revive,
  type SharedDescriptor,
  SharedPrimitive,
  THREAD_EXITED,
  waitSync,
} from './shared-memory.js';
import { assertNotStopped, stoppedError, taskStopped } from './task-stop.js';
import {
  abortReason,
  checkBlockingWaitOptions,
  checkWaitOptions,
  type Waiter,
  WaiterList,
  type WaitOptions,
} from './waiters.js';

const SEQ = 2;
const WAITERS = 3;
const WORDS = 4;

/**
 * `threading.Condition` / `asyncio.Condition` in one. Its lock defaults to a new Lock, as in
 * asyncio (threading's default is an RLock: but an RLock belongs to a thread, and every async
 * task of one thread is that thread, so it would let them all in at once). Pass an RLock to
 * re-enter from blocking code in workers.
 */
export class Condition extends SharedPrimitive {
  /** The lock this condition waits with (given to the constructor, or its own). */
  readonly lock: Lock;
  /** @internal */
  readonly memory: Int32Array;
  readonly #waiters = new WaiterList<boolean>('wait on a Condition');
  readonly #driver: WaitDriver;

  constructor(lock?: Lock) {
    super();
    const attached = rebuildingFrom<{ memory: Int32Array; lock: Lock }>();
    if (attached) {
      this.memory = attached.memory;
      this.lock = attached.lock;
    } else {
      if (lock !== undefined && !(lock instanceof Lock)) {
        throw new TypeError('Condition(lock): lock must be a skein Lock or RLock');
      }
      this.lock = lock ?? new Lock();
      this.memory = allocateWords(WORDS);
    }
    // Sleeps on SEQ for this thread's async waiters, as one sleeper, until none is left. (WAITERS
    // counts waits, not sleepers: there is no sleepers word.)
    this.#driver = new WaitDriver(this.memory, SEQ, -1, {
      pending: () => this.#waiters.length,
      serve: () => {
        const seq = Atomics.load(this.memory, SEQ);
        this.#wakeBefore(seq);
        return seq;
      },
      woken: (result) => {
        // Woken by a notify, for waiters that have all given up since: it belongs to another sleeper.
        if (result === 'ok' && this.#wakeBefore(Atomics.load(this.memory, SEQ)) === 0) {
          Atomics.notify(this.memory, SEQ, 1);
        }
      },
    });
  }

  /** Acquires the condition's lock (see `Lock.acquire`). */
  acquire(options?: WaitOptions): Promise<boolean> {
    return this.lock.acquire(options);
  }

  /** Acquires the condition's lock, blocking (workers only; see `Lock.acquireSync`). */
  acquireSync(options?: { timeout?: number }): boolean {
    return this.lock.acquireSync(options);
  }

  /** Releases the condition's lock. */
  release(): void {
    this.lock.release();
  }

  /** Runs `fn` holding the condition's lock, releasing it when `fn` settles (see `Lock.withLock`). */
  withLock<T>(fn: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T> {
    return this.lock.withLock(fn, options);
  }

  /** Runs `fn` holding the condition's lock, blocking to get it (workers only). */
  withLockSync<T>(fn: () => T, options?: { timeout?: number }): T {
    return this.lock.withLockSync(fn, options);
  }

  /**
   * Releases the lock, waits for a notify, takes the lock back. Resolves true if notified, false
   * if `timeout` ms passed. If `signal` aborts it rejects with the reason, after taking the lock
   * back (the caller's `finally` still owns the lock, as in asyncio). A wait that gives up leaves
   * at once: nothing of it stays behind.
   */
  async wait(options?: WaitOptions): Promise<boolean> {
    checkWaitOptions('Condition.wait(options)', options);
    this.#checkOwned('wait');
    const deadline = deadlineOf(options?.timeout);
    const signal = options?.signal;
    if (signal?.aborted) throw abortReason(signal);
    const memory = this.memory;
    // Joined while the lock is still held, so no notify can fall between the two.
    const waiter = this.#waiters.add(deadline, signal, false, () => Atomics.sub(memory, WAITERS, 1));
    waiter.tag = Atomics.load(memory, SEQ);
    Atomics.add(memory, WAITERS, 1);
    const saved = this.lock.releaseSave();
    this.#driver.start();
    let notified = false;
    let failure: { error: unknown } | undefined;
    try {
      notified = await waiter.promise;
    } catch (error) {
      failure = { error };
    }
    await this.lock.acquireRestore(saved);
    if (failure) throw failure.error;
    return notified;
  }

  /** `wait` for worker code: blocks this thread. */
  waitSync(options?: { timeout?: number }): boolean {
    assertMayBlock('Condition.waitSync');
    checkBlockingWaitOptions('Condition.waitSync(options)', options);
    this.#checkOwned('waitSync');
    assertNotStopped('wait on a Condition');
    const deadline = deadlineOf(options?.timeout);
    const memory = this.memory;
    const seq = Atomics.load(memory, SEQ);
    Atomics.add(memory, WAITERS, 1);
    const saved = this.lock.releaseSave();
    let notified = false;
    try {
      for (;;) {
        if (Atomics.load(memory, SEQ) !== seq) {
          notified = true;
          break;
        }
        if (performance.now() >= deadline || taskStopped()) break;
        waitSync(memory, SEQ, seq, deadline);
      }
    } finally {
      Atomics.sub(memory, WAITERS, 1);
      // Stopped by the pool while waiting: a notify it took belongs to a waiter that goes on.
      if (notified && taskStopped()) Atomics.notify(memory, SEQ, 1);
      // For a user's lock this throws the stop error instead of taking it (see Lock.kept).
      this.lock.acquireRestoreSync(saved);
    }
    if (taskStopped()) throw stoppedError('wait on a Condition');
    return notified;
  }

  /**
   * Waits until `predicate()` is truthy (checked first, and after every wake-up, with the lock
   * held); returns its last result, which is falsy only if `timeout` ms passed.
   */
  async waitFor<T>(predicate: () => T, options?: WaitOptions): Promise<T> {
    checkWaitOptions('Condition.waitFor(predicate, options)', options);
    const deadline = deadlineOf(options?.timeout);
    let result = predicate();
    while (!result) {
      const left = remaining(deadline);
      if (left <= 0) break;
      await this.wait({ timeout: left, signal: options?.signal });
      result = predicate();
    }
    return result;
  }

  /** `waitFor` for worker code. */
  waitForSync<T>(predicate: () => T, options?: { timeout?: number }): T {
    checkBlockingWaitOptions('Condition.waitForSync(predicate, options)', options);
    const deadline = deadlineOf(options?.timeout);
    let result = predicate();
    while (!result) {
      const left = remaining(deadline);
      if (left <= 0) break;
      this.waitSync({ timeout: left });
      result = predicate();
    }
    return result;
  }

  /** Wakes up to `n` waiters (default 1), oldest first. The lock must be held. */
  notify(n = 1): void {
    this.#checkOwned('notify');
    if (!(n >= 0)) throw new RangeError(`notify(n): n must be a number >= 0, got ${shownValue(n)}`);
    const memory = this.memory;
    const waiting = Atomics.load(memory, WAITERS);
    if (waiting === 0) return;
    if (waiting === this.#waiters.length) {
      // Every waiter is in this thread (WAITERS only grows under the lock, which we hold).
      for (let i = 0; i < n; i++) {
        const next = this.#waiters.first();
        if (!next) break;
        this.#wake(next);
      }
      return;
    }
    Atomics.add(memory, SEQ, 1);
    Atomics.notify(memory, SEQ, n);
  }

  /** Wakes every waiter. The lock must be held. */
  notifyAll(): void {
    this.notify(Number.POSITIVE_INFINITY);
  }

  #checkOwned(method: string): void {
    if (!this.lock.isOwned()) {
      throw new Error(
        `Condition.${method}() needs the condition's lock held by this thread: call it inside ` +
          'withLock(...) (or after acquire())',
      );
    }
  }

  #wake(waiter: Waiter<boolean>): void {
    Atomics.sub(this.memory, WAITERS, 1);
    this.#waiters.settle(waiter, true);
  }

  /** Wakes this thread's waiters that began before SEQ became `seq` (oldest first: a prefix). */
  #wakeBefore(seq: number): number {
    // A task the pool stopped takes no wake-up: its waiters fail, and the wake-up is passed on.
    this.#waiters.refuseIfStopped();
    let woken = 0;
    for (let next = this.#waiters.first(); next && next.tag !== seq; next = this.#waiters.first()) {
      this.#wake(next);
      woken++;
    }
    return woken;
  }

  /** @internal */
  [DESCRIBE](): SharedDescriptor {
    return {
      $skein: 'Condition',
      buffers: [this.memory.buffer as SharedArrayBuffer],
      parts: [this.lock[DESCRIBE]()],
    };
  }

  /** @internal */
  [THREAD_EXITED](deadThread: number): void {
    this.lock[THREAD_EXITED](deadThread);
    // It died holding the lock: the waiters asleep on SEQ would sleep on (nobody can notify
    // without the lock). Wake them all to find it broken.
    if (this.lock.broken) {
      Atomics.add(this.memory, SEQ, 1);
      Atomics.notify(this.memory, SEQ);
    }
  }
}

registerKind('Condition', (d) => {
  const lock = revive((d.parts as SharedDescriptor[])[0] as SharedDescriptor) as Lock;
  return rebuild(() => new Condition(), { memory: new Int32Array(d.buffers[0] as SharedArrayBuffer), lock });
});
