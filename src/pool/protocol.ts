/**
 * The messages between the pool (main side) and a worker (thread or child process). Both
 * transports carry the same objects; threads by postMessage, processes by IPC with Node's
 * 'advanced' (structured clone) serialization.
 *
 * Batched by design: one run message (a flat array, RunMessage) carries every task queued for a
 * worker since the last flush, and one results message (a flat array, ResultsMessage) carries
 * every result the worker produced in one turn. The per-message cost (~10 µs) is paid once per
 * batch, not once per task. Everything else is a small object message with a `t` tag.
 */
import type { SerializedError } from '../wire/errors.js';

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
  /** URL of the module that rebuilds shared primitives (sync/kinds.js), imported on first need. */
  readonly sharedKinds: string;
  readonly initializer: TaskReference | undefined;
  readonly initArgs: readonly unknown[];
  /** Where the worker writes its task-state word (task-state.ts): a thread's shared buffer, or a process's file descriptor. */
  readonly taskState: SharedArrayBuffer | number | undefined;
  /** A child process watches its parent and dies with it, busy or not. */
  readonly parentWatchdog: boolean;
}

/**
 * A batch of tasks, one flat array: `[refs, id, refKey, args, flags, id, refKey, args, flags, ...]`.
 * `refs` lists the function references this worker has not been sent before (`[[key, ref], ...]`)
 * or is 0. A chunk task (chunk = 1) calls the function once per item of `args`. Flat, because
 * serialisation cost grows with the number of objects and arrays in a message: for one tiny task
 * it is most of the round trip. Batches are the only array messages, so `Array.isArray` tells them
 * from the object messages.
 */
export type RunMessage = unknown[];
/** Entries per task in a RunMessage, after the leading `refs`. */
export const TASK_STRIDE = 4;
/** Flags, the 4th entry of a task: a map chunk (call once per item of `args`)... */
export const TASK_CHUNK = 1;
/** ...and arguments holding shared primitives as descriptors, to rebuild before the call... */
export const TASK_SHARED = 2;
/** ...and a chunk whose items are argument lists, spread into each call (map over zipped iterables)... */
export const TASK_SPREAD = 4;
/** ...and arguments holding a buffer of a MiB or more: the worker collects its young garbage once idle. */
export const TASK_BULKY = 8;

/** How a chunk task calls its function: once per item, or once per item spread as arguments (zipped iterables). */
export type ChunkCall = 'item' | 'spread';

/** Stop a task cooperatively: its `currentTask().signal` aborts; the pool kills the worker if it runs on. */
export interface AbortMessage {
  readonly t: 'abort';
  readonly id: number;
}

/** Exit now (sent to an idle worker): leaving by itself flushes its stdout and stderr. */
export interface StopMessage {
  readonly t: 'stop';
}

export type ToWorker = InitMessage | RunMessage | AbortMessage | StopMessage;

export const TASK_OK = 0;
export const TASK_ERROR = 1;

/**
 * The result of one chunk task: the values computed, then (if an item threw) the error. A chunk
 * of numbers travels packed in a Float64Array (see packNumbers), in both directions.
 */
export interface ChunkOutcome {
  readonly values: unknown[] | Float64Array;
  readonly error?: SerializedError;
  readonly ms: number;
}

/**
 * Results, one flat array `[id, status, payload, ms, id, status, payload, ms, ...]`, so a batch of
 * thousands is one array, not thousands of objects. `ms` is the task's run time in the worker,
 * which sizes how many tasks of that function are handed out at once.
 */
export type ResultsMessage = unknown[];

export type ToMain =
  /** Up and initialized; its V8 heap limit names an out-of-memory death later. */
  | { readonly t: 'ready'; readonly heapLimitMb: number }
  | { readonly t: 'init-error'; readonly error: SerializedError }
  /** An uncaught error is about to end the worker: the cause of the WorkerExitedError that follows. */
  | { readonly t: 'fatal'; readonly error: SerializedError }
  /** The worker could not read run message number `batch` (counting from 0): its tasks never reached it. */
  | { readonly t: 'unreadable'; readonly batch: number }
  | ResultsMessage;

/** Entries per task in a 'done' message's `results`. */
export const RESULT_STRIDE = 4;

/** Chunks shorter than this travel as plain arrays: packing would not pay for itself. */
const PACK_MIN = 64;

/**
 * A chunk of only numbers as a Float64Array, whose buffer can be transferred instead of
 * serialised item by item: lossless, since a Float64Array holds every JS number exactly
 * (-0 and NaN included). Anything else, or a short chunk, is returned as it is.
 */
export function packNumbers(values: readonly unknown[]): unknown[] | Float64Array {
  if (values.length < PACK_MIN) return values as unknown[];
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== 'number') return values as unknown[];
  return Float64Array.from(values as number[]);
}
