/**
 * The pool engine shared by ThreadPoolExecutor and ProcessPoolExecutor. Only `Backend.spawn`
 * differs between them. This file owns every task from `submit` to its settlement; starting,
 * growing, reaping and stopping the workers themselves is fleet.ts.
 *
 *   engine.submit(task)                      map(fn, items): one chunk task per message (map.ts)
 *     │  resolveTaskReference(fn) ─ once per function (cached): module URL + export, or source
 *     ▼
 *   Future + TaskRecord ──► queue (Deque, FIFO) ◄──────────── requeue: tasks a dead worker had
 *                              │  dispatch(): one microtask      not started yet (and retries)
 *                              │  after a burst of submits
 *                              ▼
 *            pick a worker: an idle one, a busy one with < 1 ms of expected work queued, or
 *            a starting one with nothing yet (it runs that one task as soon as it is up)
 *                              │  FAST PATH: every task chosen for one worker in this turn
 *                              │  → ONE flat array [refs, id, key, args, flags, id, ...]
 *                              ▼
 *   WorkerSlot.inflight [running, queued-in-worker, ...] ── transport ──► worker-entry drain():
 *                              ▲                                 runs them back to back, writing
 *                              │                                 which one runs (task-state word)
 *                              └── ONE flat array [id, status, value, ms, ...] per worker turn
 *     settle futures ─► stats/progress ─► head timer for the next task ─► dispatch() again
 *
 * The fast path is batching, not more machinery: 100,000 tiny submits cost ~400 messages, not
 * 200,000, and a lone task is one small array each way (~4 µs over a bare postMessage round
 * trip, see bench/results.md). Prefetch follows measured task times (a mean per function): a
 * busy worker is handed more only while its expected queued work stays under ~1 ms, so tiny
 * tasks travel in batches of up to 256 while nothing is ever queued behind a slow task.
 *
 * Failure handling lives here once: a worker exit rejects only the task its task-state word
 * says was running (WorkerExitedError, or a retry), never re-runs one that had finished,
 * re-queues the ones it had not started, and a replacement is spawned by the next dispatch.
 * A timeout or abort of a running task settles the future at once, marks the task stopped for
 * the shared primitives, tells the worker (its `currentTask().signal` aborts) and terminates it
 * after `abortGracePeriod` ms unless it answers first.
 */
import type { TransferListItem } from 'node:worker_threads';
import { Future, type Outcome, type SubmitOptions, type TaskFunction } from '../futures/base.js';
import { CancelledError, TimeoutError, type WorkerExit, WorkerExitedError } from '../futures/errors.js';
import type { SharedPrimitive } from '../sync/shared-memory.js';
import { deserializeError, resolveErrorClasses } from '../wire/errors.js';
import { copyLargeArrays } from '../wire/large-arrays.js';
import { resolveTaskReference } from '../wire/task-reference.js';
import { Deque } from './deque.js';
import { type FleetConfig, WorkerFleet } from './fleet.js';
import type { ChunkCall, RunMessage, TaskReference, ToMain } from './protocol.js';
import { RESULT_STRIDE, TASK_BULKY, TASK_CHUNK, TASK_OK, TASK_SHARED, TASK_SPREAD } from './protocol.js';
import { readTaskState } from './task-state.js';
import type { TaskRecord, WorkerSlot } from './worker-slot.js';

/** A task as the executor hands it over, checked: its arguments can travel (shared primitives encoded). */
export interface TaskSpec {
  readonly fn: TaskFunction;
  readonly args: unknown[];
  readonly options: SubmitOptions | undefined;
  readonly chunk: ChunkCall | undefined;
  readonly shared: readonly SharedPrimitive[] | undefined;
  /** Its arguments hold a large typed array, copied once and transferred when sent (wire/large-arrays.ts). */
  readonly largeArrays: boolean;
  /** Its arguments hold a buffer of a MiB or more: the worker collects its young garbage after it (TASK_BULKY). */
  readonly bulky: boolean;
}

