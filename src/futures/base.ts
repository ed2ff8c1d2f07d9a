/**
 * The concurrent.futures vocabulary in one place, after CPython's `concurrent/futures/_base.py`:
 * the `Future` state machine, `wait`, `asCompleted`, and the `Executor` interface every backend
 * (threads, processes, Redis) implements.
 *
 *   PENDING ──setRunningOrNotifyCancel()──► RUNNING ──setResult/setException──► FINISHED
 *      │                                       │
 *      └──cancel()──► CANCELLED ◄──setCancelled() (an abort signal stopped a running task)
 *
 * A future settles exactly once: the first of setResult / setException / cancel wins and later
 * calls return false. That is what lets the pool race a worker's reply against a timeout or an
 * abort without double-settling anything.
 */
import type { TransferListItem } from 'node:worker_threads';
import { CancelledError, TimeoutError } from './errors.js';
import { Wakeup } from './wakeup.js';

/** Where a future is in its life: PENDING → RUNNING → FINISHED, or CANCELLED (Python's states). */
export type FutureState = 'PENDING' | 'RUNNING' | 'FINISHED' | 'CANCELLED';

/** What `future.addDoneCallback(cb)` calls once the future is done, with the future. */
export type DoneCallback<T> = (future: Future<T>) => void;

/**
 * The eventual result of a task. Awaitable (`await future`), and inspectable without awaiting.
 * Futures are created by executors; user code reads them.
 */
export class Future<T = unknown> implements PromiseLike<T> {
  private _state: FutureState = 'PENDING';
  private _value: T | undefined;
  private _error: unknown;
  private _failed = false;
  private _callbacks: DoneCallback<T>[] | undefined;
  // The promise behind `then` is made only when someone awaits: most futures in a big map are
  // never awaited one by one, and an unobserved rejection must not become an unhandledRejection.
  private _promise: Promise<T> | undefined;
  private _resolve: ((value: T) => void) | undefined;
  private _reject: ((error: unknown) => void) | undefined;
  private readonly _onCancel: (() => void) | undefined;

  /** @param onCancel called once when `cancel()` succeeds, so the executor can forget the task. */
  constructor(onCancel?: () => void) {
    this._onCancel = onCancel;
  }

  /** PENDING, RUNNING, FINISHED (with a value or an error) or CANCELLED. */
  get state(): FutureState {
    return this._state;
  }
  /** True once finished or cancelled. */
  get done(): boolean {
    return this._state === 'FINISHED' || this._state === 'CANCELLED';
  }
  /** True from the moment a worker has been handed the task until it settles. */
  get running(): boolean {
    return this._state === 'RUNNING';
  }
  /** True once cancelled (by `cancel()`, an abort signal, or `shutdown({ cancelFutures: true })`). */
  get cancelled(): boolean {
    return this._state === 'CANCELLED';
  }

  /**
   * Cancels the task if it has not been handed to a worker yet. Returns true if the future is
   * (now) cancelled, false if it is running or finished: as in Python, a running task is not
   * interrupted by `cancel()`; use an abort `signal` or a `timeout` for that.
   */
  cancel(): boolean {
    if (this._state === 'CANCELLED') return true;
    if (this._state !== 'PENDING') return false;
    this._settle('CANCELLED', undefined, new CancelledError('the future was cancelled'));
    this._onCancel?.();
    return true;
  }

  /** The value, waiting up to `timeoutMs` (forever when omitted); rejects with the task's error. */
  result(timeoutMs?: number): Promise<T> {
    if (timeoutMs === undefined || this.done) return Promise.resolve(this);
    return this._waitDone(timeoutMs).then(() => this);
  }

  /** The task's error, or undefined if it succeeded; rejects with CancelledError if cancelled. */
  async exception(timeoutMs?: number): Promise<unknown> {
    if (!this.done) await this._waitDone(timeoutMs);
    if (this._state === 'CANCELLED') throw this._error;
    return this._error;
  }

  /** Calls `cb(future)` when the future is done; at once if it already is. */
  addDoneCallback(cb: DoneCallback<T>): void {
    if (this.done) {
      invokeCallback(cb, this);
      return;
    }
    if (this._callbacks) this._callbacks.push(cb);
    else this._callbacks = [cb];
  }

  /** Removes a callback added by `addDoneCallback`; true if it was there. */
  removeDoneCallback(cb: DoneCallback<T>): boolean {
    const i = this._callbacks?.indexOf(cb) ?? -1;
    if (i < 0) return false;
    this._callbacks?.splice(i, 1);
    return true;
  }

