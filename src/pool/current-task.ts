/**
 * `currentTask()`: inside a task, which task this is and the signal that aborts when the pool
 * stops it (a timeout, an abort signal). Honouring the signal lets a task end cleanly within
 * the pool's `abortGracePeriod`; otherwise its worker is terminated.
 */
export interface TaskContext {
  readonly id: number;
  readonly signal: AbortSignal;
}

const CURRENT = Symbol.for('skein.currentTask');

/** The running task's context, or undefined outside a skein worker task. */
export function currentTask(): TaskContext | undefined {
  const get = (globalThis as Record<symbol, unknown>)[CURRENT] as (() => TaskContext | undefined) | undefined;
  return get?.();
}
