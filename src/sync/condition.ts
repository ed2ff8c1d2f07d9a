/**
 * `Condition`: a sequence-counter condition variable over a Lock or RLock.
 *
 * Words: SEQ (+1 on every notify) and WAITERS. A waiter reads SEQ while it still holds the lock,
 * releases the lock, and sleeps only while SEQ is unchanged. A notify needs the lock too, so one
 * that comes between our release and our sleep has changed SEQ, and the sleep returns at once:
 * no wake-up is lost in that window. (Condition variables that sleep on a word notify never
 * changes lose exactly that wake-up: atomics-sync, esfx; see js-lock-and-condition's lock.js.)
 *
 * notify(n) wakes the n oldest sleepers (Atomics.notify is FIFO). A waiter that had read SEQ but
 * not yet gone to sleep also returns, so notify may wake more than n, as a POSIX condition
 * variable may: wait in a loop on your predicate, or use waitFor, which does.
 */
import { Lock } from './lock.js';
import {
  allocateWords,
  assertMayBlock,
  DESCRIBE,
  deadlineOf,
  holdEventLoop,
  rebuild,
  rebuildingFrom,
  registerKind,
  releaseEventLoop,
  remaining,
  revive,
  type SharedDescriptor,
  SharedPrimitive,
  THREAD_EXITED,
  waitSync,
} from './shared-memory.js';
import { abortReason, type WaitOptions } from './waiters.js';

const SEQ = 2;
const WAITERS = 3;
const WORDS = 4;

type Outcome = 'ok' | 'not-equal' | 'timed-out' | 'aborted';

/**
 * `threading.Condition` / `asyncio.Condition` in one. Its lock defaults to a new Lock, as in
 * asyncio (threading's default is an RLock: but an RLock belongs to a thread, and every async
 * task of one thread is that thread, so it would let them all in at once). Pass an RLock to
 * re-enter from blocking code in workers.
 */
export class Condition extends SharedPrimitive {
  readonly lock: Lock;
  /** @internal */
  readonly memory: Int32Array;

  constructor(lock?: Lock) {
    super();
    const attached = rebuildingFrom<{ memory: Int32Array; lock: Lock }>();
    if (attached) {
      this.memory = attached.memory;
      this.lock = attached.lock;
      return;
    }
    if (lock !== undefined && !(lock instanceof Lock)) {
      throw new TypeError('Condition(lock): lock must be a skein Lock or RLock');
    }
    this.lock = lock ?? new Lock();
    this.memory = allocateWords(WORDS);
  }

  acquire(options?: WaitOptions): Promise<boolean> {
    return this.lock.acquire(options);
  }

  acquireSync(options?: { timeout?: number }): boolean {
    return this.lock.acquireSync(options);
  }

  release(): void {
    this.lock.release();
  }

  withLock<T>(fn: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T> {
    return this.lock.withLock(fn, options);
  }

  withLockSync<T>(fn: () => T, options?: { timeout?: number }): T {
    return this.lock.withLockSync(fn, options);
  }

  /**
   * Releases the lock, waits for a notify, takes the lock back. Resolves true if notified, false
   * if `timeout` ms passed. If `signal` aborts it rejects with the reason, after taking the lock
   * back (the caller's `finally` still owns the lock, as in asyncio).
   */
  async wait(options?: WaitOptions): Promise<boolean> {
    this.#checkOwned('wait');
    const deadline = deadlineOf(options?.timeout);
    const signal = options?.signal;
    if (signal?.aborted) throw abortReason(signal);
    const memory = this.memory;
    const seq = Atomics.load(memory, SEQ);
    Atomics.add(memory, WAITERS, 1);
    const saved = this.lock.releaseSave();
    let outcome: Outcome;
    holdEventLoop();
    try {
      const wait = Atomics.waitAsync(memory, SEQ, seq, remaining(deadline));
      outcome = !wait.async ? wait.value : signal ? await this.#raceAbort(wait.value, signal) : await wait.value;
    } finally {
      releaseEventLoop();
      Atomics.sub(memory, WAITERS, 1);
      await this.lock.acquireRestore(saved);
    }
    if (outcome === 'aborted') throw abortReason(signal as AbortSignal);
    return outcome !== 'timed-out';
  }

  /** `wait` for worker code: blocks this thread. */
  waitSync(options?: { timeout?: number }): boolean {
    assertMayBlock('Condition.waitSync');
    this.#checkOwned('waitSync');
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
        if (performance.now() >= deadline) break;
        waitSync(memory, SEQ, seq, deadline);
      }
    } finally {
      Atomics.sub(memory, WAITERS, 1);
      this.lock.acquireRestoreSync(saved);
    }
    return notified;
  }

  /**
   * Waits until `predicate()` is truthy (checked first, and after every wake-up, with the lock
   * held); returns its last result, which is falsy only if `timeout` ms passed.
   */
  async waitFor<T>(predicate: () => T, options?: WaitOptions): Promise<T> {
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
    const memory = this.memory;
    if (Atomics.load(memory, WAITERS) === 0) return;
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

  /**
   * The wait's outcome, or 'aborted' if the signal comes first. An aborted wait stays queued in
   * Atomics until woken (it cannot be withdrawn); if it is then woken by a notify, it passes the
   * wake-up on, so the notify still reaches a waiter that wants it.
   */
  #raceAbort(value: Promise<'ok' | 'timed-out'>, signal: AbortSignal): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      let aborted = false;
      const onAbort = () => {
        aborted = true;
        resolve('aborted');
      };
      signal.addEventListener('abort', onAbort, { once: true });
      void value.then((result) => {
        signal.removeEventListener('abort', onAbort);
        if (!aborted) resolve(result);
        else if (result === 'ok') Atomics.notify(this.memory, SEQ, 1);
      });
    });
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
  }
}

registerKind('Condition', (d) => {
  const lock = revive((d.parts as SharedDescriptor[])[0] as SharedDescriptor) as Lock;
  return rebuild(() => new Condition(), { memory: new Int32Array(d.buffers[0] as SharedArrayBuffer), lock });
});
