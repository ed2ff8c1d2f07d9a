/**
 * asyncio's structured concurrency for one event loop: `sleep`, `timeout`, `gather`, `TaskGroup`
 * and `mapConcurrent`. Work is a thunk that receives an AbortSignal, so stopping it is always
 * possible and always cooperative (JavaScript cannot interrupt a running promise).
 *
 * Signals are chained by hand (`linkSignal`), never with `AbortSignal.any`, which leaks listeners
 * on Node 20 (nodejs/node#48419, #54614): every listener added here is removed when its work ends.
 */
import { TimeoutError } from '../futures/errors.js';
import { checkOptions, notAFunction, optionKeys, shownValue } from '../futures/options.js';

/** Work that can be told to stop: it receives a signal that aborts when its result is no longer wanted. */
export type AbortableTask<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/** The options of `sleep`, `timeout`, `TaskGroup` and `TaskGroup.run`: only a signal. */
interface SignalOption {
  signal?: AbortSignal;
}

/** The option names of `sleep`, `timeout` and `TaskGroup` (an unknown one is a TypeError, as in Python). */
export const SIGNAL_OPTION_KEYS = optionKeys<SignalOption>({ signal: true });

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * Aborts `controller` when `parent` aborts. Returns the unlink function, which must be called
 * when the work ends so the parent does not keep a listener (and the controller) alive.
 */
function linkSignal(parent: AbortSignal | undefined, controller: AbortController): () => void {
  if (!parent) return () => {};
  if (parent.aborted) {
    controller.abort(parent.reason);
    return () => {};
  }
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return () => parent.removeEventListener('abort', onAbort);
}

/** Resolves after `ms`; rejects with the signal's reason (and clears its timer) if aborted first. */
export function sleep(ms: number, options: { signal?: AbortSignal } = {}): Promise<void> {
  checkOptions('sleep(ms, options)', options, SIGNAL_OPTION_KEYS);
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `fn` with a signal that aborts after `ms`. Resolves with its result if it settles first;
 * otherwise aborts the signal and rejects with TimeoutError at the deadline (a function that
 * ignores its signal is not waited for: JavaScript cannot stop it).
 */
export function timeout<T>(ms: number, fn: AbortableTask<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
  checkOptions('timeout(ms, fn, options)', options, SIGNAL_OPTION_KEYS);
  if (typeof fn !== 'function') throw notAFunction('timeout(ms, fn)', fn);
  const controller = new AbortController();
  const unlink = linkSignal(options.signal, controller);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new TimeoutError(`timed out after ${ms} ms`);
      controller.abort(error);
      reject(error);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(controller.signal.reason);
    };
    controller.signal.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      controller.signal.removeEventListener('abort', onAbort);
      unlink();
    };
    Promise.resolve()
      .then(() => fn(controller.signal))
      .then(
        (value) => {
          done();
          resolve(value);
        },
        (error) => {
          done();
          reject(error);
        },
      );
  });
}

/** Options of `gather`. */
export interface GatherOptions {
  /** At most this many thunks run at once (promises given directly are already running). */
  concurrency?: number;
  /** Put errors in the results instead of rejecting at the first one (Python's return_exceptions). */
  returnExceptions?: boolean;
  /** Aborting rejects gather with the reason and aborts the thunks' signal. */
  signal?: AbortSignal;
}

/** The option names of `gather` (an unknown one is a TypeError, as in Python). */
export const GATHER_OPTION_KEYS = optionKeys<GatherOptions>({
  concurrency: true,
  returnExceptions: true,
  signal: true,
});

type Gatherable<T> = PromiseLike<T> | AbortableTask<T>;
type GatherResults<T extends readonly unknown[], E extends boolean> = {
  -readonly [K in keyof T]:
    | (T[K] extends Gatherable<infer R> ? Awaited<R> : never)
    | (E extends true ? unknown : never);
};

/**
 * `asyncio.gather`: results in input order. At the first failure (unless `returnExceptions`) it
 * rejects at once, aborts the signal its thunks received and starts no more of them; unlike
 * `TaskGroup` it does not wait for the running ones to finish.
 */
