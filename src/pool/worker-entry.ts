/**
 * The worker's side of the pool, the same file for threads and child processes.
 *
 *   init (workerData for a thread) ─► open the task-state word ─► (register tsx) ─► initializer ─► 'ready'
 *   [refs, id, key, args, flags, ...] ─► local queue ─► drain(): each task in order, one at a time
 *                                                         │ task-state word = "running n" (task-state.ts)
 *                                                         │ sync result: into the outbox, next task at once
 *                                                         │ promise: flush the outbox, resume when it settles
 *                                                         ▼
 *                                   [id, status, value, ms, ...]   (one array per turn)
 *
 * Tasks run strictly one after another, and the task-state word says which one runs, so after
 * our death the pool knows which task was running (it fails), which had finished (never re-run)
 * and which were only queued here (re-sent elsewhere). On process.exit() the outbox goes first;
 * an uncaught error is reported ('fatal') before Node ends us.
 */
import { writeSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { findUncloneable } from '../wire/cloneable.js';
import { serializeError } from '../wire/errors.js';
import { loadTaskFunction } from '../wire/load-function.js';
import { startParentWatchdog } from './parent-watchdog.js';
import type { ChunkOutcome, ResultsMessage, TaskReference, ToMain, ToWorker } from './protocol.js';
import {
  packNumbers,
  RESULT_STRIDE,
  TASK_BULKY,
  TASK_CHUNK,
  TASK_ERROR,
  TASK_OK,
  TASK_SHARED,
  TASK_SPREAD,
  TASK_STRIDE,
} from './protocol.js';
import { TASK_STATE_STOPPED, TASK_STATE_WORD } from './task-state.js';
import { collectYoungGarbage } from './young-garbage.js';

type Fn = (...args: unknown[]) => unknown;

const send: (message: ToMain, transfer?: ArrayBuffer[]) => void = parentPort
  ? (message, transfer) => parentPort?.postMessage(message, transfer)
  : (message) => process.send?.(message);

let tsxApi: string | undefined;
let tsxReady: Promise<void> | undefined;
let sharedKinds: string | undefined;
/** sync/kinds.js, once a task has brought shared primitives: the same module instance task code imports. */
let kinds: { reviveShared(value: unknown): unknown } | undefined;
const references = new Map<number, TaskReference>();
const functions = new Map<number, Fn>();
const aborted = new Set<number>();

/** Tasks received and not yet run, flat as in a RunMessage (without the leading refs). */
const queue: unknown[] = [];
let head = 0;
let draining = false;
/** A task taken since the queue was last empty received a buffer of a MiB or more (TASK_BULKY). */
let bulkyTaken = false;
/** Tasks can arrive while the initializer still runs (the pool does not wait for 'ready'); they wait. */
let initialized = false;
let outbox: ResultsMessage = [];
/** Run messages received so far (readable or not): names an unreadable one to the pool. */
let batchesReceived = 0;

// ---- the task-state word, which the pool reads after this worker died to know which task was
// running, which had finished and which never started (see task-state.ts). Threads write it in
// shared memory; a process writes it to a file the pool holds open (the page cache outlives us).
/** Tasks taken from the queue so far (run, failed or skipped). */
let taken = 0;
/** The word says a task runs, but it has ended: rewritten before anything else can happen. */
let statePending = false;
let writeState: (word: number) => void = () => {};
let stateWord: Int32Array | undefined;

function markRunning(): void {
  statePending = false;
  writeState(2 * taken + 1);
}

function markEnded(): void {
  taken++;
  // The next task's start says so too; only idle moments need the word written by itself.
  statePending = true;
}

function settleState(): void {
  if (!statePending) return;
  statePending = false;
  writeState(2 * taken);
}

function openTaskState(state: SharedArrayBuffer | number | undefined): void {
  if (state instanceof SharedArrayBuffer) {
    const word = new Int32Array(state);
    stateWord = word;
    writeState = (value) => {
      word[TASK_STATE_WORD] = value;
    };
  } else if (typeof state === 'number') {
    const bytes = new Int32Array(1);
    writeState = (value) => {
      bytes[0] = value;
      writeSync(state, bytes, 0, 4, 0);
    };
  }
}
/** Buffers of packed chunk results in the outbox: moved to the main thread, not copied. */
let outboxTransfer: ArrayBuffer[] = [];

// ---- the task context, read by `currentTask()` through a global slot so that a task module
// importing its own copy of skein still sees it.
interface RunningTask {
  id: number;
  controller: AbortController | undefined;
}
let running: RunningTask | undefined;

/**
 * True when the pool has given up on the running task (its future settled by a timeout or an
 * abort) while it may still run for the grace period. Shared primitives ask it before they take
 * a lock, a permit or an item, so a task nobody waits for any more takes nothing.
 */
const STOPPED = Symbol.for('skein.taskStopped');
(globalThis as Record<symbol, unknown>)[STOPPED] = (): boolean =>
  running !== undefined && stateWord !== undefined && Atomics.load(stateWord, TASK_STATE_STOPPED) === running.id;
const CURRENT = Symbol.for('skein.currentTask');
(globalThis as Record<symbol, unknown>)[CURRENT] = () => {
  if (!running) return undefined;
  running.controller ??= new AbortController();
  return { id: running.id, signal: running.controller.signal };
};

// ---- loading task functions

function ensureTsx(): Promise<void> {
  if (!tsxApi) return Promise.resolve();
  tsxReady ??= import(tsxApi).then((api: { register: () => unknown }) => {
    api.register();
  });
  return tsxReady;
}

function loadFunction(ref: TaskReference): Promise<Fn> {
  return loadTaskFunction(ref, ensureTsx);
}

// ---- running

function reply(id: number, status: number, payload: unknown, ms: number): void {
  outbox.push(id, status, payload, ms);
}

/** Set by a task's proxies of the parent's primitives (multiprocessing/broker-channel.ts). */
const FLUSH_BROKER_CALLS = Symbol.for('skein.flushBrokerCalls');

function flush(): void {
  settleState();
  if (outbox.length === 0) return;
  // What the task asked of the parent's primitives (a put) goes before the result it returned.
  (globalThis as Record<symbol, (() => void) | undefined>)[FLUSH_BROKER_CALLS]?.();
  const message = outbox;
  const transfer = outboxTransfer;
  outbox = [];
  outboxTransfer = [];
  try {
    send(message, transfer.length > 0 ? transfer : undefined);
  } catch {
    // A value that cannot be cloned (a function, a socket, a getter that throws) must fail its
    // own task, not the batch: find it by cloning each answer alone.
    for (let i = 0; i < message.length; i += RESULT_STRIDE) {
      if (cloneFails(message[i + 2])) {
        message[i + 2] = serializeError(
          new TypeError(
            `the task's ${message[i + 1] === TASK_OK ? 'result' : 'error'} cannot be sent back from the worker: ${describeUncloneable(message[i + 2])}`,
          ),
        );
        message[i + 1] = TASK_ERROR;
      }
    }
    send(message, transfer.length > 0 ? transfer : undefined);
  }
}

function cloneFails(value: unknown): boolean {
  try {
    structuredClone(value);
    return findUncloneable(value, !parentPort) !== undefined;
  } catch {
    return true;
  }
}

function describeUncloneable(value: unknown): string {
  try {
    const bad = findUncloneable(value, !parentPort);
    if (bad) return `result${bad.path} is ${bad.what}`;
    structuredClone(value);
    return 'structured clone refused it';
  } catch (error) {
    try {
      return `structured clone failed: ${(error as Error).message}`;
    } catch {
      return 'structured clone failed';
    }
  }
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null &&
  (typeof v === 'object' || typeof v === 'function') &&
  typeof (v as { then?: unknown }).then === 'function';

/** Calls `fn` on each item; returns synchronously unless an item's call returns a promise. */
function runChunk(fn: Fn, items: ArrayLike<unknown>, spread: boolean): ChunkOutcome | Promise<ChunkOutcome> {
  const started = performance.now();
  const values: unknown[] = [];
  const step = (from: number): ChunkOutcome | Promise<ChunkOutcome> => {
    for (let i = from; i < items.length; i++) {
      let value: unknown;
      try {
        value = spread ? fn(...(items[i] as unknown[])) : fn(items[i]);
      } catch (error) {
        return { values, error: serializeError(error) as ChunkOutcome['error'], ms: performance.now() - started };
      }
      if (isThenable(value)) {
        return Promise.resolve(value).then(
          (v) => {
            values.push(v);
            return step(i + 1);
          },
          (error) => ({
            values,
            error: serializeError(error) as ChunkOutcome['error'],
            ms: performance.now() - started,
          }),
        );
      }
      values.push(value);
    }
    const packed = packNumbers(values);
    if (packed instanceof Float64Array && parentPort) outboxTransfer.push(packed.buffer as ArrayBuffer);
    return { values: packed, ms: performance.now() - started };
  };
  return step(0);
}

/**
 * The task at the head of the queue needs something loaded first (its function, or the module
 * that rebuilds shared primitives): drain again once it is; if it cannot be, that task fails.
 */
function loadThenDrain(id: number, loading: Promise<unknown>, loaded: (value: unknown) => void): void {
  flush();
  loading.then(
    (value) => {
      loaded(value);
      drain();
    },
    (error) => {
      head += TASK_STRIDE;
      markEnded();
      reply(id, TASK_ERROR, serializeError(error), 0);
      drain();
    },
  );
}

function drain(): void {
  draining = true;
  while (head < queue.length) {
    const id = queue[head] as number;
    const key = queue[head + 1] as number;
    let args = queue[head + 2] as unknown[];
    const flags = queue[head + 3] as number;
    const chunk = (flags & TASK_CHUNK) !== 0;
    if ((flags & TASK_SHARED) !== 0) {
      if (!kinds) {
        loadThenDrain(
          id,
          ensureTsx().then(() => import(sharedKinds as string)),
          (loaded) => {
            kinds = loaded as typeof kinds;
          },
        );
        return;
      }
      args = kinds.reviveShared(args) as unknown[];
    }
    const fn = functions.get(key);
    if (fn === undefined) {
      const ref = references.get(key);
      loadThenDrain(
        id,
        ref ? loadFunction(ref) : Promise.reject(new Error(`unknown task reference ${key}`)),
        (loaded) => functions.set(key, loaded as Fn),
      );
      return;
    }
    head += TASK_STRIDE;
    if ((flags & TASK_BULKY) !== 0) bulkyTaken = true;
    if (aborted.delete(id)) {
      markEnded();
      reply(id, TASK_ERROR, serializeError(new Error('aborted before it started')), 0);
      continue;
    }
    running = { id, controller: undefined };
    markRunning();
    const started = performance.now();
    let value: unknown;
    try {
      value = chunk ? runChunk(fn, args, (flags & TASK_SPREAD) !== 0) : fn(...args);
    } catch (error) {
      running = undefined;
      markEnded();
      reply(id, TASK_ERROR, serializeError(error), performance.now() - started);
      continue;
    }
    if (isThenable(value)) {
      flush();
      Promise.resolve(value).then(
        (v) => {
          running = undefined;
          markEnded();
          reply(id, TASK_OK, v, performance.now() - started);
          drain();
        },
        (error) => {
          running = undefined;
          markEnded();
          reply(id, TASK_ERROR, serializeError(error), performance.now() - started);
          drain();
        },
      );
      return;
    }
    running = undefined;
    markEnded();
    reply(id, TASK_OK, value, performance.now() - started);
  }
  queue.length = 0;
  head = 0;
  draining = false;
  // Every task sent so far has run or been skipped: an id left here is an abort that crossed
  // its task's answer on the way, and must not be kept forever.
  aborted.clear();
  flush();
  if (bulkyTaken) {
    // Idle now, results sent: free the copies the tasks received before the next ones arrive.
    bulkyTaken = false;
    collectYoungGarbage();
  }
}

async function init(message: Extract<ToWorker, { t: 'init' }>): Promise<void> {
  openTaskState(message.taskState);
  if (message.parentWatchdog) startParentWatchdog();
  tsxApi = message.tsxApi;
  sharedKinds = message.sharedKinds;
  try {
    if (message.initializer) {
      const initializer = await loadFunction(message.initializer);
      await initializer(...message.initArgs);
    }
  } catch (error) {
    send({ t: 'init-error', error: serializeError(error) as Extract<ToMain, { t: 'init-error' }>['error'] });
    return;
  }
  initialized = true;
  send({ t: 'ready', heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20) });
  if (!draining) startDraining();
}

/**
 * Starts running the queue after taking in every message that has already arrived: an abort
 * sent right behind its task (the pool aborted it before this worker got to it) must stop it
 * before it starts, not after. Threads pull them synchronously; a child process has no
 * synchronous receive, so it lets the IPC messages already read be delivered first.
 */
function startDraining(): void {
  if (!parentPort) {
    draining = true;
    setImmediate(drain);
    return;
  }
  for (let next = receiveMessageOnPort(parentPort); next; next = receiveMessageOnPort(parentPort)) {
    onMessage(next.message as ToWorker);
  }
  if (!draining) drain();
}

function onMessage(message: ToWorker): void {
  if (Array.isArray(message)) {
    batchesReceived++;
    const refs = message[0] as [number, TaskReference][] | 0;
    if (refs) for (const [key, ref] of refs) references.set(key, ref);
    for (let i = 1; i < message.length; i++) queue.push(message[i]);
    if (!draining && initialized) startDraining();
    return;
  }
  switch (message.t) {
    case 'abort':
      if (running?.id === message.id) {
        running.controller ??= new AbortController();
        running.controller.abort(new Error('the task was aborted by the pool (timeout or signal)'));
      } else {
        aborted.add(message.id);
      }
      return;
    case 'init':
      void init(message);
      return;
    case 'stop':
      process.exit(0);
  }
}

// ---- dying: what the pool must hear before this worker is gone

// process.exit() inside a task (or anywhere): the results of the tasks that finished before it
// go out first, so only the task that called it fails (messages posted here still arrive).
process.on('exit', () => flush());
// An uncaught error (a throwing timer, an unhandled rejection) ends the worker: tell the pool
// what it was, so the task that fails with WorkerExitedError carries it as its cause. Node's own
// handling (print and exit, or the thread's 'error' event) goes on as usual after this.
process.on('uncaughtExceptionMonitor', (error) => {
  flush();
  send({ t: 'fatal', error: serializeError(error) as Extract<ToMain, { t: 'fatal' }>['error'] });
});

if (parentPort) {
  parentPort.on('message', onMessage);
  // A message that cannot be read (e.g. a detached buffer) must fail its tasks, not vanish.
  parentPort.on('messageerror', () => {
    flush();
    send({ t: 'unreadable', batch: batchesReceived++ });
  });
  // A thread gets its init message as workerData, before anything arrives on the port.
  if ((workerData as { t?: string } | undefined)?.t === 'init') onMessage(workerData as ToWorker);
} else {
  process.on('message', (message) => onMessage(message as ToWorker));
  // The parent is gone (crashed or killed): nobody will read our results.
  process.on('disconnect', () => process.exit(0));
}
