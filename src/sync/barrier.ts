/**
 * `Barrier`: `parties` threads (or async tasks) wait until all have arrived, then all go on.
 * Python's algorithm (Lib/threading.py), over a shared Condition: words STATE (filling,
 * draining, resetting, broken), COUNT (parties inside wait) and PARTIES, then a table of which
 * threads the parties inside are in: (thread, parties) pairs, one per thread inside at once.
 *
 * A party that times out, is aborted, or whose task the pool stops breaks the barrier for
 * everyone (Python's rule for an interrupted wait): the others would otherwise wait for a party
 * that will never come. So does a party whose thread dies inside wait: the pool tells the
 * barrier which thread exited (THREAD_EXITED), the table says whether parties were inside it,
 * and they are taken out of COUNT, so that the barrier neither trips without them nor waits for
 * them to leave after a reset.
 */

import { checkOptions, optionKeys, shownValue } from '../futures/options.js';
import { Condition } from './condition.js';
import { BrokenBarrierError, BrokenLockError } from './errors.js';
import { attachLock, Lock } from './lock.js';
import {
  allocateWords,
  DESCRIBE,
  deadlineOf,
  rebuild,
  rebuildingFrom,
  registerKind,
  revive,
  type SharedDescriptor,
  SharedPrimitive,
  THIS_THREAD,
  THREAD_EXITED,
} from './shared-memory.js';
import { stoppedError, taskStopped } from './task-stop.js';
import { checkBlockingWaitOptions, checkWaitOptions, type WaitOptions } from './waiters.js';

const STATE = 2;
const COUNT = 3;
const PARTIES = 4;
/** The first (thread, parties inside) pair. */
const TABLE = 5;
/**
 * Pairs in the table at most: one per thread with parties inside at once. A party that finds no
 * free pair (more threads than this inside one barrier) is not tracked, and its thread's death
 * is not seen; Node programs do not run that many threads.
 */
const MAX_THREADS = 256;

const FILLING = 0;
const DRAINING = 1;
const RESETTING = -1;
const BROKEN = -2;

/** Options of `new Barrier(parties, options)`. */
export interface BarrierOptions {
  /** Called by the last party to arrive, before any is released; if it throws, the barrier breaks. */
  action?: () => void;
  /** Default `timeout` (ms) of every `wait`. */
  timeout?: number;
}

function broken(): BrokenBarrierError {
  return new BrokenBarrierError(
    'the barrier is broken (a party timed out, was aborted or stopped, or its thread died; or abort()/reset() was called)',
  );
}

/** A broken internal lock means a thread died in the middle of the barrier's own bookkeeping. */
function asBarrierError(error: unknown): unknown {
  if (!(error instanceof BrokenLockError)) return error;
  return new BrokenBarrierError("the barrier is broken: a party's thread died in the middle of wait()", {
    cause: error,
  });
}

/**
 * The barrier's internal lock. It is held only for a few lines of the barrier's own code, never
 * across user code, and a party whose task the pool stopped must still take it to leave (and to
 * break the barrier), so it does not refuse stopped tasks as a user's Lock does.
 */
class BarrierLock extends Lock {
  protected override get obeysStop(): boolean {
    return false;
  }

  /** @internal */
  override [DESCRIBE](): SharedDescriptor {
    return { $skein: 'BarrierLock', buffers: [this.memory.buffer as SharedArrayBuffer] };
  }
}

/** The option names of `new Barrier(parties, options)` (an unknown one is a TypeError, as in Python). */
export const BARRIER_OPTION_KEYS = optionKeys<BarrierOptions>({ action: true, timeout: true });

/** `threading.Barrier` / `asyncio.Barrier` in one, shared by every thread it is passed to. */
export class Barrier extends SharedPrimitive {
  /** @internal */
  readonly memory: Int32Array;
  readonly #condition: Condition;
  readonly #action: (() => void) | undefined;
  readonly #timeout: number | undefined;

  constructor(parties: number, options: BarrierOptions = {}) {
    super();
    checkOptions('new Barrier(parties, options)', options, BARRIER_OPTION_KEYS);
    this.#action = options.action;
    this.#timeout = options.timeout;
    const attached = rebuildingFrom<{ memory: Int32Array; condition: Condition }>();
    if (attached) {
      this.memory = attached.memory;
      this.#condition = attached.condition;
      return;
    }
    if (!Number.isInteger(parties) || parties < 1 || parties > 2 ** 31 - 1) {
      throw new RangeError(`Barrier parties must be an integer >= 1, got ${shownValue(parties)}`);
    }
    if (options.action !== undefined && typeof options.action !== 'function') {
      throw new TypeError(`Barrier action must be a function, got ${shownValue(options.action)}`);
    }
    deadlineOf(options.timeout); // validates it
    this.memory = allocateWords(TABLE + 2 * Math.min(parties, MAX_THREADS));
    this.memory[PARTIES] = parties;
    this.#condition = new Condition(new BarrierLock());
  }