  // biome-ignore lint/suspicious/noThenProperty: a Future is awaitable by design, like asyncio's.
  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this._asPromise().then(onFulfilled, onRejected);
  }

  /** As `Promise.prototype.catch`, on the task's result. */
  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this._asPromise().catch(onRejected);
  }

  /** As `Promise.prototype.finally`, on the task's result. */
  finally(onFinally?: (() => void) | null): Promise<T> {
    return this._asPromise().finally(onFinally);
  }

  // ---- for executors (CPython's "internal use only" methods; public so any backend can use them,
  // and marked @internal so that they are stripped from the published types and the API reference)

  /**
   * PENDING → RUNNING. Returns false if the future was cancelled meanwhile: skip the task.
   * @internal
   */
  setRunningOrNotifyCancel(): boolean {
    if (this._state === 'PENDING') {
      this._state = 'RUNNING';
      return true;
    }
    return false;
  }

  /**
   * Settles the future with its task's value; false if it was already done (a late answer).
   * @internal
   */
  setResult(value: T): boolean {
    if (this.done) return false;
    this._settle('FINISHED', value, undefined);
    return true;
  }

  /**
   * Settles the future with its task's error; false if it was already done (a late answer).
   * @internal
   */
  setException(error: unknown): boolean {
    if (this.done) return false;
    this._settle('FINISHED', undefined, error, true);
    return true;
  }

  /**
   * Cancels a pending or running future (an abort signal, or shutdown with cancelFutures).
   * @internal
   */
  setCancelled(error: CancelledError): boolean {
    if (this.done) return false;
    this._settle('CANCELLED', undefined, error);
    return true;
  }

  private _settle(state: FutureState, value: T | undefined, error: unknown, failed = state === 'CANCELLED'): void {
    this._state = state;
    this._value = value;
    this._error = error;
    this._failed = failed;
    if (this._promise) {
      if (failed) this._reject?.(error);
      else this._resolve?.(value as T);
      this._resolve = this._reject = undefined;
    }
    const callbacks = this._callbacks;
    if (callbacks) {
      this._callbacks = undefined;
      for (const cb of callbacks) invokeCallback(cb, this);
    }
  }

  private _asPromise(): Promise<T> {
    if (this._promise) return this._promise;
    if (this._state === 'FINISHED' && !this._failed) {
      this._promise = Promise.resolve(this._value as T);
    } else if (this.done) {
      this._promise = Promise.reject(this._error);
    } else {
      this._promise = new Promise<T>((resolve, reject) => {
        this._resolve = resolve;
        this._reject = reject;
      });
    }
    return this._promise;
  }

  private _waitDone(timeoutMs: number | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onDone = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.removeDoneCallback(onDone);
              reject(new TimeoutError(`the future did not finish within ${timeoutMs} ms`));
            }, timeoutMs);
      this.addDoneCallback(onDone);
    });
  }
}

function invokeCallback<T>(cb: DoneCallback<T>, future: Future<T>): void {
  try {
    cb(future);
  } catch (error) {
    // As in CPython ("exception calling callback for <Future>"), a failing callback is
    // reported and does not stop the others, nor crash the program from inside the pool.
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.emitWarning(`exception calling a done callback of a Future: ${detail}`, 'FutureCallbackWarning');
  }
}

// ---------------------------------------------------------------------------------------------
// wait / asCompleted

/** When `wait` returns: at the first future done, at the first failure (or all done), or when all are done. */
export type ReturnWhen = 'FIRST_COMPLETED' | 'FIRST_EXCEPTION' | 'ALL_COMPLETED';
/** `wait` returns as soon as any future is done. */
export const FIRST_COMPLETED: ReturnWhen = 'FIRST_COMPLETED';
/** `wait` returns as soon as any future fails, or when all are done. */
export const FIRST_EXCEPTION: ReturnWhen = 'FIRST_EXCEPTION';
/** `wait` returns when every future is done (the default). */
export const ALL_COMPLETED: ReturnWhen = 'ALL_COMPLETED';

/** What `wait` resolves: the futures done by the time it returned, and the others. */
export interface WaitResult<T> {
  /** Finished or cancelled when `wait` returned. */
  done: Set<Future<T>>;
  /** Still pending or running when `wait` returned (on timeout, or before all were done). */
  notDone: Set<Future<T>>;
}

function failed<T>(f: Future<T>): boolean {
  // biome-ignore lint/complexity/useLiteralKeys: bracket access reaches the private flag within this module.
  return f.state === 'FINISHED' && f['_failed'];
}

/**
 * Waits for the futures as `concurrent.futures.wait` does and resolves `{ done, notDone }`.
 * On `timeout` it resolves with what is done by then; it never rejects.
 */
