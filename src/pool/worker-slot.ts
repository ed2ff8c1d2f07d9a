/**
 * One worker as the engine sees it: its transport, the tasks handed to it (oldest = running),
 * and the timers that watch it. No scheduling decisions are made here; the engine makes them.
 */
import type { TransferListItem } from 'node:worker_threads';
import type { Future } from '../futures/base.js';
import { type SharedPrimitive, THREAD_EXITED } from '../sync/shared-memory.js';
import { Deque } from './deque.js';
import type { TaskStateChannel, WorkerTransport } from './transport.js';

/** A submitted task, from `submit` until its future settles and its worker has answered. */
export interface TaskRecord {
  readonly id: number;
  readonly future: Future<unknown>;
  /** Key of the resolved function reference; -1 while it is being resolved. */
  refKey: number;
  readonly fnName: string;
  readonly args: unknown[];
  readonly transfer: readonly TransferListItem[] | undefined;
  readonly timeout: number | undefined;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  retriesLeft: number;
  /** A map chunk: the worker calls the function once per element of `args`... */
  readonly chunk: boolean;
  /** ...spreading each element as the call's arguments (zipped iterables). */
  readonly spread: boolean;
  /** Shared primitives among its arguments (they travel as descriptors; see sync/shared-memory.ts). */
  readonly shared: readonly SharedPrimitive[] | undefined;
  /** Its arguments hold a large typed array, copied once and transferred when sent (wire/large-arrays.ts). */
  readonly largeArrays: boolean;
  /** Its arguments hold a buffer of a MiB or more (TASK_BULKY). */
  readonly bulky: boolean;
  /** The worker it was handed to, if any. */
  slot: WorkerSlot | undefined;
  /** In the engine's queue (perhaps settled already: the queue drops those lazily). */
  queued: boolean;
  /** Its expected run time (ms) when it was handed to a worker. */
  expectedMs: number;
  /** Which run message to its worker carried it (the worker's count of batches): see 'unreadable'. */
  batch: number;
  /** It was posted to a worker once: its `transfer` buffers went with it and cannot be sent again. */
  sent: boolean;
}

export type SlotState = 'starting' | 'ready' | 'closing';

/** ms an idle worker asked to stop has to exit before it is terminated. */
const STOP_PATIENCE_MS = 2000;

export class WorkerSlot {
  state: SlotState = 'starting';
  /** Handed to the worker and not yet answered, in order: the head is the one running. */
  readonly inflight = new Deque<TaskRecord>();
  /** Tasks chosen for this worker in the current dispatch round, sent as one message. */
  outgoing: TaskRecord[] = [];
  /** Reference keys this worker has already been sent. */
  readonly knownRefs = new Set<number>();
  /** Tasks ever handed to it, for `maxTasksPerWorker`. */
  dispatched = 0;
  /** Tasks it has answered (results received): where its task-state word's count starts in `inflight`. */
  answered = 0;
  /** Run messages posted to it. */
  batchesSent = 0;
  /** The uncaught error that is ending it, as it reported it ('fatal'). */
  fatal: unknown;
  /** Its answers could not be read (messageerror): it is being ended. */
  unreadableAnswers = false;
  /** Its V8 heap limit (MB), reported when it became ready. */
  heapLimitMb: number | undefined;
  /** Sum of the expected run times (ms) of `inflight`. */
  expectedMs = 0;
  /** A running task that was stopped (timeout, abort): we wait for its answer or kill the worker. */
  stopping: TaskRecord | undefined;
  /** True once it reported ready: from then on the head of `inflight` is running. */
  becameReady = false;
  /** True once we asked the worker to go; its exit is then not a failure. */
  terminating = false;
  headTimer: NodeJS.Timeout | undefined;
  killTimer: NodeJS.Timeout | undefined;
  /** When it last ran out of work (performance.now()), for the idle reaper. */
  idleSince = 0;
  private keptAlive = true;
  /** Shared primitives this worker was given: told when it exits, so a lock it held does not stay held forever. */
  private shared: Set<WeakRef<SharedPrimitive>> | undefined;
  private sharedSeen: WeakSet<SharedPrimitive> | undefined;

  constructor(
    readonly id: number,
    readonly transport: WorkerTransport,
    readonly taskState: TaskStateChannel,
  ) {}

  /** A worker keeps the program alive only while it has work; an idle pool never blocks exit. */
  keepAlive(keepAlive: boolean): void {
    // A terminating worker stays referenced until its exit event: shutdown() waits for it.
    if (keepAlive === this.keptAlive || (this.terminating && !keepAlive)) return;
    this.keptAlive = keepAlive;
    this.transport.setKeepAlive(keepAlive);
  }

  rememberShared(primitives: readonly SharedPrimitive[]): void {
    this.shared ??= new Set();
    this.sharedSeen ??= new WeakSet();
    for (const primitive of primitives) {
      if (this.sharedSeen.has(primitive)) continue;
      this.sharedSeen.add(primitive);
      this.shared.add(new WeakRef(primitive));
    }
  }

  /** The worker has exited: every primitive it was given breaks what it held, wakes who it might have left asleep. */
  releaseShared(): void {
    const thread = this.transport.threadId;
    if (!this.shared || thread === undefined) return;
    for (const ref of this.shared) ref.deref()?.[THREAD_EXITED](thread + 1);
    this.shared = undefined;
  }

  clearTimers(): void {
    clearTimeout(this.headTimer);
    clearTimeout(this.killTimer);
    this.headTimer = this.killTimer = undefined;
  }

  /**
   * Asks an idle worker to exit by itself, which flushes what its tasks wrote to stdout/stderr
   * (a worker thread's output is still on its way to the main thread when it is terminated, and
   * Node drops it). One that has not gone within STOP_PATIENCE_MS is terminated.
   */
  stop(): void {
    if (this.terminating) return;
    this.terminating = true;
    this.state = 'closing';
    this.keepAlive(true);
    try {
      this.transport.post({ t: 'stop' });
    } catch {
      this.transport.terminate();
      return;
    }
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => this.transport.terminate(), STOP_PATIENCE_MS);
  }

  /** Stops the worker at once, whatever it is doing. */
  terminate(): void {
    this.terminating = true;
    this.state = 'closing';
    // Whoever waits for this worker's exit (shutdown) needs the loop alive until it comes.
    this.keepAlive(true);
    this.transport.terminate();
  }
}
