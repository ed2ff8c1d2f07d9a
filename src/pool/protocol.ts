/**
 * The messages between the pool (main side) and a worker (thread or child process). Both
 * transports carry the same objects; threads by postMessage, processes by IPC with Node's
 * 'advanced' (structured clone) serialization.
 *
 * Batched by design: one `run` message carries every task queued for a worker since the last
 * flush, and one `done` message carries every result the worker produced in one turn. The
 * per-message cost (~10 µs) is paid once per batch, not once per task.
 */
import type { SerializedError } from './values.js';

/** How a worker finds the function to call. */
export type TaskReference =
  /** An export of a module: `import(url)`, then follow `path` (`['square']`, `['default', 'square']`). */
  | { readonly kind: 'module'; readonly url: string; readonly path: readonly string[] }
  /** A self-contained function, sent as its source text. */
  | { readonly kind: 'source'; readonly source: string };

/** Sent once, first, to every new worker. */
export interface InitMessage {
  readonly t: 'init';
  readonly workerId: number;
  /** URL of `tsx/esm/api`, registered inside a thread before its first `.ts` import (Node 20 does not apply `--import tsx` to threads). */
  readonly tsxApi: string | undefined;
  readonly initializer: TaskReference | undefined;
  readonly initArgs: readonly unknown[];
}

/** One task: `[taskId, refKey, args, isChunk]`; a chunk task calls the function once per item of `args`. */
export type WireTask = [id: number, refKey: number, args: unknown[], chunk: boolean];

export interface RunMessage {
  readonly t: 'run';
  /** Function references this worker has not been sent before, by key. */
  readonly refs: [key: number, ref: TaskReference][] | undefined;
  readonly tasks: WireTask[];
}

/** Stop a task cooperatively: its `currentTask().signal` aborts; the pool kills the worker if it runs on. */
export interface AbortMessage {
  readonly t: 'abort';
  readonly id: number;
}

export type ToWorker = InitMessage | RunMessage | AbortMessage;

export const TASK_OK = 0;
export const TASK_ERROR = 1;

/** The result of one chunk task: the values computed, then (if an item threw) the error and its index. */
export interface ChunkOutcome {
  readonly values: unknown[];
  readonly error?: SerializedError;
  readonly ms: number;
}

export type ToMain =
  | { readonly t: 'ready' }
  | { readonly t: 'init-error'; readonly error: SerializedError }
  /**
   * Results, flattened as `[id, status, payload, ms, id, status, payload, ms, ...]` so a batch
   * of thousands is one array, not thousands of objects. `ms` is the task's run time in the
   * worker, which sizes how many tasks of that function are handed out at once.
   */
  | { readonly t: 'done'; readonly results: unknown[] };

/** Entries per task in a 'done' message's `results`. */
export const RESULT_STRIDE = 4;
