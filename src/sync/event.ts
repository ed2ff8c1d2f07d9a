/**
 * `Event`: a flag in shared memory that threads wait for.
 *
 * Words: FLAG (0/1), GENERATION (+1 on every set() that raised the flag), SLEEPERS. A waiter
 * remembers the generation it started in and is released by any later one, so a set() followed
 * at once by clear() still wakes everyone who was waiting (as in Python), and a waiter that comes
 * after the clear() does not mistake that old set() for its own.
 */
import { sleepCounted, WaitDriver } from './futex.js';
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
import { assertNotStopped } from './task-stop.js';
import { abortReason, checkBlockingWaitOptions, checkWaitOptions, WaiterList, type WaitOptions } from './waiters.js';

const FLAG = 2;
const GENERATION = 3;
const SLEEPERS = 4;
const WORDS = 5;

const RESOLVED_TRUE = Promise.resolve(true);

/** `threading.Event` / `asyncio.Event` in one, shared by every thread it is passed to. */
export class Event extends SharedPrimitive {
  /** @internal */
  readonly memory: Int32Array;
  readonly #waiters = new WaiterList<boolean>('wait for an Event');
  readonly #driver: WaitDriver;

  constructor() {
    super();
    this.memory = rebuildingFrom<Int32Array>() ?? allocateWords(WORDS);
    // Sleeps on the futex for this thread's waiters, for a set() made by another thread.
    this.#driver = new WaitDriver(this.memory, GENERATION, SLEEPERS, {
      pending: () => this.#waiters.length,
      serve: () => {
        const generation = Atomics.load(this.memory, GENERATION);
        this.#release(generation);
        return generation;
      },
    });
  }

  /** True while the flag is set (Python's `is_set()`). */
  isSet(): boolean {
    return Atomics.load(this.memory, FLAG) === 1;
  }

  /** Raises the flag and wakes every waiter, in every thread. */
  set(): void {
    const memory = this.memory;
    if (Atomics.exchange(memory, FLAG, 1) === 1) return;
    const generation = Atomics.add(memory, GENERATION, 1) + 1;
    this.#release(generation);
    if (Atomics.load(memory, SLEEPERS) > 0) Atomics.notify(memory, GENERATION);
  }

  /** Lowers the flag: later waits wait for the next set(). */
  clear(): void {
    Atomics.store(this.memory, FLAG, 0);
  }

  /** Resolves true once the flag is (or was, since this call) set; false if `timeout` ms pass first. */
  wait(options?: WaitOptions): Promise<boolean> {
    try {
      checkWaitOptions('Event.wait(options)', options);
      const signal = options?.signal;
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      const memory = this.memory;
      const generation = Atomics.load(memory, GENERATION);
      if (Atomics.load(memory, FLAG) === 1) return RESOLVED_TRUE;
      const deadline = deadlineOf(options?.timeout);
      if (options?.timeout === 0) return Promise.resolve(false);
      const waiter = this.#waiters.add(deadline, signal, false);
      waiter.tag = generation;
      this.#driver.start();
      return waiter.promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Blocks this (worker) thread until the flag is set (true) or `timeout` ms pass (false). */
  waitSync(options?: { timeout?: number }): boolean {
    assertMayBlock('Event.waitSync');
    checkBlockingWaitOptions('Event.waitSync(options)', options);
    const memory = this.memory;
    const deadline = deadlineOf(options?.timeout);
    const generation = Atomics.load(memory, GENERATION);
    if (Atomics.load(memory, FLAG) === 1) return true;
    for (;;) {
      if (Atomics.load(memory, GENERATION) !== generation) return true;
      if (performance.now() >= deadline) return false;
      // A stopped task waits no more (set() wakes every sleeper, so no wake-up is lost with it).
      assertNotStopped('wait for an Event');
      sleepCounted(memory, GENERATION, SLEEPERS, generation, deadline);
    }
  }

  /** Releases the local waiters that started before `generation`. */
  #release(generation: number): void {
    for (const waiter of this.#waiters.all()) {
      if (waiter.tag !== generation) this.#waiters.settle(waiter, true);
    }
  }

  /** @internal */
  [DESCRIBE](): SharedDescriptor {
    return { $skein: 'Event', buffers: [this.memory.buffer as SharedArrayBuffer] };
  }

  /** @internal */
  [THREAD_EXITED](): void {
    // Nothing is owned; set() wakes everyone, so no wake-up can be lost with a thread.
  }
}

registerKind('Event', (d) => rebuild(() => new Event(), new Int32Array(d.buffers[0] as SharedArrayBuffer)));
