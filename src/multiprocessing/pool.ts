/**
 * `multiprocessing.Pool`, under Python's names, on skein's pool executor (processes by default,
 * threads with `backend: 'thread'`). The Pool adds no machinery of its own: every call is one
 * `submit` or one chunked `map` of the executor, so a dead worker, a result that cannot travel
 * and backpressure behave exactly as they do for `ProcessPoolExecutor`.
 *
 *   Pool.map / starmap        ─► executor map (chunked) ─► toArray()     → Promise<R[]>
 *   Pool.mapAsync / starmapAsync ─► the same, settling an AsyncResult      → AsyncResult<R[]>
 *   Pool.imap / imapUnordered ─► executor map, chunksize 1, bounded read-ahead → AsyncIterable<R>
 *   Pool.apply / applyAsync   ─► executor submit                          → Promise<R> / AsyncResult<R>
 *
 * Lifecycle, as Python's: RUN ─close()─► CLOSE (queued work still runs) ─join()─► workers gone;
 * RUN/CLOSE ─terminate()─► TERMINATE (queued work cancelled, running work stopped, workers killed).
 * `join()` before `close()`/`terminate()` is an error, as in Python.
 */
import { availableParallelism } from 'node:os';
import { checkCount } from '../executors/base.js';
import { PoolExecutor, type PoolExecutorOptions } from '../executors/pool.js';
import { processBackend } from '../executors/process.js';
import { threadBackend } from '../executors/thread.js';
import type { Future, MapIterator, MapOptions, TaskFunction, TaskResult } from '../futures/base.js';
import { ExecutorShutdownError } from '../futures/errors.js';
import { checkOptions, optionKeys, shownValue } from '../futures/options.js';
import { mapChunks } from '../pool/map.js';
import type { ChunkOutcome } from '../pool/protocol.js';
import { type AsyncCallbacks, AsyncResult } from './async-result.js';

/** Options of `new Pool(...)` (Python's `multiprocessing.Pool` arguments). */
export interface PoolOptions {
  /** Workers in the pool. Default: `cpuCount()`. */
  processes?: number;
  /** Runs once in every worker before its first task (Python's `initializer`). */
  initializer?: TaskFunction;
  /** Arguments of `initializer` (Python's `initargs`). */
  initArgs?: readonly unknown[];
  /** Replace a worker after it has run this many tasks (a chunk of a map counts as one). Default: never. */
  maxTasksPerChild?: number;
  /** `'process'` (default): child processes, as Python. `'thread'`: worker threads. */
  backend?: 'process' | 'thread';
}

/** The option names of `new Pool(options)` (an unknown one is a TypeError, as in Python). */
export const POOL_OPTION_KEYS = optionKeys<PoolOptions>({
  processes: true,
  initializer: true,
  initArgs: true,
  maxTasksPerChild: true,
  backend: true,
});

/** An input of a map: any sync or async iterable. */
type Input<T> = Iterable<T> | AsyncIterable<T>;

/** `args` of apply / applyAsync: may be left out when the function takes no parameters. */
type ApplyArgs<F extends TaskFunction> = Parameters<F> extends [] ? [args?: []] : [args: Parameters<F>];

/**
 * The pool executor with the one call a Pool needs beyond `map`: a chunked map whose items are
 * argument tuples (`starmap`), on the same chunk machinery as `map(fn, ...iterables)`.
 */
class PoolWorkers extends PoolExecutor {
  starmap<R>(fn: TaskFunction, argTuples: Input<readonly unknown[]>, options: MapOptions): MapIterator<R> {
    this.checkOpen();
    this.checkTask(fn);
    return mapChunks<R>(
      {
        maxWorkers: this.mapParallelism,
        submitChunk: (chunk) => this.submitTask(fn, chunk as unknown[], undefined, 'spread') as Future<ChunkOutcome>,
      },
      argTuples as Input<unknown>,
      options,
    );
  }
}

function checkChunksize(chunksize: number | undefined): void {
  checkCount('chunksize', chunksize, 1);
}

function checkTuples(argTuples: unknown): void {
  if (Array.isArray(argTuples)) {
    const bad = argTuples.findIndex((tuple) => !Array.isArray(tuple));
    if (bad >= 0) {
      throw new TypeError(
        `starmap: item ${bad} is not an array of arguments (got ${typeof argTuples[bad]}); ` +
          'starmap(fn, [[a, b], [c, d]]) calls fn(a, b) and fn(c, d). For one argument per call use map.',
      );
    }
  }
}