export interface EngineConfig extends FleetConfig {
  readonly maxTasksPerWorker: number;
  readonly abortGracePeriod: number;
}

export interface EngineHooks {
  /** A task settled (after its future did), with its value (a chunk's ChunkOutcome when it completed). */
  onSettled(outcome: Outcome, task: TaskRecord, value: unknown): void;
  /** The pool cannot go on: break the executor with this cause. */
  onBroken(cause: unknown, why: string): void;
}

/** Consecutive start-up deaths (no worker ever became ready) before the pool gives up. */
const MAX_STARTUP_FAILURES = 3;
/** Work (ms, expected) a busy worker may have queued: enough to share messages, too little to make anyone wait. */
const TARGET_BATCH_MS = 1;
const MAX_PREFETCH = 256;
const UNKNOWN_TASK_MS = 1e6;
const RESOLVED = Promise.resolve();

export class PoolEngine {
  readonly queue = new Deque<TaskRecord>();
  readonly fleet: WorkerFleet;
  private readonly refKeys = new Map<TaskReference, number>();
  private readonly refs: TaskReference[] = [];
  private dispatchScheduled = false;
  private startupFailures = 0;
  /** Mean run time (ms) of each function, by reference key: sizes its prefetch. */
  private readonly taskMs: number[] = [];
  private idleWaiters: (() => void)[] = [];
  /** Tasks still in `queue` whose futures are settled (cancelled): dropped when reached. */
  private settledInQueue = 0;
  private nextTaskId = 1;
  stopped = false;

  constructor(
    private readonly config: EngineConfig,
    private readonly hooks: EngineHooks,
  ) {
    this.fleet = new WorkerFleet(config, {
      onMessage: (slot, message) => this.onMessage(slot, message),
      onExit: (slot, exit) => this.onExit(slot, exit),
      onInitSent: () => this.scheduleDispatch(),
      onInitializerUnsendable: (error) => hooks.onBroken(error, 'the initializer cannot be sent'),
    });
  }

  /** The pool's workers (see fleet.ts). */
  get slots(): ReadonlySet<WorkerSlot> {
    return this.fleet.slots;
  }

  spawn(): void {
    this.fleet.spawn();
  }

  refKey(ref: TaskReference): number {
    let key = this.refKeys.get(ref);
    if (key === undefined) {
      key = this.refs.push(ref) - 1;
      this.refKeys.set(ref, key);
    }
    return key;
  }

  /**
   * A new task (checked by the executor): its record and future, its function's reference (which
   * may still be resolving: the task then waits in line for it), its abort listener; queued.
   */
  submit(spec: TaskSpec): Future<unknown> {
    const { fn, options } = spec;
    // The first function lookup can take ~30 ms (the inspector's first use); start a worker
    // first so its start-up overlaps with it.
    if (this.slots.size === 0) this.spawn();
    const ref = resolveTaskReference(fn);
    const task: TaskRecord = {
      id: this.nextTaskId++,
      future: new Future<unknown>(() => this.cancelledByUser(task)),
      refKey: ref instanceof Promise ? -1 : this.refKey(ref),
      fnName: fn.name,
      args: spec.args,
      transfer: options?.transfer,
      timeout: options?.timeout,
      signal: options?.signal,
      onAbort: undefined,
      retriesLeft: options?.retries ?? 0,
      chunk: spec.chunk !== undefined,
      spread: spec.chunk === 'spread',
      shared: spec.shared,
      largeArrays: spec.largeArrays,
      bulky: spec.bulky,
      slot: undefined,
      queued: false,
      expectedMs: 0,
      batch: -1,
      sent: false,
    };
    if (ref instanceof Promise) {
      ref.then(
        (resolved) => {
          task.refKey = this.refKey(resolved);
          this.scheduleDispatch();
        },
        (error) => {
          // Settled, it is dropped when dispatch() reaches it (refKey stays -1: never sent).
          this.settle(task, false, error);
          this.scheduleDispatch();
        },
      );
    }
    const signal = options?.signal;
    if (signal) {
      if (signal.aborted) {
        this.cancel(task, new CancelledError('the task was aborted before it was submitted', { cause: signal.reason }));
        return task.future;
      }
      task.onAbort = () => this.abortTask(task);
      signal.addEventListener('abort', task.onAbort, { once: true });
    }
    task.queued = true;
    this.queue.push(task);
    this.scheduleDispatch();
    return task.future;
  }

