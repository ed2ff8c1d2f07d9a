/**
 * `AsyncResult`: what `Pool.applyAsync` and `Pool.mapAsync` return. A `Future` (awaitable,
 * `done`, `result(timeoutMs)`, `addDoneCallback`) that also answers to the names of Python's
 * `multiprocessing.pool.AsyncResult`: `get`, `wait`, `ready`, `successful`.
 *
 * It is settled by the pool from the work it stands for, and is RUNNING from the start: like
 * Python's AsyncResult it cannot be cancelled (`cancel()` returns false).
 */
import { Future } from '../futures/base.js';

/** `callback` / `errorCallback` of `applyAsync` and `mapAsync`, as Python's. */
export interface AsyncCallbacks<R> {
  /** Called with the result when the work succeeds, before anyone awaiting the result resumes. */
  callback?: (result: R) => void;
  /** Called with the error when the work fails. */
  errorCallback?: (error: unknown) => void;
}

export class AsyncResult<R> extends Future<R> {
  #failed = false;
  #value: R | undefined;
  #error: unknown;

  /** @internal Made by the pool. */
  constructor(callbacks: AsyncCallbacks<R> | undefined) {
    super();
    this.setRunningOrNotifyCancel();
    const { callback, errorCallback } = callbacks ?? {};
    if (callback !== undefined && typeof callback !== 'function') {
      throw new TypeError(`callback must be a function, got ${typeof callback}`);
    }
    if (errorCallback !== undefined && typeof errorCallback !== 'function') {
      throw new TypeError(`errorCallback must be a function, got ${typeof errorCallback}`);
    }
    if (callback || errorCallback) {
      // Done callbacks run when the future settles, before an awaiting caller's continuation:
      // as in Python, the callback has run by the time get() returns.
      this.addDoneCallback(() => {
        if (this.#failed) errorCallback?.(this.#error);
        else callback?.(this.#value as R);
      });
    }
  }

  /** @internal */
  override setResult(value: R): boolean {
    if (this.done) return false;
    this.#value = value;
    return super.setResult(value);
  }

  /** @internal */
  override setException(error: unknown): boolean {
    if (this.done) return false;
    this.#failed = true;
    this.#error = error;
    return super.setException(error);
  }

  /**
   * The result, waiting up to `timeoutMs` (forever when omitted); rejects with the task's error,
   * or with TimeoutError if it is not ready in time (Python's `get(timeout)`). Same as `result()`.
   */
  get(timeoutMs?: number): Promise<R> {
    return this.result(timeoutMs);
  }

  /** Resolves when the result is ready, or after `timeoutMs`; never rejects (Python's `wait`). */
  async wait(timeoutMs?: number): Promise<void> {
    try {
      await this.exception(timeoutMs);
    } catch {
      // a timeout: wait() only waits
    }
  }

  /** Whether the work has finished (Python's `ready()`); the same as `done`. */
  ready(): boolean {
    return this.done;
  }

  /**
   * Whether the work finished without an error. Throws if it has not finished yet, as Python's
   * `successful()` raises ValueError.
   */
  successful(): boolean {
    if (!this.done) throw new Error('successful(): the result is not ready yet; await it or call wait() first');
    return !this.#failed;
  }
}