export function gather<const T extends readonly Gatherable<unknown>[], E extends boolean = false>(
  tasks: T,
  options: GatherOptions & { returnExceptions?: E } = {},
): Promise<GatherResults<T, E>> {
  checkOptions('gather(tasks, options)', options, GATHER_OPTION_KEYS);
  const concurrency = options.concurrency ?? Number.POSITIVE_INFINITY;
  if (!(concurrency >= 1)) throw new RangeError(`concurrency must be >= 1, got ${shownValue(options.concurrency)}`);
  const controller = new AbortController();
  const unlink = linkSignal(options.signal, controller);
  const results: unknown[] = new Array(tasks.length);
  return new Promise((resolve, reject) => {
    let next = 0;
    let running = 0;
    let settled = 0;
    let finished = false;
    const finish = (error?: { error: unknown }) => {
      if (finished) return;
      finished = true;
      unlink();
      controller.signal.removeEventListener('abort', onAbort);
      if (error) {
        controller.abort(error.error);
        reject(error.error);
      } else {
        resolve(results as GatherResults<T, E>);
      }
    };
    const onAbort = () => finish({ error: controller.signal.reason });
    controller.signal.addEventListener('abort', onAbort, { once: true });
    const startNext = (): void => {
      while (!finished && running < concurrency && next < tasks.length) {
        const index = next++;
        const task = tasks[index] as Gatherable<unknown>;
        running++;
        Promise.resolve()
          .then(() => (typeof task === 'function' ? task(controller.signal) : task))
          .then(
            (value) => {
              results[index] = value;
            },
            (error) => {
              if (options.returnExceptions) results[index] = error;
              else finish({ error });
            },
          )
          .then(() => {
            running--;
            settled++;
            if (settled === tasks.length) finish();
            else startNext();
          });
      }
    };
    if (tasks.length === 0) finish();
    else startNext();
  });
}

/**
 * `asyncio.TaskGroup`: children share a signal; the first failure aborts it (siblings are asked
 * to stop), and `wait()` rejects, once every child has settled, with an AggregateError of every
 * failure. No child outlives the group. `await using group = new TaskGroup()` waits at the end
 * of the block; `TaskGroup.run(async (group) => ...)` does too and also treats an error thrown
 * by the body itself as a failure of the group.
 */
export class TaskGroup {
  private readonly controller = new AbortController();
  private readonly unlink: () => void;
  private readonly children = new Set<Promise<unknown>>();
  private readonly errors: unknown[] = [];
  private state: 'open' | 'closing' | 'closed' = 'open';

  constructor(options: { signal?: AbortSignal } = {}) {
    checkOptions('new TaskGroup(options)', options, SIGNAL_OPTION_KEYS);
    this.unlink = linkSignal(options.signal, this.controller);
  }

  /** Aborts when a child fails, the parent signal aborts, or `cancel()` is called. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Runs `body` with a new group, then waits for every child; resolves with what `body` returned.
   * Rejects with an AggregateError of every failure, `body`'s own error included.
   */
  static async run<T>(
    body: (group: TaskGroup) => T | PromiseLike<T>,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    const group = new TaskGroup(options);
    let value: T | undefined;
    try {
      value = await body(group);
    } catch (error) {
      group.fail(error);
    }
    await group.wait();
    return value as T;
  }

  /** Starts a child. Its promise is returned; a failure is also reported by `wait()`. */
  spawn<T>(fn: AbortableTask<T>): Promise<T> {
    if (this.state === 'closed') throw new Error('this TaskGroup has finished: spawn children before wait() returns');
    if (typeof fn !== 'function') throw notAFunction('TaskGroup.spawn(fn)', fn);
    const child = Promise.resolve().then(() => fn(this.controller.signal));
    const tracked = child.then(
      () => undefined,
      (error) => this.fail(error),
    );
    this.children.add(tracked);
    void tracked.then(() => this.children.delete(tracked));
    // The caller may never await `child`; its failure is reported by wait(), not as unhandled.
    child.catch(() => {});
    return child;
  }

  /** Asks every child to stop (aborts the signal) without counting it as a failure. */
  cancel(reason?: unknown): void {
    this.controller.abort(reason);
  }

  /** Waits for every child (including ones spawned meanwhile); rejects with an AggregateError of all failures. */
  async wait(): Promise<void> {
    this.state = 'closing';
    while (this.children.size > 0) await Promise.all(this.children);
    this.state = 'closed';
    this.unlink();
    if (this.errors.length > 0) {
      throw new AggregateError(
        this.errors,
        `${this.errors.length} task${this.errors.length > 1 ? 's' : ''} of the group failed`,
      );
    }
  }