  /** How many parties must call `wait()` for the barrier to trip (Python's `parties`). */
  get parties(): number {
    return this.memory[PARTIES] as number;
  }

  /** Parties waiting right now. */
  get nWaiting(): number {
    return Atomics.load(this.memory, STATE) === FILLING ? Atomics.load(this.memory, COUNT) : 0;
  }

  /** True once the barrier is broken (a timeout, an abort, a dead party, `abort()`), until `reset()`. */
  get broken(): boolean {
    return Atomics.load(this.memory, STATE) === BROKEN;
  }

  /**
   * Waits for all parties; resolves with this party's arrival index (0 … parties-1). Rejects
   * with BrokenBarrierError if the barrier is or becomes broken, or if `timeout` passes (which
   * breaks it for everyone); with the signal's reason if `signal` aborts (which breaks it too).
   */
  async wait(options?: WaitOptions): Promise<number> {
    checkWaitOptions('Barrier.wait(options)', options);
    const timeout = options?.timeout ?? this.#timeout;
    const condition = this.#condition;
    try {
      await condition.acquire();
      try {
        await condition.waitFor(() => !this.#draining());
        const { index, tracked } = this.#arrive();
        try {
          if (index + 1 === this.parties) {
            this.#releaseAll();
          } else {
            let passed: boolean;
            try {
              passed = await condition.waitFor(() => Atomics.load(this.memory, STATE) !== FILLING, {
                timeout,
                signal: options?.signal,
              });
            } catch (error) {
              this.#interrupted();
              throw error;
            }
            this.#afterWait(passed);
          }
          return index;
        } finally {
          this.#leave(tracked);
        }
      } finally {
        condition.release();
      }
    } catch (error) {
      throw asBarrierError(error);
    }
  }

  /** `wait` for worker code: blocks this thread. */
  waitSync(options?: { timeout?: number }): number {
    checkBlockingWaitOptions('Barrier.waitSync(options)', options);
    const timeout = options?.timeout ?? this.#timeout;
    const condition = this.#condition;
    try {
      condition.acquireSync();
      try {
        condition.waitForSync(() => !this.#draining());
        const { index, tracked } = this.#arrive();
        try {
          if (index + 1 === this.parties) this.#releaseAll();
          else {
            let passed: boolean;
            try {
              passed = condition.waitForSync(() => Atomics.load(this.memory, STATE) !== FILLING, { timeout });
            } catch (error) {
              this.#interrupted();
              throw error;
            }
            this.#afterWait(passed);
          }
          return index;
        } finally {
          this.#leave(tracked);
        }
      } finally {
        condition.release();
      }
    } catch (error) {
      throw asBarrierError(error);
    }
  }

  /** Back to the initial state; parties waiting now get BrokenBarrierError. */
  async reset(): Promise<void> {
    await this.#condition.withLock(() => this.#reset());
  }

  /** Breaks the barrier: waiting and later parties get BrokenBarrierError (until reset()). */
  async abort(): Promise<void> {
    await this.#condition.withLock(() => this.#break());
  }

  #draining(): boolean {
    const state = Atomics.load(this.memory, STATE);
    return state === DRAINING || state === RESETTING;
  }

  /** Counts this party in (lock held): its index, and whether the table holds it. */
  #arrive(): { index: number; tracked: boolean } {
    if (Atomics.load(this.memory, STATE) === BROKEN) throw broken();
    if (taskStopped()) {
      // A party whose task the pool has stopped will not come: the others must not wait for it.
      this.#break();
      throw stoppedError('wait at a Barrier');
    }
    const tracked = this.#countThread(THIS_THREAD, 1);
    return { index: Atomics.add(this.memory, COUNT, 1), tracked };
  }