export function wait<T>(
  futures: Iterable<Future<T>>,
  options: { timeout?: number; returnWhen?: ReturnWhen } = {},
): Promise<WaitResult<T>> {
  const returnWhen = options.returnWhen ?? 'ALL_COMPLETED';
  const all = new Set(futures);
  const done = new Set<Future<T>>();
  for (const f of all) if (f.done) done.add(f);
  const satisfied = (): boolean =>
    done.size === all.size ||
    (returnWhen === 'FIRST_COMPLETED' && done.size > 0) ||
    (returnWhen === 'FIRST_EXCEPTION' && [...done].some(failed));
  const result = (): WaitResult<T> => ({ done: new Set(done), notDone: new Set([...all].filter((f) => !done.has(f))) });
  if (satisfied()) return Promise.resolve(result());

  return new Promise((resolve) => {
    const pending = [...all].filter((f) => !f.done);
    const finish = () => {
      if (timer) clearTimeout(timer);
      for (const f of pending) f.removeDoneCallback(onDone);
      resolve(result());
    };
    const onDone = (f: Future<T>) => {
      done.add(f);
      if (satisfied()) finish();
    };
    const timer = options.timeout === undefined ? undefined : setTimeout(finish, options.timeout);
    for (const f of pending) f.addDoneCallback(onDone);
  });
}

/**
 * Yields each future as it finishes (those already done first). With `timeout` (ms, counted
 * from the call), throws TimeoutError if some are still unfinished then. Duplicates are yielded once.
 *
 * Promises are accepted too (asyncio's as_completed takes any awaitable): each is yielded as a
 * Future that settles with it.
 *
 * Written as a plain async iterator, not an async generator: a generator's `yield` awaits a
 * thenable, and would hand out each future's result instead of the future.
 */