/**
 * A pool of worker processes (or threads), Python's `multiprocessing.Pool`.
 *
 * ```ts
 * await using pool = new Pool(4);                       // close() + join() when the block ends
 * console.log(await pool.map(square, [1, 2, 3, 4, 5])); // [1, 4, 9, 16, 25]
 * ```
 *
 * **A deliberate difference from Python:** Python's `with Pool() as p:` *terminates* the pool at
 * the end of the block, killing work still running (bpo-29954). In JavaScript, work started in
 * the block is often still awaited after it, so `await using` here does `close()` then `join()`:
 * queued and running work finishes, then the workers exit. Call `terminate()` to kill them.
 *
 * A worker that dies (a crash, `process.exit`, a signal) fails only the tasks it was running, with
 * `WorkerExitedError`, and is replaced: the pool never hangs (CPython gh-66587).
 */
export class Pool {
  /** How many workers the pool runs at most. */
  readonly processes: number;
  /** Where the workers run. */
  readonly backend: 'process' | 'thread';
  readonly #workers: PoolWorkers;
  #state: 'RUN' | 'CLOSE' | 'TERMINATE' = 'RUN';
  #stopped: Promise<void> | undefined;

  /** `new Pool()`, `new Pool(4)` or `new Pool({ processes: 4, ... })`. */
  constructor(options: number | PoolOptions = {}) {
    const opts: PoolOptions = typeof options === 'number' ? { processes: options } : (options ?? {});
    if (typeof opts !== 'object') {
      throw new TypeError(`Pool(options): expected a number of processes or an options object, got ${typeof options}`);
    }
    checkOptions('new Pool(options)', opts, POOL_OPTION_KEYS);
    checkCount('processes', opts.processes, 1);
    checkCount('maxTasksPerChild', opts.maxTasksPerChild, 1);
    const backend = opts.backend ?? 'process';
    if (backend !== 'process' && backend !== 'thread') {
      throw new TypeError(`Pool: backend must be 'process' or 'thread', got ${shownValue(backend)}`);
    }
    this.backend = backend;
    this.processes = opts.processes ?? availableParallelism();
    const executorOptions: PoolExecutorOptions = {
      maxWorkers: this.processes,
      // Python's pool keeps its workers until close(); idle ones here do not keep the program alive.
      idleTimeout: Number.POSITIVE_INFINITY,
      name: backend === 'process' ? 'PoolWorker' : 'PoolThread',
      ...(opts.initializer ? { initializer: opts.initializer, initArgs: opts.initArgs ?? [] } : {}),
      ...(opts.maxTasksPerChild ? { maxTasksPerWorker: opts.maxTasksPerChild } : {}),
    };
    this.#workers = new PoolWorkers(backend === 'process' ? processBackend : threadBackend, executorOptions);
  }

  /**
   * `fn` on every item, in parallel; resolves with the results in input order, or rejects with
   * the first error in input order. The input is read whole (as Python's `map`); `chunksize`
   * items travel per message (default: sized from the measured time per item).
   */
  map<F extends TaskFunction>(fn: F, iterable: Input<Parameters<F>[0]>, chunksize?: number): Promise<TaskResult<F>[]> {
    return this.#map<TaskResult<F>>('map', fn, iterable, chunksize, true).toArray();
  }

  /** `map` without waiting: an AsyncResult of the list of results. */
  mapAsync<F extends TaskFunction>(
    fn: F,
    iterable: Input<Parameters<F>[0]>,
    chunksize?: number,
    callbacks?: AsyncCallbacks<TaskResult<F>[]>,
  ): AsyncResult<TaskResult<F>[]> {
    return this.#settleWith(callbacks, () => this.map(fn, iterable, chunksize));
  }

  /**
   * Results one by one in input order, as they are ready. Lazy: the input is read only as results
   * are consumed (a bounded number of chunks ahead), so it may be endless; leaving the loop early
   * (`break`) cancels what has not started. `chunksize` defaults to 1, as in Python.
   */
  imap<F extends TaskFunction>(fn: F, iterable: Input<Parameters<F>[0]>, chunksize = 1): MapIterator<TaskResult<F>> {
    return this.#map<TaskResult<F>>('imap', fn, iterable, chunksize, true);
  }

  /** `imap`, yielding each result as soon as it is ready, in any order. */
  imapUnordered<F extends TaskFunction>(
    fn: F,
    iterable: Input<Parameters<F>[0]>,
    chunksize = 1,
  ): MapIterator<TaskResult<F>> {
    return this.#map<TaskResult<F>>('imapUnordered', fn, iterable, chunksize, false);
  }

  /** `fn(...args)` for every tuple of `argTuples`: `starmap(add, [[1, 2], [3, 4]])` → `[3, 7]`. */
  starmap<F extends TaskFunction>(
    fn: F,
    argTuples: Input<Parameters<F>>,
    chunksize?: number,
  ): Promise<TaskResult<F>[]> {
    this.#checkRunning('starmap');
    checkChunksize(chunksize);
    checkTuples(argTuples);
    return this.#workers.starmap<TaskResult<F>>(fn, argTuples, { chunksize: chunksize ?? 'auto' }).toArray();
  }

