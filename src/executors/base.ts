/**
 * What every executor shares (ThreadPoolExecutor, ProcessPoolExecutor, DistributedExecutor, and
 * anything built on "any Executor": graphs, Pool, the GPU CPU path), as CPython's
 * `concurrent.futures._base.Executor` is shared by its backends:
 *
 *   - the lifecycle: open → shut down (or broken), and the error a closed executor throws;
 *   - `submit` / `submitWith` → one `submitTask`, with the options checked once, here;
 *   - `map(fn, ...iterables, options?)`: lazy and chunked (pool/map.ts), several iterables zipped
 *     as Python's `map(fn, *iterables)`;
 *   - stats counters and the typed `progress` event, which counts items (a chunk of 100 counts 100).
 *
 * A backend implements `submitTask` (run one call, or one chunk of calls), `checkTask`, `stats`
 * and `shutdown`.
 */
import { EventEmitter } from 'node:events';
import type {
  Executor,
  ExecutorEvents,
  ExecutorStats,
  Future,
  IterablesFor,
  MapIterator,
  MapOptions,
  Outcome,
  ShutdownOptions,
  SubmitOptions,
  TaskFunction,
  TaskResult,
} from '../futures/base.js';
import { type BrokenExecutorError, ExecutorShutdownError } from '../futures/errors.js';
import { checkOptions, type OptionKeys, optionKeys, shownValue } from '../futures/options.js';
import { mapChunks } from '../pool/map.js';
import type { ChunkCall, ChunkOutcome } from '../pool/protocol.js';

export type { Outcome } from '../futures/base.js';
export type { ChunkCall } from '../pool/protocol.js';

/** The options `submitWith` takes on every executor (one that takes more widens `submitOptionKeys`). */
export const SUBMIT_OPTION_KEYS = optionKeys<SubmitOptions>({
  timeout: true,
  signal: true,
  transfer: true,
  retries: true,
});
/** The options `map` takes, its last argument. */
export const MAP_OPTION_KEYS = optionKeys<MapOptions>({
  chunksize: true,
  ordered: true,
  timeout: true,
  buffersize: true,
});
/** The options `shutdown` takes. */
export const SHUTDOWN_OPTION_KEYS = optionKeys<ShutdownOptions>({ wait: true, cancelFutures: true, timeout: true });

/** A number of milliseconds, checked: a clear RangeError otherwise. */
export function checkMs(name: string, value: number | undefined): void {
  if (value !== undefined && !(typeof value === 'number' && value >= 0)) {
    throw new RangeError(`${name} must be a number of milliseconds >= 0, got ${shownValue(value)}`);
  }
}

// Kept exported from here: executors and their callers import it with checkCount and checkMs.
export { shownValue };

