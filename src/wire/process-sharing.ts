/**
 * The seam through which pool tasks receive what lives in this thread and travels by handle: a
 * threading primitive (a Queue, a Lock...) for a process task, a Manager proxy or a Pipe
 * Connection end for a task on either backend (and so for a Thread). The machinery is
 * multiprocessing's (its brokers and proxies, src/multiprocessing/task-handles.ts), a layer above
 * the executors: it installs itself here when loaded, so the executors reach it without
 * importing upwards. Until it is installed, a primitive is refused for a process task, and a
 * thread task's primitives are shared by memory only (sync/shared-memory.ts).
 */
import type { SharedPrimitive } from '../sync/shared-memory.js';

/** A task's arguments as they travel, and what to do when the task settles. */
export interface EncodedArguments {
  readonly args: unknown[];
  /** Call once when the task's future settles: what was lent to it (a Connection end) comes back. */
  readonly settled: (() => void) | undefined;
}

/** What the pool needs to send handles to its workers. */
export interface ProcessSharing {
  /** For a primitive: true if a process task can receive it, else why not; undefined for any other value. */
  verdict(value: object): true | string | undefined;
  /**
   * A copy of `args` for a worker of `backend`: every Manager proxy and Connection replaced by its
   * descriptor (the Connection lent to the task), every primitive by its broker descriptor (a
   * process) or its shared-memory descriptor (a thread; collected in `shared`).
   */
  encode(args: unknown[], backend: 'thread' | 'process', shared: SharedPrimitive[]): EncodedArguments;
  /** The module a worker imports to turn descriptors back into objects (it exports `reviveShared`). */
  readonly reviverUrl: string;
  /**
   * A worker started (`caller`: a process's pid, or minus a thread's threadId): the handler of its
   * messages (true if it was a batch of proxy calls) and of its exit. `send` returns false once the
   * worker is gone.
   */
  attach(caller: number, send: (message: unknown) => boolean): WorkerSharing;
}

/** One worker's side of the sharing. */
export interface WorkerSharing {
  /** Handles the message if it is a batch of proxy calls; true then. */
  onMessage(message: unknown): boolean;
  /** The worker exited: its waits are dropped and a Lock it held breaks. */
  exited(): void;
}

let installed: ProcessSharing | undefined;

/** Called once by multiprocessing when it loads. */
export function installProcessSharing(sharing: ProcessSharing): void {
  installed = sharing;
}

/** The installed sharing, if multiprocessing is loaded. */
export function processSharing(): ProcessSharing | undefined {
  return installed;
}
