/**
 * The seam through which a process pool's tasks receive threading primitives (a Queue, a Lock...)
 * as proxies of the object in this process. The machinery is multiprocessing's (its broker and
 * the proxies, src/multiprocessing/task-handles.ts), a layer above the executors: it installs
 * itself here when loaded, so the executors reach it without importing upwards. Until it is
 * installed, such an argument is refused for a process task, as before.
 */

/** What the process backend needs to send primitives to its workers. */
export interface ProcessSharing {
  /** For a primitive: true if a process task can receive it, else why not; undefined for any other value. */
  verdict(value: object): true | string | undefined;
  /** A copy of `args` with every primitive replaced by its descriptor (kept by this process's broker). */
  encode(args: unknown[]): unknown[];
  /** The module a worker imports to turn descriptors back into proxies (it exports `reviveShared`). */
  readonly reviverUrl: string;
  /** A worker process started: the handler of its messages (true if it was a proxy's call) and of its exit. */
  attach(pid: number, send: (message: unknown) => boolean): WorkerSharing;
}

/** One worker process's side of the sharing. */
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