export function asCompleted<T>(
  futures: Iterable<Future<T> | PromiseLike<T>>,
  options: { timeout?: number } = {},
): AsyncIterableIterator<Future<T>> {
  const deadline = options.timeout === undefined ? undefined : performance.now() + options.timeout;
  const all = new Set<Future<T>>();
  for (const item of futures) all.add(item instanceof Future ? item : futureOf(item));
  const finished: Future<T>[] = [];
  let yielded = 0;
  let closed = false;
  const wakeup = new Wakeup();
  const onDone = (f: Future<T>) => {
    finished.push(f);
    wakeup.wake();
  };
  for (const f of all) f.addDoneCallback(onDone); // fires at once for those already done
  const close = () => {
    closed = true;
    for (const f of all) f.removeDoneCallback(onDone);
  };

  const next = async (): Promise<IteratorResult<Future<T>, undefined>> => {
    while (!closed && yielded < all.size) {
      const future = finished.shift();
      if (future) {
        yielded++;
        return { value: future, done: false };
      }
      if (!(await wakeup.sleepUntil(deadline)) && finished.length === 0) {
        close();
        throw new TimeoutError(`${all.size - yielded} (of ${all.size}) futures unfinished`);
      }
    }
    close();
    return { value: undefined, done: true };
  };

  return {
    next,
    return: async () => {
      close();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** A Future that settles as `promise` does (its rejection counts as observed). */
function futureOf<T>(promise: PromiseLike<T>): Future<T> {
  const future = new Future<T>();
  future.setRunningOrNotifyCancel();
  promise.then(
    (value) => future.setResult(value),
    (error) => future.setException(error),
  );
  return future;
}

// ---------------------------------------------------------------------------------------------
// The Executor interface

/** Any function a worker can run: its arguments and result travel by structured clone. */
// biome-ignore lint/suspicious/noExplicitAny: the parameter list is inferred per call site.
export type TaskFunction = (...args: any[]) => unknown;

/** The settled result type of a task function (async tasks are unwrapped). */
export type TaskResult<F extends TaskFunction> = Awaited<ReturnType<F>>;

/** Per-task options of `submitWith`: a time limit, a cancel signal, transfers, retries. */
export interface SubmitOptions {
  /** ms, counted from when the task starts running; the worker is then terminated and replaced. */
  timeout?: number;
  /** Aborting cancels a queued task, or stops a running one by terminating its worker. */
  signal?: AbortSignal;
  /** ArrayBuffers (or MessagePorts) among the arguments to move instead of copy (threads). */
  transfer?: readonly TransferListItem[];
  /** Run again up to this many times if the worker running the task dies. Default 0. */
  retries?: number;
}

/** Options of `map`, passed as its last argument. */
export interface MapOptions {
  /** Items per message; `'auto'` (default) sizes chunks from the measured time per item. */
  chunksize?: number | 'auto';
  /** Yield in input order (default) or as results arrive. */
  ordered?: boolean;
  /** ms for the whole map, counted from the call; the iterator then throws TimeoutError. */
  timeout?: number;
  /** Chunks in flight at most (backpressure on the input). Default: 4 per worker. */
  buffersize?: number;
}

/** What `map` returns: an async iterator of results, plus `toArray()` to collect them all at once. */
export interface MapIterator<R> extends AsyncIterableIterator<R> {
  /**
   * All results in the map's order, collected a chunk at a time (no per-item await): the fast
   * way to write Python's `list(executor.map(...))`. Rejects at the first task error.
   */
  toArray(): Promise<R[]>;
}

/** Options of `shutdown`: whether to wait, whether to cancel what is queued, and a time limit. */
export interface ShutdownOptions {
  /** Resolve only when every task has settled and every worker has exited. Default true. */
  wait?: boolean;
  /** Cancel the tasks not yet handed to a worker. Default false. */
  cancelFutures?: boolean;
  /**
   * ms to let the work finish. Then every task still queued is cancelled, every task still
   * running is stopped (its worker terminated) and its future rejects with `TimeoutError`, and
   * shutdown resolves once the workers are gone. Default: no limit, as in Python.
   */
  timeout?: number;
}

/** A snapshot of an executor's counters; the counts of settled tasks only grow. */
export interface ExecutorStats {
  /** Workers alive now (threads or processes), busy or idle. */
  workers: number;
  /** Workers alive and waiting for a task. */
  idle: number;
  /** Tasks submitted but not yet handed to a worker. */
  queued: number;
  /** Tasks handed to a worker and not yet settled. */
  running: number;
  /** Tasks that returned a value, since the executor was created. */
  completed: number;
  /** Tasks that threw, timed out or lost their worker, since the executor was created. */
  failed: number;
  /** Tasks cancelled before they ran (or stopped by their signal), since the executor was created. */
  cancelled: number;
}

/** How a task ended, as the counters of `stats` see it. */
export type Outcome = 'completed' | 'failed' | 'cancelled';

/** One iterable per parameter of a function, sync or async: Python's `map(fn, *iterables)`. */
export type IterablesFor<P extends readonly unknown[]> = { [K in keyof P]: Iterable<P[K]> | AsyncIterable<P[K]> };

/** The events of an executor, typed: `on('progress', listener)`. */
export interface ExecutorEvents {
  /** After each settled task (a map counts its items), with the executor's stats. */
  progress: [ExecutorStats];
}

/** What `concurrent.futures.Executor` is, typed: arguments are checked against `fn`. */
export interface Executor {
  /**
   * Schedule `fn(...args)` on a worker and return its future at once. Throws
   * `ExecutorShutdownError` after `shutdown`, and `BrokenExecutorError` once the executor is broken.
   */
  submit<F extends TaskFunction>(fn: F, ...args: Parameters<F>): Future<TaskResult<F>>;
  /** `submit` with per-task options (timeout in ms, abort signal, transfers, retries) first. */
  submitWith<F extends TaskFunction>(options: SubmitOptions, fn: F, ...args: Parameters<F>): Future<TaskResult<F>>;
  /** `fn` over one iterable. */
  map<F extends TaskFunction>(
    fn: F,
    items: Iterable<Parameters<F>[0]> | AsyncIterable<Parameters<F>[0]>,
    options?: MapOptions,
  ): MapIterator<TaskResult<F>>;
  /** `fn` over several iterables zipped (one per parameter, stopping at the shortest), options last. */
  map<F extends TaskFunction>(
    fn: F,
    ...iterables: IterablesFor<Parameters<F>> | [...IterablesFor<Required<Parameters<F>>>, MapOptions]
  ): MapIterator<TaskResult<F>>;
  /**
   * Stop accepting tasks and release the workers. Resolves, by default, once every task has
   * settled and every worker has exited; calling it again is harmless.
   */
  shutdown(options?: ShutdownOptions): Promise<void>;
  /** The counters now (a fresh snapshot on each read). */
  readonly stats: ExecutorStats;
  /** Listen to an executor event, e.g. `'progress'`; returns the executor for chaining. */
  on<E extends keyof ExecutorEvents>(event: E, listener: (...args: ExecutorEvents[E]) => void): this;
  /** Remove a listener added with `on`; returns the executor for chaining. */
  off<E extends keyof ExecutorEvents>(event: E, listener: (...args: ExecutorEvents[E]) => void): this;
  /** `await using executor = ...`: the same as `shutdown()` with its defaults. */
  [Symbol.asyncDispose](): Promise<void>;
}
