/**
 * The errors of the futures vocabulary, as in CPython's `concurrent.futures._base`.
 * Every error that skein raises for a task's fate is one of these, so callers can
 * branch on `instanceof` rather than on message text.
 */

/** The future was cancelled before it finished: by `cancel()`, an abort signal, or `shutdown({ cancelFutures })`. */
export class CancelledError extends Error {
  /** `'CancelledError'`, so that `error.name` and stack traces say which error this is. */
  override name = 'CancelledError';
}

/** A deadline passed: a task's `timeout`, or the `timeout` of `result()`, `wait()`, `asCompleted()` or `map()`. */
export class TimeoutError extends Error {
  /** `'TimeoutError'`, so that `error.name` and stack traces say which error this is. */
  override name = 'TimeoutError';
}

/**
 * The executor can no longer run tasks: its `initializer` threw, or workers keep dying while
 * they start. Every pending future and every later `submit` fails with this error; `cause`
 * holds the original failure.
 */
export class BrokenExecutorError extends Error {
  /** `'BrokenExecutorError'`, so that `error.name` and stack traces say which error this is. */
  override name = 'BrokenExecutorError';
}

/** `submit` (or `map`) was called after `shutdown()`. */
export class ExecutorShutdownError extends Error {
  /** `'ExecutorShutdownError'`, so that `error.name` and stack traces say which error this is. */
  override name = 'ExecutorShutdownError';
}

/** How a worker ended, as reported by Node. */
export interface WorkerExit {
  /** Exit code, when the worker exited (a thread calling `process.exit(3)` gives 3). */
  readonly exitCode: number | null;
  /** Signal name, when a child process was killed (`'SIGKILL'`). */
  readonly signal: NodeJS.Signals | null;
  /** Why, in words: the uncaught error, `'out of memory'`, `'killed by SIGKILL'`, ... */
  readonly reason: string;
}

/**
 * The worker running this task died before the task finished: it exited, was killed by a
 * signal, or ran out of memory. Only the task that was running on it fails; the pool replaces
 * the worker, and tasks that had been handed to it but not started run elsewhere.
 */
export class WorkerExitedError extends Error implements WorkerExit {
  /** `'WorkerExitedError'`, so that `error.name` and stack traces say which error this is. */
  override name = 'WorkerExitedError';
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly reason: string;

  constructor(exit: WorkerExit, options?: ErrorOptions) {
    super(`the worker running this task died (${exit.reason})`, options);
    this.exitCode = exit.exitCode;
    this.signal = exit.signal;
    this.reason = exit.reason;
  }
}