  /** The pool cannot go on: every queued and running task fails with `error`, every worker is terminated. */
  break(error: Error): void {
    for (const task of this.takeQueued()) this.settle(task, false, error);
    for (const slot of this.slots) for (const task of slot.inflight.drain()) this.settle(task, false, error);
    void this.terminateAll();
  }

  /** `shutdown({ cancelFutures })`: cancels every task not yet handed to a worker. */
  cancelQueued(error: CancelledError): void {
    for (const task of this.takeQueued()) this.cancel(task, error);
  }

  /** The workers and tasks, as `executor.stats` reports them. */
  stats(): { workers: number; idle: number; queued: number; running: number } {
    let workers = 0;
    let idle = 0;
    let running = 0;
    for (const slot of this.slots) {
      if (slot.state === 'closing') continue;
      workers++;
      if (slot.state === 'ready' && slot.inflight.length === 0) idle++;
      running += slot.inflight.length;
    }
    return { workers, idle, queued: this.queuedCount, running };
  }

  /** Tasks waiting for a worker. */
  get queuedCount(): number {
    return this.queue.length - this.settledInQueue;
  }

  /** Empties the queue, returning the tasks whose futures are still open. */
  private takeQueued(): TaskRecord[] {
    this.settledInQueue = 0;
    return this.queue.drain().filter((task) => {
      task.queued = false;
      return !task.future.done;
    });
  }

  scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    // A promise reaction, not queueMicrotask: that one wraps each callback in an async resource
    // (its own code to run and, early on, to compile), on every lone task's round trip.
    void RESOLVED.then(this.dispatchSoon);
  }

  private readonly dispatchSoon = (): void => this.dispatch();

  /** Hands queued tasks to workers (one message per worker), then spawns workers if tasks still wait. */
  dispatch(): void {
    this.dispatchScheduled = false;
    if (this.stopped) {
      this.checkIdle();
      return;
    }
    const touched: WorkerSlot[] = [];
    while (this.queue.length > 0) {
      const task = this.queue.peek() as TaskRecord;
      if (task.future.done) {
        this.queue.shift(); // cancelled while it waited
        task.queued = false;
        this.settledInQueue--;
        continue;
      }
      if (task.refKey < 0) break; // its function is still being located; keep FIFO order
      const expected = this.expectedMs(task.refKey);
      const slot = this.pickSlot(expected);
      if (!slot) break;
      this.queue.shift();
      task.queued = false;
      task.future.setRunningOrNotifyCancel();
      task.slot = slot;
      task.expectedMs = expected;
      slot.expectedMs += expected;
      slot.dispatched++;
      if (slot.outgoing.length === 0) touched.push(slot);
      slot.outgoing.push(task);
      slot.inflight.push(task);
      if (slot.inflight.length === 1 && slot.state === 'ready') this.taskStarted(slot, task);
    }
    for (const slot of touched) this.send(slot);
    this.fleet.growFor(this.queue.length);
    this.checkIdle();
  }

  /**
   * Expected run time of a task, from its function's measured mean. Unknown functions count as
   * long: they go only to an idle worker, since an unknown task may be slow and nothing should
   * wait behind it while another worker is free.
   */
  private expectedMs(refKey: number): number {
    return this.taskMs[refKey] ?? UNKNOWN_TASK_MS;
  }

  /**
   * The ready worker with the least expected work that can take a task of `expected` ms: an
   * idle one always; a busy one only while its queued work stays under TARGET_BATCH_MS, so
   * batches of tiny tasks share one message but nothing is queued behind a slow task.
   */
  private pickSlot(expected: number): WorkerSlot | undefined {
    let best: WorkerSlot | undefined;
    for (const slot of this.slots) {
      if (slot.stopping || slot.dispatched >= this.config.maxTasksPerWorker) continue;
      // A starting worker takes one task: it is queued in its port and runs as soon as the
      // worker is up, saving the round trip through 'ready' (it counts as started only then).
      if (slot.state === 'starting' ? slot.inflight.length > 0 : slot.state !== 'ready') continue;
      const busy = slot.inflight.length > 0;
      if (busy && (slot.expectedMs + expected > TARGET_BATCH_MS || slot.inflight.length >= MAX_PREFETCH)) continue;
      if (!busy) return slot;
      if (!best || slot.expectedMs < best.expectedMs) best = slot;
    }
    return best;
  }

  private send(slot: WorkerSlot): void {
    const tasks = slot.outgoing;
    slot.outgoing = [];
    slot.keepAlive(true);
    let newRefs: Map<number, TaskReference> | undefined;
    let transfer: TransferListItem[] | undefined;
    const message: RunMessage = [0];
    const batch = slot.batchesSent;
    for (const task of tasks) {
      task.batch = batch;
      if (!slot.knownRefs.has(task.refKey)) {
        newRefs ??= new Map();
        newRefs.set(task.refKey, this.refs[task.refKey] as TaskReference);
      }
      if (task.transfer) {
        transfer ??= [];
        transfer.push(...task.transfer);
      }
      let args = task.args;
      if (task.largeArrays) {
        // Copied now, not at submit: the copy lives only in the message (the task record keeps
        // the caller's array), so a resend after a worker death copies again.
        transfer ??= [];
        args = copyLargeArrays(args, task.transfer, transfer);
      }
      const flags =
        (task.chunk ? TASK_CHUNK : 0) |
        (task.spread ? TASK_SPREAD : 0) |
        (task.shared ? TASK_SHARED : 0) |
        (task.bulky ? TASK_BULKY : 0);
      message.push(task.id, task.refKey, args, flags);
      if (task.shared) slot.rememberShared(task.shared);
    }
    if (newRefs) message[0] = [...newRefs];
    try {
      slot.transport.post(message, transfer);
    } catch (error) {
      // The submit-time check missed something uncloneable and nothing was sent. Resend the
      // tasks one by one, so that only the culprit fails, named by the transport's error.
      if (tasks.length > 1) {
        for (const task of tasks) {
          slot.outgoing = [task];
          this.send(slot);
        }
      } else if (tasks[0]) {
        this.failUnsent(slot, tasks[0], error);
      }
      return;
    }
    slot.batchesSent++;
    for (const task of tasks) task.sent = true;
    // Only now does the worker know these references.
    if (newRefs) for (const key of newRefs.keys()) slot.knownRefs.add(key);
  }

  /** A task whose message could not be sent: take it back out of the worker's line and fail it. */
  private failUnsent(slot: WorkerSlot, task: TaskRecord, error: unknown): void {
    this.failNeverReceived(
      slot,
      (t) => t === task,
      new TypeError(`the task's arguments cannot be sent to a worker: ${(error as Error).message}`),
    );
  }

  /** Takes tasks the worker never got out of its line (they do not count in its task-state word) and fails them. */
  private failNeverReceived(slot: WorkerSlot, lost: (task: TaskRecord) => boolean, error: unknown): void {
    const head = slot.inflight.peek();
    const kept: TaskRecord[] = [];
    const failed: TaskRecord[] = [];
    for (const t of slot.inflight.drain()) (lost(t) ? failed : kept).push(t);
    for (const t of kept) slot.inflight.push(t);
    for (const t of failed) {
      slot.expectedMs = kept.length === 0 ? 0 : slot.expectedMs - t.expectedMs;
      t.slot = undefined;
      this.settle(t, false, error);
    }
    const next = slot.inflight.peek();
    if (next && next !== head) this.taskStarted(slot, next);
    if (!next) {
      slot.keepAlive(false);
      this.dispatch();
    }
  }

  /** The head of a worker's queue is the running task: its timeout counts from now. */
  private taskStarted(slot: WorkerSlot, task: TaskRecord): void {
    clearTimeout(slot.headTimer);
    slot.headTimer = undefined;
    if (task.timeout !== undefined && !task.future.done) {
      slot.headTimer = setTimeout(() => {
        if (task.future.done) return;
        // Before the future settles: from then on this task takes no lock, permit or item.
        slot.taskState.markStopped(task.id);
        this.settle(
          task,
          false,
          new TimeoutError(`${task.fnName || 'the task'} did not finish within ${task.timeout} ms`),
        );
        this.stopRunning(slot, task);
      }, task.timeout);
    }
  }

  /** Stops the running task of `slot`: ask the worker to abort it, and kill it if it does not answer in time. */
  stopRunning(slot: WorkerSlot, task: TaskRecord): void {
    if (slot.stopping || slot.terminating) return;
    slot.stopping = task;
    if (this.config.abortGracePeriod <= 0) {
      slot.terminate();
      return;
    }
    try {
      slot.transport.post({ t: 'abort', id: task.id });
    } catch {
      // the worker is already gone; its exit handler does the rest
    }
    slot.killTimer = setTimeout(() => slot.terminate(), this.config.abortGracePeriod);
  }

  /** An abort signal fired for `task`: cancel it wherever it is. */
  abortTask(task: TaskRecord): void {
    if (task.future.done) return;
    const reason = task.signal?.reason;
    task.slot?.taskState.markStopped(task.id);
    if (!this.cancel(task, new CancelledError('the task was aborted', { cause: reason }))) return;
    const slot = task.slot;
    if (!slot) return; // still queued: dispatch() skips it
    // Running only if it heads the line of a worker that is up; otherwise the worker skips it
    // (a starting worker takes in the abort before it runs anything, see worker-entry.ts).
    if (slot.becameReady && slot.inflight.peek() === task) this.stopRunning(slot, task);
    else {
      try {
        slot.transport.post({ t: 'abort', id: task.id });
      } catch {
        // the worker is gone
      }
    }
  }

  /** Settles a task's future once; false if it was already settled (a late answer). */
  settle(task: TaskRecord, ok: boolean, value: unknown): boolean {
    const settled = ok ? task.future.setResult(value) : task.future.setException(value);
    if (settled) {
      if (task.queued) this.settledInQueue++;
      this.release(task);
      this.hooks.onSettled(ok ? 'completed' : 'failed', task, value);
    }
    return settled;
  }

  /**
   * Fails a task with the error its worker sent. An error of a custom class gets that class once
   * its module is found (a microtask or two): the future settles then.
   */
  private settleWithError(task: TaskRecord, payload: unknown): void {
    const error = deserializeError(payload);
    const classes = resolveErrorClasses(error);
    if (classes) void classes.then(() => this.settle(task, false, error));
    else this.settle(task, false, error);
  }

  /** Cancels a task's future (pending or running); false if it was already settled. */
  cancel(task: TaskRecord, error: CancelledError): boolean {
    if (!task.future.setCancelled(error)) return false;
    if (task.queued) this.settledInQueue++;
    this.release(task);
    this.hooks.onSettled('cancelled', task, error);
    return true;
  }

  /** A future was cancelled by its owner (`future.cancel()`, which only works while queued). */
  cancelledByUser(task: TaskRecord): void {
    if (task.queued) this.settledInQueue++;
    this.release(task);
    this.hooks.onSettled('cancelled', task, undefined);
  }

  /** Drops what a settled task holds on to: its abort listener. */
  private release(task: TaskRecord): void {
    if (task.onAbort) {
      task.signal?.removeEventListener('abort', task.onAbort);
      task.onAbort = undefined;
    }
  }

  private onMessage(slot: WorkerSlot, message: ToMain): void {
    if (Array.isArray(message)) {
      this.onResults(slot, message);
      return;
    }
    switch (message.t) {
      case 'ready': {
        slot.heapLimitMb = message.heapLimitMb;
        slot.state = 'ready';
        slot.becameReady = true;
        this.startupFailures = 0;
        // Tasks may have been sent while it started; the first one runs from now.
        const head = slot.inflight.peek();
        if (head) this.taskStarted(slot, head);
        this.dispatch();
        if (slot.inflight.length === 0) {
          slot.keepAlive(false);
          this.fleet.markIdle(slot);
        }
        return;
      }
      case 'init-error':
        this.hooks.onBroken(deserializeError(message.error), 'the initializer raised an error');
        return;
      case 'fatal':
        slot.fatal = deserializeError(message.error);
        return;
      case 'unreadable':
        if (message.batch >= 0) {
          this.failNeverReceived(
            slot,
            (task) => task.batch === message.batch,
            new TypeError("the worker could not read the task's message (messageerror); its arguments cannot be sent"),
          );
        } else {
          // Its answers cannot be read: end it; its task-state word tells who finished (exit below).
          slot.unreadableAnswers = true;
          slot.terminate();
        }
        return;
    }
  }

  private onResults(slot: WorkerSlot, results: unknown[]): void {
    // A worker being ended may still answer for tasks already settled and dropped from `inflight`
    // (forceStop): its answer was on its way before the kill. It is late, so it is ignored.
    if (slot.terminating && slot.inflight.peek()?.id !== results[0]) return;
    slot.answered += results.length / RESULT_STRIDE;
    for (let i = 0; i < results.length; i += RESULT_STRIDE) {
      const task = slot.inflight.shift();
      if (!task || task.id !== results[i]) throw new Error('skein internal error: worker answers out of order');
      slot.expectedMs = slot.inflight.length === 0 ? 0 : slot.expectedMs - task.expectedMs;
      const ms = results[i + 3] as number;
      const mean = this.taskMs[task.refKey];
      this.taskMs[task.refKey] = mean === undefined ? ms : mean * 0.8 + ms * 0.2;
      task.slot = undefined;
      if (slot.stopping === task) {
        // It answered after all: the worker is healthy, keep it.
        clearTimeout(slot.killTimer);
        slot.stopping = undefined;
      }
      if (results[i + 1] === TASK_OK) this.settle(task, true, results[i + 2]);
      else this.settleWithError(task, results[i + 2]);
    }
    const next = slot.inflight.peek();
    if (next) this.taskStarted(slot, next);
    else {
      clearTimeout(slot.headTimer);
      slot.headTimer = undefined;
    }
    if (slot.dispatched >= this.config.maxTasksPerWorker && slot.inflight.length === 0) slot.stop();
    this.dispatch();
    if (slot.inflight.length === 0) {
      slot.keepAlive(false);
      this.fleet.markIdle(slot);
    }
  }

  // ---- workers: the fleet (fleet.ts) starts and stops them; here is what their messages and exits mean

  /**
   * A worker exited (it has left the fleet): settle or re-queue what it held. Its task-state word
   * (task-state.ts) says which of its unanswered tasks had finished, which one was running and
   * which never started, so only the running one fails (or is retried), finished ones are never
   * run again, and the rest run elsewhere.
   */
  private onExit(slot: WorkerSlot, exit: WorkerExit): void {
    slot.releaseShared();
    const diedStarting = !slot.becameReady && !slot.terminating;
    const state = readTaskState(slot.taskState.read());
    const died = this.describeDeath(slot, exit);
    const lostAnswers = Math.max(0, state.finished - slot.answered);
    for (let i = 0; i < lostAnswers; i++) {
      const task = slot.inflight.shift();
      if (!task) break;
      task.slot = undefined;
      const why = slot.unreadableAnswers
        ? 'its answer could not be read (messageerror)'
        : 'the task had finished, but its result was lost with the worker';
      this.settle(task, false, new WorkerExitedError({ ...died, reason: `${died.reason}; ${why}` }, died.options));
    }
    const running = state.running ? slot.inflight.shift() : undefined;
    if (running) running.slot = undefined;
    // The others were only queued inside that worker: they never started, so they run elsewhere.
    const notStarted = slot.inflight.drain();
    for (let i = notStarted.length - 1; i >= 0; i--) this.requeueFront(notStarted[i] as TaskRecord);
    if (running && !running.future.done) {
      if (running.retriesLeft > 0) {
        running.retriesLeft--;
        this.requeueFront(running);
      } else {
        this.settle(running, false, new WorkerExitedError(died, died.options));
      }
    }
    if (diedStarting && ++this.startupFailures >= MAX_STARTUP_FAILURES && !this.stopped) {
      this.hooks.onBroken(new WorkerExitedError(exit), `${MAX_STARTUP_FAILURES} workers in a row died while starting`);
    }
    this.scheduleDispatch();
  }

  /** How a worker died, in words a user can act on, with the uncaught error as the cause. */
  private describeDeath(slot: WorkerSlot, exit: WorkerExit): WorkerExit & { options?: ErrorOptions } {
    if (slot.fatal !== undefined) {
      const error = slot.fatal as { name?: unknown; message?: unknown };
      const what = error instanceof Error ? `${String(error.name)}: ${String(error.message)}` : String(slot.fatal);
      return {
        ...exit,
        reason:
          `an uncaught ${what} ended the worker. It was thrown outside any task's call (by a timer, ` +
          'callback or promise that this task or an earlier one on the same worker left behind): see its cause',
        options: { cause: slot.fatal },
      };
    }
    if (exit.reason === 'out of memory' && slot.heapLimitMb !== undefined) {
      return { ...exit, reason: `out of memory (heap limit ${slot.heapLimitMb} MB)` };
    }
    return exit;
  }

  /**
   * Puts a task the worker never started back at the front of the queue. One whose `transfer`
   * buffers already went to a worker cannot be sent again: they are detached here.
   */
  private requeueFront(task: TaskRecord): void {
    task.slot = undefined;
    if (task.future.done) return;
    if (task.sent && task.transfer && task.transfer.length > 0) {
      this.settle(
        task,
        false,
        new TypeError(
          'the task was handed to a worker that died before starting it, and its `transfer` buffers went with ' +
            'that worker, so it cannot be sent again. Submit it again with new buffers, or without `transfer` ' +
            '(the buffers are then copied) if it must survive a worker death.',
        ),
      );
      return;
    }
    task.queued = true;
    this.queue.unshift(task);
  }

  // ---- shutdown

  /** Resolves when nothing is queued and no worker has a task. */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  private checkIdle(): void {
    // Cancelled tasks still in the queue (behind a function being located) are no work.
    if (this.idleWaiters.length === 0 || this.queuedCount > 0) return;
    for (const slot of this.slots) if (slot.inflight.length > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /**
   * `shutdown({ timeout })` ran out: cancel what is queued, fail what runs with TimeoutError and
   * terminate every worker. Resolves when all have exited.
   */
  forceStop(timeoutMs: number): Promise<void> {
    const why = `shutdown({ timeout: ${timeoutMs} })`;
    for (const task of this.takeQueued())
      this.cancel(task, new CancelledError(`cancelled by ${why}: it never started`));
    for (const slot of this.slots) {
      const busy = slot.inflight.length > 0;
      for (const task of slot.inflight.drain()) {
        task.slot = undefined;
        if (task.future.done) continue;
        slot.taskState.markStopped(task.id);
        this.settle(
          task,
          false,
          new TimeoutError(
            `${task.fnName || 'the task'} was still running when ${why} expired; its worker was terminated`,
          ),
        );
      }
      slot.expectedMs = 0;
      // Killed now, not asked to stop: a worker in CPU-bound code reads no 'stop' message, so its
      // task would run on (side effects included) until the stop patience ran out.
      if (busy) slot.terminate();
    }
    return this.terminateAll();
  }

  /** Terminates every worker and resolves when all have exited. */
  terminateAll(): Promise<void> {
    this.stopped = true;
    return this.fleet.stopAll();
  }
}