  /** `starmap` without waiting: an AsyncResult of the list of results. */
  starmapAsync<F extends TaskFunction>(
    fn: F,
    argTuples: Input<Parameters<F>>,
    chunksize?: number,
    callbacks?: AsyncCallbacks<TaskResult<F>[]>,
  ): AsyncResult<TaskResult<F>[]> {
    return this.#settleWith(callbacks, () => this.starmap(fn, argTuples, chunksize));
  }

  /** `fn(...args)` in a worker; resolves with its result (Python's `apply`, which blocks). */
  apply<F extends TaskFunction>(fn: F, ...[args]: ApplyArgs<F>): Promise<TaskResult<F>> {
    this.#checkRunning('apply');
    return Promise.resolve(this.#submit(fn, args as Parameters<F> | undefined));
  }

  /**
   * `fn(...args)` in a worker, without waiting: an AsyncResult (a Future with Python's `get`,
   * `wait`, `ready`, `successful`). `callback(result)` or `errorCallback(error)` runs when it ends.
   */
  applyAsync<F extends TaskFunction>(
    fn: F,
    args?: Parameters<F>,
    callbacks?: AsyncCallbacks<TaskResult<F>>,
  ): AsyncResult<TaskResult<F>> {
    this.#checkRunning('applyAsync');
    const future = this.#submit(fn, args);
    const result = new AsyncResult<TaskResult<F>>(callbacks);
    future.addDoneCallback(() => {
      // A finished future's promise settles at once; this only reads its value or error.
      future.then(
        (value) => result.setResult(value),
        (error: unknown) => result.setException(error),
      );
    });
    return result;
  }

  /**
   * Accepts no more work; what was submitted still runs, then the workers exit. Call `join()`
   * to wait for that.
   */
  close(): void {
    if (this.#state !== 'RUN') return;
    this.#state = 'CLOSE';
    this.#stopped = this.#workers.shutdown();
  }

  /**
   * Stops at once: queued work is cancelled (CancelledError), running work is stopped and its
   * results reject (TimeoutError), the workers are killed. Resolves when they are gone. (Python's
   * outstanding results would never be ready; here every one settles.)
   */
  terminate(): Promise<void> {
    if (this.#state === 'TERMINATE') return this.#stopped as Promise<void>;
    this.#state = 'TERMINATE';
    // shutdown({ timeout: 0 }) ends the work still running, and resolves once the workers are gone.
    this.#stopped = this.#workers.shutdown({ cancelFutures: true, timeout: 0 });
    return this.#stopped;
  }

  /**
   * Resolves when every worker has exited. Only after `close()` or `terminate()`: otherwise it
   * rejects, as Python's `join()` raises ValueError on a running pool.
   */
  join(): Promise<void> {
    if (this.#state === 'RUN' || !this.#stopped) {
      return Promise.reject(
        new Error('Pool.join(): the pool is still running; call close() (or terminate()) before join()'),
      );
    }
    return this.#stopped;
  }

  /** `await using pool = new Pool()`: close() then join() (not terminate(): see the class notes). */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return this.join();
  }

  #checkRunning(method: string): void {
    if (this.#state !== 'RUN') {
      throw new ExecutorShutdownError(
        `Pool.${method}(): the pool is not running (${this.#state === 'CLOSE' ? 'close()' : 'terminate()'} was called); make a new Pool`,
      );
    }
  }

  #map<R>(
    method: string,
    fn: TaskFunction,
    iterable: Input<unknown>,
    chunksize: number | undefined,
    ordered: boolean,
  ): MapIterator<R> {
    this.#checkRunning(method);
    checkChunksize(chunksize);
    return this.#workers.map(fn, iterable, { chunksize: chunksize ?? 'auto', ordered }) as MapIterator<R>;
  }

  #submit<F extends TaskFunction>(fn: F, args: Parameters<F> | undefined): Future<TaskResult<F>> {
    if (args !== undefined && !Array.isArray(args)) {
      throw new TypeError(
        `the arguments must be an array (Python's args tuple), got ${typeof args}: apply(fn, [a, b]) calls fn(a, b)`,
      );
    }
    return this.#workers.submit(fn, ...((args ?? []) as Parameters<F>));
  }

  #settleWith<R>(callbacks: AsyncCallbacks<R> | undefined, start: () => Promise<R>): AsyncResult<R> {
    const result = new AsyncResult<R>(callbacks);
    start().then(
      (value) => result.setResult(value),
      (error: unknown) => result.setException(error),
    );
    return result;
  }
}
