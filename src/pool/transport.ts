/**
 * What the pool engine needs from a worker, whatever runs it. A backend (thread, process)
 * is one small function that starts a worker and returns this; everything else (queueing,
 * batching, respawn, timeouts) is the engine's and is shared.
 */
import type { TransferListItem } from 'node:worker_threads';
import type { WorkerExit } from '../futures/errors.js';
import type { InitMessage, ToMain, ToWorker } from './protocol.js';

export interface WorkerTransport {
  /** Sends a message; throws synchronously if a value cannot be cloned. */
  post(message: ToWorker, transfer?: readonly TransferListItem[]): void;
  /** Forcefully stops the worker; `onExit` follows. */
  terminate(): void;
  /** Whether the worker keeps the parent's event loop alive (only while it has work). */
  setKeepAlive(keepAlive: boolean): void;
  /** A thread's worker_threads threadId (what shared locks record as their owner); undefined for a process. */
  readonly threadId?: number;
}

/**
 * A worker's task-state word as the pool sees it (see task-state.ts): created before the worker,
 * read after it died, closed after that.
 */
export interface TaskStateChannel {
  /** What the worker's init message carries: a thread's shared buffer, or the descriptor number in the child. */
  readonly forWorker: SharedArrayBuffer | number;
  /** The parent's descriptor of a process's task-state file, which `spawn` hands to the child. */
  readonly fd?: number;
  /** The word as the worker last wrote it. */
  read(): number;
  /** Tells the running task's shared primitives that the pool gave up on task `id` (threads; a process has none). */
  markStopped(id: number): void;
  close(): void;
}

export interface TransportHandlers {
  onMessage(message: ToMain): void;
  /** Called exactly once, when the worker has exited for whatever reason. */
  onExit(exit: WorkerExit): void;
}

/** Options every backend understands; each maps them onto what its runtime offers. */
export interface SpawnOptions {
  readonly name: string;
  readonly env: NodeJS.ProcessEnv | undefined;
  readonly execArgv: readonly string[] | undefined;
  readonly resourceLimits: ResourceLimits | undefined;
}

/** Memory caps per worker, in MB, as Node's `resourceLimits` (V8 flags for process workers). */
export interface ResourceLimits {
  /** Heap size cap, MB (`--max-old-space-size` for processes). */
  maxOldGenerationSizeMb?: number;
  /** Young generation (semi-space) size cap, MB (`--max-semi-space-size` for processes). */
  maxYoungGenerationSizeMb?: number;
  /** Code range size, MB (threads only: process workers ignore it). */
  codeRangeSizeMb?: number;
  /** Stack size, MB (`--stack-size` for processes). Default: Node's. */
  stackSizeMb?: number;
}

export interface Backend {
  /** 'thread' | 'process': used in messages and for what may be shared (SharedArrayBuffer). */
  readonly kind: 'thread' | 'process';
  /** The task-state word of a worker about to be spawned (it goes into the init message and to `spawn`). */
  createTaskState(): TaskStateChannel;
  /**
   * Starts a worker. `init`, when given, must reach it before any other message (threads pass
   * it as workerData, saving a message); without it the engine posts it later.
   */
  spawn(
    entry: URL,
    options: SpawnOptions,
    handlers: TransportHandlers,
    init: InitMessage | undefined,
    taskState: TaskStateChannel,
  ): WorkerTransport;
}

/** The worker entry script, next to this file in the built package (CommonJS: see scripts/build-worker.mjs). */
export const WORKER_ENTRY = new URL('./worker-entry.cjs', import.meta.url);
