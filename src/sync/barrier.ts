/**
 * `Barrier`: `parties` threads (or async tasks) wait until all have arrived, then all go on.
 * Python's algorithm (Lib/threading.py), over a shared Condition: words STATE (filling,
 * draining, resetting, broken), COUNT (parties inside wait) and PARTIES.
 *
 * A party that times out or is aborted breaks the barrier for everyone (Python's rule for a
 * timeout): the others would otherwise wait for a party that will never come.
 */

import { Condition } from './condition.js';
import { BrokenBarrierError } from './errors.js';
import { Lock } from './lock.js';
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
  THREAD_EXITED,
} from './shared-memory.js';
import type { WaitOptions } from './waiters.js';

const STATE = 2;
const COUNT = 3;
const PARTIES = 4;
const WORDS = 5;

const FILLING = 0;
const DRAINING = 1;
const RESETTING = -1;
const BROKEN = -2;

export interface BarrierOptions {
  /** Called by the last party to arrive, before any is released; if it throws, the barrier breaks. */
  action?: () => void;
  /** Default `timeout` (ms) of every `wait`. */
  timeout?: number;
}

function broken(): BrokenBarrierError {
  return new BrokenBarrierError(
    'the barrier is broken (a party timed out or was aborted, or abort()/reset() was called)',
  );
}

/** `threading.Barrier` / `asyncio.Barrier` in one, shared by every thread it is passed to. */
export class Barrier extends SharedPrimitive {
  /** @internal */
  readonly memory: Int32Array;
  readonly #condition: Condition;
  readonly #action: (() => void) | undefined;
  readonly #timeout: number | undefined;

  constructor(parties: number, options: BarrierOptions = {}) {
    super();
    this.#action = options.action;
    this.#timeout = options.timeout;
    const attached = rebuildingFrom<{ memory: Int32Array; condition: Condition }>();
    if (attached) {
      this.memory = attached.memory;
      this.#condition = attached.condition;
      return;
    }
    if (!Number.isInteger(parties) || parties < 1 || parties > 2 ** 31 - 1) {
      throw new RangeError(`Barrier parties must be an integer >= 1, got ${String(parties)}`);
    }
    if (options.action !== undefined && typeof options.action !== 'function') {
      throw new TypeError('Barrier action must be a function');
    }
    deadlineOf(options.timeout); // validates it
    this.memory = allocateWords(WORDS);
    this.memory[PARTIES] = parties;
    this.#condition = new Condition(new Lock());
  }

  get parties(): number {
    return this.memory[PARTIES] as number;
  }

  /** Parties waiting right now. */
  get nWaiting(): number {
    return Atomics.load(this.memory, STATE) === FILLING ? Atomics.load(this.memory, COUNT) : 0;
  }

  get broken(): boolean {
    return Atomics.load(this.memory, STATE) === BROKEN;
  }

  /**
   * Waits for all parties; resolves with this party's arrival index (0 … parties-1). Rejects
   * with BrokenBarrierError if the barrier is or becomes broken, or if `timeout` passes (which
   * breaks it for everyone); with the signal's reason if `signal` aborts (which breaks it too).
   */
  async wait(options?: WaitOptions): Promise<number> {
    const timeout = options?.timeout ?? this.#timeout;
    const condition = this.#condition;
    await condition.acquire();
    try {
      await condition.waitFor(() => !this.#draining());
      const index = this.#arrive();
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
            this.#break();
            throw error;
          }
          this.#afterWait(passed);
        }
        return index;
      } finally {
        this.#leave();
      }
    } finally {
      condition.release();
    }
  }

  /** `wait` for worker code: blocks this thread. */
  waitSync(options?: { timeout?: number }): number {
    const timeout = options?.timeout ?? this.#timeout;
    const condition = this.#condition;
    condition.acquireSync();
    try {
      condition.waitForSync(() => !this.#draining());
      const index = this.#arrive();
      try {
        if (index + 1 === this.parties) this.#releaseAll();
        else {
          const passed = condition.waitForSync(() => Atomics.load(this.memory, STATE) !== FILLING, { timeout });
          this.#afterWait(passed);
        }
        return index;
      } finally {
        this.#leave();
      }
    } finally {
      condition.release();
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

  #arrive(): number {
    if (Atomics.load(this.memory, STATE) === BROKEN) throw broken();
    return Atomics.add(this.memory, COUNT, 1);
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
  #leave(): void {
    if (Atomics.sub(this.memory, COUNT, 1) - 1 === 0 && this.#draining()) {
      Atomics.store(this.memory, STATE, FILLING);
      this.#condition.notifyAll();
    }
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
  }
}

registerKind('Barrier', (d) => {
  const condition = revive((d.parts as SharedDescriptor[])[0] as SharedDescriptor) as Condition;
  const memory = new Int32Array(d.buffers[0] as SharedArrayBuffer);
  return rebuild(() => new Barrier(1, { timeout: d.options as number | undefined }), { memory, condition });
});
