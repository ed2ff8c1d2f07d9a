/**
 * `Semaphore` and `BoundedSemaphore`: a count of permits in shared memory.
 *
 * Words: PERMITS (free permits), SLEEPERS (threads asleep waiting for one), BOUND (the initial
 * value of a BoundedSemaphore, -1 otherwise). Waiting and hand-off work as in lock.ts: one driver
 * per thread (futex.ts) on the futex for that thread's FIFO of async waiters, and a release with
 * no other thread asleep gives its permits straight to local waiters.
 *
 * A permit is never stranded: it is either in PERMITS or given to exactly one waiter that is
 * still waiting (the list settles a waiter once, and a waiter that timed out or was aborted has
 * left it before a permit could be handed to it). A semaphore has no owner, so a permit held by
 * a thread that dies is gone with it (as in Python); guard per-thread ownership with a Lock.
 */
import { shownValue } from '../futures/options.js';
import { AGAIN, sleepCounted, WaitDriver } from './futex.js';
import { runHeldCall } from './held-call.js';
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
  THREAD_EXITED,
} from './shared-memory.js';
import { assertNotStopped, stoppedError, taskStopped } from './task-stop.js';
import {
  acquireOrQueue,
  checkBlockingWaitOptions,
  runHoldingSync,
  type Waiter,
  WaiterList,
  type WaitOptions,
} from './waiters.js';

const PERMITS = 2;
const SLEEPERS = 3;
const BOUND = 4;
const WORDS = 5;
const MAX_PERMITS = 2 ** 31 - 1;

function checkPermits(name: string, n: number, min: number): void {
  if (!Number.isInteger(n) || n < min || n > MAX_PERMITS) {
    throw new RangeError(`${name} must be an integer from ${min} to ${MAX_PERMITS}, got ${shownValue(n)}`);
  }
}

function tooManyReleases(bound: number): RangeError {
  return new RangeError(
    `BoundedSemaphore released too many times (it holds at most ${bound} permit${bound === 1 ? '' : 's'})`,
  );
}

/** `threading.Semaphore`: `value` permits, shared by every thread it is passed to. */
export class Semaphore extends SharedPrimitive {
  /** @internal */
  readonly memory: Int32Array;
  readonly #waiters = new WaiterList<boolean>(`take a ${this.constructor.name} permit`);
  readonly #driver: WaitDriver;

