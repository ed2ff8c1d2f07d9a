/**
 * `currentTask()`: inside a task, which task this is and the signal that aborts when the pool
 * stops it (a timeout, an abort signal). Honouring the signal lets a task end cleanly within
 * the pool's `abortGracePeriod`; otherwise its worker is terminated.
 */
/** What a running task can know about itself: `currentTask()` in a worker. */
export interface TaskContext {
  /** The task's id in its pool (unique per executor), as the pool numbered it. */
  readonly id: number;
  /** Aborts when the pool stops the task (timeout, abort signal, shutdown timeout): return soon after. */
  readonly signal: AbortSignal;
}

const CURRENT = Symbol.for('skein.currentTask');

/** The running task's context, or undefined outside a skein worker task. */
export function currentTask(): TaskContext | undefined {
  const get = (globalThis as Record<symbol, unknown>)[CURRENT] as (() => TaskContext | undefined) | undefined;
  return get?.();
}