/** A count, checked (Infinity allowed where it means "no limit"). */
export function checkCount(name: string, value: number | undefined, min: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min) && value !== Number.POSITIVE_INFINITY) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${shownValue(value)}`);
  }
}

const isIterable = (value: unknown): boolean =>
  value !== null &&
  typeof value === 'object' &&
  (Symbol.iterator in (value as object) || Symbol.asyncIterator in (value as object));

/** `map`'s arguments: the iterables, then options if the last one is a plain object that is not iterable. */
function splitMapArguments(rest: unknown[]): { iterables: unknown[]; options: MapOptions | undefined } {
  while (rest.length > 1 && rest[rest.length - 1] === undefined) rest = rest.slice(0, -1); // map(fn, xs, undefined)
  const last = rest[rest.length - 1];
  const hasOptions = rest.length >= 2 && last !== null && typeof last === 'object' && !isIterable(last);
  const iterables = hasOptions ? rest.slice(0, -1) : rest;
  if (iterables.length === 0) throw new TypeError('map(fn, iterable, ...) needs at least one iterable');
  iterables.forEach((it, i) => {
    if (!isIterable(it) && typeof it !== 'string') {
      throw new TypeError(
        `map: argument ${i + 2} is not iterable (${it === null ? 'null' : typeof it}); ` +
          'pass one iterable per parameter of the function, then the options object last',
      );
    }
  });
  if (hasOptions) checkOptions('map(fn, ...iterables, options)', last, MAP_OPTION_KEYS);
  return { iterables, options: hasOptions ? (last as MapOptions) : undefined };
}

/** Zips iterables into argument tuples, stopping at the shortest (arrays stay arrays: their length is known). */
function zipIterables(iterables: unknown[]): Iterable<unknown[]> | AsyncIterable<unknown[]> {
  if (iterables.every(Array.isArray)) {
    const arrays = iterables as unknown[][];
    const length = Math.min(...arrays.map((a) => a.length));
    return Array.from({ length }, (_, i) => arrays.map((a) => a[i]));
  }
  return (async function* zip() {
    const iterators = iterables.map((it) =>
      Symbol.asyncIterator in (it as object)
        ? (it as AsyncIterable<unknown>)[Symbol.asyncIterator]()
        : (it as Iterable<unknown>)[Symbol.iterator](),
    );
    try {
      for (;;) {
        const steps = await Promise.all(iterators.map((it) => it.next()));
        if (steps.some((step) => step.done)) return;
        yield steps.map((step) => step.value);
      }
    } finally {
      await Promise.all(iterators.map((it) => it.return?.()));
    }
  })();
}

function itemCount(items: unknown): number {
  return (items as { length?: number }).length ?? 1;
}

export abstract class BaseExecutor<O extends SubmitOptions = SubmitOptions>
  extends EventEmitter<ExecutorEvents>
  implements Executor
{
  /** `'open'` until `shutdown()` (or a fatal worker failure, `'broken'`); submit checks it. */
  protected state: 'open' | 'shutdown' | 'broken' = 'open';
  /** The error every submit throws once the executor is broken (set with `state = 'broken'`). */
  protected brokenError: BrokenExecutorError | undefined;
  /** Tasks (map items) that returned a value; counted by `recordSettled`, read by `stats`. */
  protected completed = 0;
  /** Tasks (map items) that threw, timed out or lost their worker; counted by `recordSettled`. */
  protected failed = 0;
  /** Tasks (map items) cancelled before they ran or stopped by their signal; counted by `recordSettled`. */
  protected cancelled = 0;

  /** The option names `submitWith` accepts (an unknown one is a TypeError, as in Python). */
  protected readonly submitOptionKeys: OptionKeys = SUBMIT_OPTION_KEYS;

  /** How many workers a `map` spreads its chunks over (it keeps 4 chunks in flight per worker by default). */
  protected abstract readonly mapParallelism: number;

  /**
   * Runs `fn(...args)`, or for a chunk (`chunk` set) `fn` once per element of `args`. The options
   * were checked. Throws at once (TypeError) when the arguments cannot travel.
   */
  protected abstract submitTask(
    fn: TaskFunction,
    args: unknown[] | Float64Array,
    options: O | undefined,
    chunk: ChunkCall | undefined,
  ): Future<unknown>;

  /** Throws if `fn` can never be sent to this executor's workers (map checks before its first chunk). */
  protected abstract checkTask(fn: TaskFunction): void;

  abstract get stats(): ExecutorStats;
  abstract shutdown(options?: ShutdownOptions): Promise<void>;

  /**
   * Schedule `fn(...args)` on a worker and return its future at once. Throws
   * `ExecutorShutdownError` after `shutdown`, `BrokenExecutorError` once the executor is broken,
   * and `TypeError` when `fn` or its arguments cannot be sent to a worker.
   */
  submit<F extends TaskFunction>(fn: F, ...args: Parameters<F>): Future<TaskResult<F>> {
    return this.submitTask(fn, args, undefined, undefined) as Future<TaskResult<F>>;
  }

  /**
   * `submit` with per-task options first: `timeout` (ms from start), `signal`, `transfer`,
   * `retries`. Throws `TypeError` for options that are not an object or hold a negative number.
   */
  submitWith<F extends TaskFunction>(options: O, fn: F, ...args: Parameters<F>): Future<TaskResult<F>> {
    if (options === undefined)
      throw new TypeError('submitWith(options, fn, ...args): options must be an object, got undefined');
    checkOptions('submitWith(options, fn, ...args)', options, this.submitOptionKeys);
    checkMs('timeout', options.timeout);
    checkCount('retries', options.retries, 0);
    return this.submitTask(fn, args, options, undefined) as Future<TaskResult<F>>;
  }

  map<F extends TaskFunction>(
    fn: F,
    items: Iterable<Parameters<F>[0]> | AsyncIterable<Parameters<F>[0]>,
    options?: MapOptions,
  ): MapIterator<TaskResult<F>>;
  map<F extends TaskFunction>(
    fn: F,
    ...iterables: IterablesFor<Parameters<F>> | [...IterablesFor<Required<Parameters<F>>>, MapOptions]
  ): MapIterator<TaskResult<F>>;
  map<F extends TaskFunction>(fn: F, ...rest: unknown[]): MapIterator<TaskResult<F>> {
    this.checkOpen();
    this.checkTask(fn); // fail now, not at the first chunk, if fn cannot be sent
    const { iterables, options } = splitMapArguments(rest);
    const spread = iterables.length > 1;
    const items = (spread ? zipIterables(iterables) : iterables[0]) as Iterable<unknown> | AsyncIterable<unknown>;
    return mapChunks<TaskResult<F>>(
      {
        maxWorkers: this.mapParallelism,
        submitChunk: (chunk) =>
          this.submitTask(fn, chunk, undefined, spread ? 'spread' : 'item') as Future<ChunkOutcome>,
      },
      items,
      options,
    );
  }

  /** Throws the reason a task cannot be accepted now: broken (`BrokenExecutorError`) or shut down. */
  protected checkOpen(): void {
    if (this.state === 'broken') throw this.brokenError;
    if (this.state === 'shutdown') throw new ExecutorShutdownError('cannot submit a task after shutdown()');
  }

  /**
   * Counts a settled task, items for a chunk (a chunk whose item failed counts the items before it
   * as completed and that one as failed), and tells `progress` listeners.
   */
  protected recordSettled(outcome: Outcome, chunkItems: unknown | undefined, value: unknown): void {
    if (chunkItems === undefined) this[outcome]++;
    else if (outcome === 'completed') {
      const result = value as ChunkOutcome;
      this.completed += itemCount(result.values);
      if (result.error) this.failed++;
    } else this[outcome] += itemCount(chunkItems);
    if (this.listenerCount('progress') > 0) this.emit('progress', this.stats);
  }

  /** `await using executor = ...`: `shutdown()` with its defaults when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