  constructor(value = 1) {
    super();
    const attached = rebuildingFrom<Int32Array>();
    if (attached) {
      this.memory = attached;
    } else {
      checkPermits('Semaphore value', value, 0);
      this.memory = allocateWords(WORDS);
      this.memory[PERMITS] = value;
      this.memory[BOUND] = -1;
    }
    this.#driver = new WaitDriver(this.memory, PERMITS, SLEEPERS, {
      pending: () => this.#waiters.length,
      serve: () => this.#serve(),
      woken: (result) => {
        // A wake-up we took for waiters that have all given up belongs to someone else.
        if (result === 'ok' && this.#waiters.length === 0 && Atomics.load(this.memory, PERMITS) > 0) {
          Atomics.notify(this.memory, PERMITS, 1);
        }
      },
    });
  }

  /** Free permits right now. */
  get value(): number {
    return Atomics.load(this.memory, PERMITS);
  }

  /** Takes a permit if one is free and no one in this thread is queued. Never waits. */
  tryAcquire(): boolean {
    return this.#waiters.length === 0 && this.#take() && this.#kept();
  }

  /**
   * Waits for a permit, first come first served. Resolves true once taken; false if `timeout`
   * ms pass first; rejects with the signal's reason if `signal` aborts first (no permit taken).
   */
  acquire(options?: WaitOptions): Promise<boolean> {
    return acquireOrQueue(
      this.#waiters,
      options,
      () => this.tryAcquire(),
      () => this.#driver.start(),
    );
  }

  /** Blocks this (worker) thread until a permit is taken, or `timeout` ms pass (then false). */
  acquireSync(options?: { timeout?: number }): boolean {
    assertMayBlock(`${this.constructor.name}.acquireSync`);
    if (options !== undefined) checkBlockingWaitOptions(`${this.constructor.name}.acquireSync(options)`, options);
    const deadline = deadlineOf(options?.timeout);
    const memory = this.memory;
    for (;;) {
      if (this.#take()) return this.#kept();
      if (performance.now() >= deadline) return false;
      assertNotStopped(`take a ${this.constructor.name} permit`);
      sleepCounted(memory, PERMITS, SLEEPERS, 0, deadline);
    }
  }

  /** Returns `n` permits (default 1), waking as many waiters. */
  release(n = 1): void {
    checkPermits('release(n)', n, 1);
    const memory = this.memory;
    const bound = memory[BOUND] as number;
    if (bound >= 0 && Atomics.load(memory, PERMITS) + n > bound) {
      throw tooManyReleases(bound);
    }
    let left = n;
    this.#waiters.refuseIfStopped();
    if (this.#waiters.length > 0 && this.#driver.noOtherSleeper()) {
      // No other thread is asleep on it: give the permits straight to our own waiters.
      for (let next = this.#waiters.first(); next && left > 0; next = this.#waiters.first()) {
        this.#waiters.settle(next, true);
        left--;
      }
    }
    if (left === 0) return;
    if (bound >= 0) {
      for (;;) {
        const permits = Atomics.load(memory, PERMITS);
        if (permits + left > bound) {
          throw tooManyReleases(bound);
        }
        if (Atomics.compareExchange(memory, PERMITS, permits, permits + left) === permits) break;
      }
    } else {
      Atomics.add(memory, PERMITS, left);
    }
    if (Atomics.load(memory, SLEEPERS) > 0) Atomics.notify(memory, PERMITS, left);
    if (this.#waiters.length > 0) this.#driver.start();
  }

  /**
   * Runs `fn` holding a permit, and returns it however `fn` ends. Rejects with TimeoutError if
   * `timeout` passes first (`fn` does not run). A call that has to wait queues as itself, with
   * no promise chain of its own (held-call.ts): thousands can queue at once cheaply.
   */
  withPermit<T>(fn: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T> {
    return runHeldCall('withPermit', this, fn, options, this.#waiters, this.#driver);
  }

  /** `withPermit` for worker code. */
  withPermitSync<T>(fn: () => T, options?: { timeout?: number }): T {
    return runHoldingSync('withPermitSync', this, fn, options);
  }

  /** A permit just taken by this thread: kept, unless the running task was stopped (see task-stop.ts). */
  #kept(): true {
    if (taskStopped()) {
      this.release();
      throw stoppedError(`take a ${this.constructor.name} permit`);
    }
    return true;
  }

  #take(): boolean {
    const memory = this.memory;
    for (;;) {
      const permits = Atomics.load(memory, PERMITS);
      if (permits <= 0) return false;
      if (Atomics.compareExchange(memory, PERMITS, permits, permits - 1) === permits) return true;
    }
  }

  /** One round of this thread's driver: a permit for the oldest waiter, or sleep while none is free. */
  #serve(): number | typeof AGAIN {
    if (!this.#take()) return 0;
    // Taken for a task the pool has stopped: give it back (release wakes a sleeper).
    if (this.#waiters.refuseIfStopped()) this.release();
    else this.#waiters.settle(this.#waiters.first() as Waiter<boolean>, true);
    return AGAIN;
  }

  /** @internal */
  [DESCRIBE](): SharedDescriptor {
    return {
      $skein: this instanceof BoundedSemaphore ? 'BoundedSemaphore' : 'Semaphore',
      buffers: [this.memory.buffer as SharedArrayBuffer],
    };
  }

  /** @internal */
  [THREAD_EXITED](): void {
    // A thread that died just as it was woken took that wake-up with it.
    const memory = this.memory;
    if (Atomics.load(memory, SLEEPERS) > 0 && Atomics.load(memory, PERMITS) > 0) Atomics.notify(memory, PERMITS);
  }
}

/** `threading.BoundedSemaphore`: releasing more permits than it started with is a RangeError (a bug caught early). */
export class BoundedSemaphore extends Semaphore {
  constructor(value = 1) {
    super(value);
    if (!rebuildingFrom()) this.memory[BOUND] = value;
  }
}

const attach = <S extends Semaphore>(Kind: new () => S, d: SharedDescriptor): S =>
  rebuild(() => new Kind(), new Int32Array(d.buffers[0] as SharedArrayBuffer));

registerKind('Semaphore', (d) => attach(Semaphore, d));
registerKind('BoundedSemaphore', (d) => attach(BoundedSemaphore, d));