  /** `await using group = new TaskGroup()`: `wait()` at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.wait();
  }

  private fail(error: unknown): void {
    const signal = this.controller.signal;
    // A child that stopped because the group told it to rejects with the signal's own reason:
    // that is a cancellation (Python's CancelledError), not another failure. The first failure
    // itself is recorded before it becomes the reason.
    if (signal.aborted && error === signal.reason) return;
    this.errors.push(error);
    if (!signal.aborted) this.controller.abort(error);
  }
}

export interface MapConcurrentOptions {
  /** At most this many calls of `fn` at once. Required: unbounded would be Promise.all. */
  concurrency: number;
  /** Yield in input order (default) or as calls finish. */
  ordered?: boolean;
  /** Aborting stops the map: the calls' signal aborts and the iterator throws the reason. */
  signal?: AbortSignal;
}

/** The option names of `mapConcurrent` (an unknown one is a TypeError, as in Python). */
export const MAP_CONCURRENT_OPTION_KEYS = optionKeys<MapConcurrentOptions>({
  concurrency: true,
  ordered: true,
  signal: true,
});

/**
 * Lazy bounded map in one event loop: reads the input only as calls finish (backpressure),
 * yields results in input order (or as they finish). An error aborts the other calls' signal and
 * is thrown at its position; leaving the loop early aborts the calls still running.
 */
export async function* mapConcurrent<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  fn: (item: T, signal: AbortSignal) => R | PromiseLike<R>,
  options: MapConcurrentOptions,
): AsyncGenerator<Awaited<R>, void, undefined> {
  if (options === undefined)
    throw new TypeError('mapConcurrent(items, fn, options): options are required, e.g. { concurrency: 8 }');
  checkOptions('mapConcurrent(items, fn, options)', options, MAP_CONCURRENT_OPTION_KEYS);
  if (typeof fn !== 'function') throw notAFunction('mapConcurrent(items, fn)', fn);
  const { concurrency } = options;
  if (!(concurrency >= 1)) throw new RangeError(`concurrency must be >= 1, got ${shownValue(concurrency)}`);
  const ordered = options.ordered ?? true;
  const controller = new AbortController();
  const unlink = linkSignal(options.signal, controller);
  const iterator =
    Symbol.asyncIterator in items
      ? (items as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (items as Iterable<T>)[Symbol.iterator]();
  type Slot = { index: number; outcome?: { ok: true; value: Awaited<R> } | { ok: false; error: unknown } };
  const inflight: Slot[] = [];
  const finished: Slot[] = [];
  let wake: (() => void) | undefined;
  let exhausted = false;
  let index = 0;
  try {
    for (;;) {
      while (!exhausted && inflight.length < concurrency) {
        const step = await iterator.next();
        if (step.done) {
          exhausted = true;
          break;
        }
        const slot: Slot = { index: index++ };
        inflight.push(slot);
        const settle = (outcome: NonNullable<Slot['outcome']>) => {
          slot.outcome = outcome;
          finished.push(slot);
          wake?.();
        };
        Promise.resolve()
          .then(() => fn(step.value, controller.signal))
          .then(
            (value) => settle({ ok: true, value: value as Awaited<R> }),
            (error) => settle({ ok: false, error }),
          );
      }
      if (inflight.length === 0) return;
      if (controller.signal.aborted) throw controller.signal.reason;
      const ready = ordered ? (inflight[0]?.outcome ? inflight[0] : undefined) : finished[0];
      if (!ready) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      inflight.splice(inflight.indexOf(ready), 1);
      finished.splice(finished.indexOf(ready), 1);
      const outcome = ready.outcome as NonNullable<Slot['outcome']>;
      if (!outcome.ok) throw outcome.error;
      yield outcome.value;
    }
  } catch (error) {
    controller.abort(error);
    throw error;
  } finally {
    // Leaving early (break, error): the calls still running are asked to stop.
    if (inflight.length > 0 && !controller.signal.aborted) {
      controller.abort(new Error('mapConcurrent ended before these calls finished'));
    }
    unlink();
    await (iterator as { return?: () => unknown }).return?.();
  }
}