  /**
   * Adds `delta` to `thread`'s parties in the table (lock held), claiming a free pair for it or
   * freeing its pair at 0; false if the table has no pair for it.
   */
  #countThread(thread: number, delta: number): boolean {
    const memory = this.memory;
    let free = -1;
    for (let at = TABLE; at < memory.length; at += 2) {
      const owner = memory[at] as number;
      if (owner === thread) {
        const inside = (memory[at + 1] as number) + delta;
        Atomics.store(memory, at + 1, inside);
        if (inside <= 0) Atomics.store(memory, at, 0);
        return true;
      }
      if (owner === 0 && free < 0) free = at;
    }
    if (free < 0 || delta < 0) return false;
    Atomics.store(memory, free + 1, delta);
    Atomics.store(memory, free, thread);
    return true;
  }

  /** How many parties the table says are inside `thread` (read without the lock: it is dead). */
  #partiesIn(thread: number): number {
    const memory = this.memory;
    for (let at = TABLE; at < memory.length; at += 2) {
      if (Atomics.load(memory, at) === thread) return Atomics.load(memory, at + 1);
    }
    return 0;
  }

  #releaseAll(): void {
    try {
      this.#action?.();
    } catch (error) {
      this.#break();
      throw error;
    }
    Atomics.store(this.memory, STATE, DRAINING);
    this.#condition.notifyAll();
  }

  #afterWait(passed: boolean): void {
    if (!passed) {
      this.#break();
      throw broken();
    }
    if (Atomics.load(this.memory, STATE) < 0) throw broken();
  }

  /** The last party out of a drain or reset reopens the barrier. */
  #leave(tracked: boolean): void {
    if (tracked) this.#countThread(THIS_THREAD, -1);
    this.#partiesLeft(1);
  }

  #partiesLeft(n: number): void {
    if (Atomics.sub(this.memory, COUNT, n) - n === 0 && this.#draining()) {
      Atomics.store(this.memory, STATE, FILLING);
      this.#condition.notifyAll();
    }
  }

  /**
   * A thread that had parties inside died (lock held): they are taken out, and unless the
   * barrier had already tripped (they were only on their way out), it breaks.
   */
  #dropDeadParties(thread: number): void {
    const inside = this.#partiesIn(thread);
    if (inside <= 0) return;
    this.#countThread(thread, -inside);
    if (Atomics.load(this.memory, STATE) === FILLING) this.#break();
    this.#partiesLeft(inside);
  }

  #reset(): void {
    const state = Atomics.load(this.memory, STATE);
    if (Atomics.load(this.memory, COUNT) > 0) {
      if (state === FILLING || state === BROKEN) Atomics.store(this.memory, STATE, RESETTING);
    } else {
      Atomics.store(this.memory, STATE, FILLING);
    }
    this.#condition.notifyAll();
  }

  /** A waiting party was aborted or stopped: the others must not wait for it, unless it had tripped already. */
  #interrupted(): void {
    if (Atomics.load(this.memory, STATE) === FILLING) this.#break();
  }

  #break(): void {
    Atomics.store(this.memory, STATE, BROKEN);
    this.#condition.notifyAll();
  }

  /** @internal */
  [DESCRIBE](): SharedDescriptor {
    if (this.#action) {
      throw new TypeError(
        'a Barrier with an action cannot be shared with a worker: the action is a function, which ' +
          'cannot cross threads. Leave it out and let the party whose wait() returns 0 do that work.',
      );
    }
    return {
      $skein: 'Barrier',
      buffers: [this.memory.buffer as SharedArrayBuffer],
      options: this.#timeout,
      parts: [this.#condition[DESCRIBE]()],
    };
  }

  /** @internal */
  [THREAD_EXITED](deadThread: number): void {
    this.#condition[THREAD_EXITED](deadThread);
    if (this.#partiesIn(deadThread) <= 0) return;
    const lock = this.#condition.lock;
    let held: boolean;
    try {
      held = lock.tryAcquire();
    } catch {
      return; // the dead thread broke the lock: every party gets BrokenBarrierError already
    }
    if (held) {
      try {
        this.#dropDeadParties(deadThread);
      } finally {
        lock.release();
      }
      return;
    }
    // Held by a live thread for a moment: do it as soon as it is free.
    lock.withLock(() => this.#dropDeadParties(deadThread)).catch(() => {});
  }
}

registerKind('BarrierLock', (d) => attachLock(BarrierLock, new Int32Array(d.buffers[0] as SharedArrayBuffer)));
registerKind('Barrier', (d) => {
  const condition = revive((d.parts as SharedDescriptor[])[0] as SharedDescriptor) as Condition;
  const memory = new Int32Array(d.buffers[0] as SharedArrayBuffer);
  return rebuild(() => new Barrier(1, { timeout: d.options as number | undefined }), { memory, condition });
});
