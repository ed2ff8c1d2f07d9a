/**
 * joblib's `Parallel(n_jobs)(delayed(f)(x) for x in xs)`: independent calls, run in batches.
 *
 *   tasks (array or iterable, read lazily) ──batch of `size` calls──► one task on the pool
 *     (runner.ts runs the calls in a row in the worker and says how long they took there)
 *   at most `preDispatch` batches out at once; with 'generator'/'unordered', results waiting to
 *   be read count against that too, so a slow reader slows the reading of the input.
 *
 * Auto batch size, as joblib's AutoBatchingMixin: start at 1 call, then size each batch from the
 * measured time per call so that it holds about AUTO_TARGET_MS of work (between ~50 and ~200 ms),
 * growing at most 8x per step (a first timing of a single call is noisy) and never so large that
 * a known-length input is cut into fewer than 4 batches per worker.
 */
import { availableParallelism } from 'node:os';
import { ProcessPoolExecutor } from '../executors/process.js';
import { ThreadPoolExecutor } from '../executors/thread.js';
import type { Executor, Future } from '../futures/base.js';
import { checkOptions, optionKeys, shownValue } from '../futures/options.js';
import { type ProgressOption, type ProgressReporter, progressReporter } from '../progress/reporter.js';
import { deserializeError } from '../wire/errors.js';
import { Delayed } from './delayed.js';
import { checkExecutor, groupCapacity, referencesOf } from './executors.js';
import { type GroupFunctionReference, type GroupResult, runGraphGroup } from './runner.js';

/** Options of `parallel` (joblib's `Parallel(...)` arguments). */
export interface ParallelOptions {
  /** Workers: a positive count, or -1 for every core (-2 every core but one, as joblib). Default -1. */
  nJobs?: number;
  /** `'thread'` (default) or `'process'`: a pool of `nJobs` made for this call and shut down after; or any Executor (kept open). */
  backend?: 'thread' | 'process' | Executor;
  /** Calls per task, or `'auto'` (default): sized from measured time, ~100 ms of work per batch. */
  batchSize?: number | 'auto';
  /** `'array'` (default): a promise of every result in order; `'generator'`: an async iterator in order; `'unordered'`: as they finish. */
  returnAs?: 'array' | 'generator' | 'unordered';
  /** Batches out at once (joblib's `pre_dispatch`, counted in batches). Default 2 per worker. */
  preDispatch?: number;
  /** `true`: a progress bar on stderr; a function: receives `{ done, total, failed, elapsedMs }`. */
  progress?: ProgressOption;
}

/** The option names of `parallel` (an unknown one is a TypeError, as in Python). */
export const PARALLEL_OPTION_KEYS = optionKeys<ParallelOptions>({
  nJobs: true,
  backend: true,
  batchSize: true,
  returnAs: true,
  preDispatch: true,
  progress: true,
});

const AUTO_TARGET_MS = 100;
const AUTO_GROWTH = 8;
/**
 * Calls per batch at most with 'auto': past this, a batch of tiny calls gains nothing (the message
 * cost is already spread thin) and its objects outgrow V8's young generation, which makes the main
 * thread's garbage collection several times dearer.
 */
const MAX_AUTO_BATCH = 16_384;

type Call = Delayed<unknown>;

/** What a delayed call gives (for a list of different calls, the union of their results). */
export type ResultOf<T> = T extends Delayed<infer R> ? R : never;

interface Batch {
  readonly start: number;
  readonly calls: Call[];
}

const NO_LINKS = new Int32Array(0);

function workerCount(nJobs: number | undefined): number {
  const n = nJobs ?? -1;
  if (!Number.isInteger(n) || n === 0) {
    throw new RangeError(`nJobs must be a non-zero integer (a count, or -1 for every core), got ${shownValue(nJobs)}`);
  }
  if (n > 0) return n;
  return Math.max(1, availableParallelism() + 1 + n);
}

/** Checks every option before anything starts (no pool is made for a call that is refused); returns the worker count. */
function checkParallelOptions(options: ParallelOptions): number {
  checkOptions('parallel(tasks, options)', options, PARALLEL_OPTION_KEYS);
  const workers = workerCount(options.nJobs);
  const { batchSize, preDispatch, returnAs, backend } = options;
  if (batchSize !== undefined && batchSize !== 'auto' && !(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new RangeError(`batchSize must be 'auto' or an integer >= 1, got ${shownValue(batchSize)}`);
  }
  if (preDispatch !== undefined && !(Number.isInteger(preDispatch) && preDispatch >= 1)) {
    throw new RangeError(`preDispatch must be an integer >= 1 (batches in flight), got ${shownValue(preDispatch)}`);
  }
  if (returnAs !== undefined && returnAs !== 'array' && returnAs !== 'generator' && returnAs !== 'unordered') {
    throw new RangeError(`returnAs must be 'array', 'generator' or 'unordered', got ${shownValue(returnAs)}`);
  }
  if (backend !== undefined && backend !== 'thread' && backend !== 'process') checkExecutor(backend, 'parallel');
  return workers;
}

function checkCall(task: unknown, position: number): Call {
  if (!(task instanceof Delayed)) {
    throw new TypeError(
      `parallel: task ${position} is not a delayed call (${task === null ? 'null' : typeof task}); write tasks as delayed(fn)(...args)`,
    );
  }
  if (task.dependencies.length > 0) {
    throw new TypeError(
      `parallel: task ${position} (${task.name}) has another delayed call among its arguments; parallel runs independent calls: use compute() for a graph`,
    );
  }
  return task;
}

/** The state of one `parallel` call: reads tasks, sends batches, hands results to `onResults`. */
class ParallelRun {
  private readonly executor: Executor;
  private readonly ownsExecutor: boolean;
  private readonly capacity: number | undefined;
  private readonly preDispatch: number;
  private readonly fixedSize: number | undefined;
  private readonly total: number | undefined;
  private readonly array: readonly unknown[] | undefined;
  private readonly iterator: Iterator<unknown> | AsyncIterator<unknown>;
  private readonly progress: ProgressReporter | undefined;
  private readonly refs = new Map<Function, GroupFunctionReference>();
  private readonly inFlight = new Set<Future<unknown>>();
  private size = 1;
  private read = 0;
  private settled = 0;
  private exhausted = false;
  private pumping = false;
  private closed = false;
  /** Results handed out but not yet consumed (generator modes), in batches. */
  pendingBatches = 0;
  error: unknown;
  failed = false;
  /** Set by `stop()`: the reader left; nothing more is read, sent or handed out. */
  stopped = false;

  constructor(
    tasks: Iterable<unknown> | AsyncIterable<unknown>,
    options: ParallelOptions,
    private readonly lazy: boolean,
    private readonly onResults: (start: number, values: ArrayLike<unknown>) => void,
    private readonly onEnd: () => void,
  ) {
    const workers = checkParallelOptions(options);
    const backend = options.backend ?? 'thread';
    if (backend === 'thread' || backend === 'process') {
      this.executor =
        backend === 'thread'
          ? new ThreadPoolExecutor({ maxWorkers: workers, name: 'skein-parallel' })
          : new ProcessPoolExecutor({ maxWorkers: workers, name: 'skein-parallel' });
      this.ownsExecutor = true;
    } else {
      this.executor = checkExecutor(backend, 'parallel');
      this.ownsExecutor = false;
    }
    this.capacity = groupCapacity(this.executor);
    this.fixedSize = options.batchSize === 'auto' ? undefined : options.batchSize;
    if (this.fixedSize !== undefined) this.size = this.fixedSize;
    this.preDispatch = options.preDispatch ?? 2 * (this.capacity ?? workers);
    this.total = Array.isArray(tasks) ? tasks.length : undefined;
    this.array = Array.isArray(tasks) ? (tasks as readonly unknown[]) : undefined;
    if (Symbol.iterator in tasks) this.iterator = (tasks as Iterable<unknown>)[Symbol.iterator]();
    else if (Symbol.asyncIterator in tasks) this.iterator = (tasks as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    else throw new TypeError('parallel: tasks must be an array or an iterable of delayed calls');
    this.progress = progressReporter(options.progress, 'parallel', this.total);
  }

  /** Sends batches while there is room; re-entered after each settle (one pump at a time). */
  async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.failed && !this.exhausted && this.inFlight.size + this.pendingBatches < this.preDispatch) {
        const batch = await this.nextBatch();
        if (batch.calls.length > 0) await this.submit(batch);
      }
    } catch (error) {
      this.fail(error);
    } finally {
      this.pumping = false;
    }
    this.checkEnd();
  }

  private async nextBatch(): Promise<Batch> {
    const calls: Call[] = [];
    const start = this.read;
    const limit = this.capacity === undefined ? 1 : this.size;
    const array = this.array;
    if (array) {
      // An array: sliced by index, no iterator step per call (a million calls is the bench's case).
      const end = Math.min(array.length, start + limit);
      for (let i = start; i < end; i++) calls.push(checkCall(array[i], i));
      this.read = end;
      if (end === array.length) this.exhausted = true;
      return { start, calls };
    }
    while (calls.length < limit) {
      let step = this.iterator.next();
      if (step instanceof Promise) step = await step;
      const result = step as IteratorResult<unknown>;
      if (result.done) {
        this.exhausted = true;
        this.progress?.setTotal(this.read);
        break;
      }
      calls.push(checkCall(result.value, this.read));
      this.read++;
    }
    return { start, calls };
  }

  private async submit(batch: Batch): Promise<void> {
    let future: Future<unknown>;
    if (this.capacity === undefined) {
      const call = batch.calls[0] as Call;
      future = this.executor.submit(call.fn, ...call.args);
    } else {
      let missing: Set<Function> | undefined;
      let known: Function | undefined;
      for (const call of batch.calls) {
        // Calls of one function usually come in a row: the map is asked only when it changes.
        if (call.fn === known || this.refs.has(call.fn)) {
          known = call.fn;
          continue;
        }
        missing ??= new Set();
        missing.add(call.fn);
      }
      if (missing) for (const [fn, ref] of await referencesOf(missing)) this.refs.set(fn, ref);
      future = this.executor.submit(runGraphGroup, this.group(batch.calls)) as Future<unknown>;
    }
    // Only numbers from here on: the calls themselves are not kept while the batch runs, so a
    // big batch's objects die young (cheap to collect) instead of being promoted.
    const { start } = batch;
    const size = batch.calls.length;
    this.inFlight.add(future);
    future.then(
      (result) => {
        this.inFlight.delete(future);
        if (this.failed) return;
        const failedAt = this.capacity === undefined ? undefined : (result as GroupResult).failedAt;
        if (failedAt !== undefined) {
          this.progress?.tick(failedAt, 1);
          this.fail(deserializeError((result as GroupResult).error));
          return;
        }
        const values = this.capacity === undefined ? [result] : (result as GroupResult).values;
        if (this.capacity !== undefined) this.resize((result as GroupResult).ms, size);
        this.settled += size;
        this.progress?.tick(size);
        if (this.lazy) this.pendingBatches++;
        this.onResults(start, values);
        void this.pump();
      },
      (error: unknown) => {
        this.inFlight.delete(future);
        this.progress?.tick(0, size);
        this.fail(error);
      },
    );
  }

  /** One batch in runner.ts's wire form: flat arguments, packed when they are all numbers. */
  private group(calls: Call[]) {
    const fnIndex = new Map<Function, number>();
    const fns: GroupFunctionReference[] = [];
    const fn = new Uint32Array(calls.length);
    const argc = new Uint32Array(calls.length);
    let count = 0;
    let numbers = true;
    let last: Function | undefined;
    let lastIndex = 0;
    for (let k = 0; k < calls.length; k++) {
      const call = calls[k] as Call;
      // Calls of one function usually come in a row: the map is asked only when it changes.
      if (call.fn !== last) {
        let f = fnIndex.get(call.fn);
        if (f === undefined) {
          f = fns.length;
          fnIndex.set(call.fn, f);
          fns.push(this.refs.get(call.fn) as GroupFunctionReference);
        }
        last = call.fn;
        lastIndex = f;
      }
      fn[k] = lastIndex;
      const callArgs = call.args;
      const n = callArgs.length;
      argc[k] = n;
      count += n;
      for (let a = 0; numbers && a < n; a++) if (typeof callArgs[a] !== 'number') numbers = false;
    }
    // The arguments, flat: straight into a Float64Array when all are numbers (no array in between).
    const args: Float64Array | unknown[] = numbers ? new Float64Array(count) : new Array(count);
    let at = 0;
    for (let k = 0; k < calls.length; k++) {
      const callArgs = (calls[k] as Call).args;
      for (let a = 0; a < callArgs.length; a++) args[at++] = callArgs[a] as number;
    }
    return {
      fns,
      fn: fns.length === 1 ? (0 as const) : fn,
      argc,
      args,
      links: NO_LINKS,
      deepLinks: 0 as const,
      outputs: 0 as const,
    };
  }

  private resize(ms: number, calls: number): void {
    if (this.fixedSize !== undefined) return;
    const perCall = Math.max(ms / calls, 1e-6);
    let next = Math.round(AUTO_TARGET_MS / perCall);
    next = Math.min(next, this.size * AUTO_GROWTH, MAX_AUTO_BATCH);
    if (this.total !== undefined) next = Math.min(next, Math.ceil(this.total / (4 * (this.capacity ?? 1))));
    this.size = Math.max(1, next);
  }

  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.error = error;
    for (const future of this.inFlight) future.cancel();
    this.checkEnd();
  }

  private checkEnd(): void {
    if (this.closed) return;
    if (this.failed || (this.exhausted && this.inFlight.size === 0 && !this.pumping)) {
      this.closed = true;
      this.progress?.finish();
      this.onEnd();
    }
  }

  /** Stops reading and sending (a generator left early); the results in flight are dropped. */
  stop(): void {
    if (this.closed) return;
    this.failed = true;
    this.stopped = true;
    for (const future of this.inFlight) future.cancel();
    this.closed = true;
    this.progress?.finish();
    void (this.iterator as Iterator<unknown>).return?.();
  }

  /** Shuts down the pool made for this call (no-op for an executor the caller passed). */
  async close(): Promise<void> {
    if (this.ownsExecutor) await this.executor.shutdown({ cancelFutures: true });
  }

  get count(): number {
    return this.settled;
  }
}

/** Results collected into an array in input order. */
async function parallelArray(tasks: Iterable<unknown> | AsyncIterable<unknown>, options: ParallelOptions) {
  // Batches finish in any order: kept as they come and put in order once at the end (writing
  // each value at its index as it arrives would make a sparse, slow array).
  const batches: { start: number; values: ArrayLike<unknown> }[] = [];
  let run: ParallelRun | undefined;
  try {
    await new Promise<void>((resolve) => {
      run = new ParallelRun(tasks, options, false, (start, values) => void batches.push({ start, values }), resolve);
      void run.pump();
    });
    if (run?.failed) throw run.error;
    batches.sort((a, b) => a.start - b.start);
    const results: unknown[] = [];
    for (const { values } of batches) for (let k = 0; k < values.length; k++) results.push(values[k]);
    return results;
  } finally {
    await run?.close();
  }
}

/** Results as an async iterator, in input order (`ordered`) or as batches finish. */
function parallelIterator(
  tasks: Iterable<unknown> | AsyncIterable<unknown>,
  options: ParallelOptions,
  ordered: boolean,
): AsyncIterableIterator<unknown> {
  const ready = new Map<number, ArrayLike<unknown>>(); // batch start → values
  const arrivals: number[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const run = new ParallelRun(
    tasks,
    options,
    true,
    (start, values) => {
      ready.set(start, values);
      arrivals.push(start);
      wake?.();
    },
    () => {
      ended = true;
      wake?.();
    },
  );
  let started = false;
  let current: { values: ArrayLike<unknown>; index: number } | undefined;
  let nextStart = 0;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= run.close();
    return closing;
  };

  const takeBatch = (): boolean => {
    let start: number | undefined;
    if (ordered) start = ready.has(nextStart) ? nextStart : undefined;
    else start = arrivals.find((s) => ready.has(s));
    if (start === undefined) return false;
    const values = ready.get(start) as ArrayLike<unknown>;
    ready.delete(start);
    if (!ordered) arrivals.splice(arrivals.indexOf(start), 1);
    nextStart = start + values.length;
    current = { values, index: 0 };
    run.pendingBatches--;
    void run.pump(); // a consumed batch makes room for another
    return true;
  };

  const next = async (): Promise<IteratorResult<unknown>> => {
    if (!started) {
      started = true;
      void run.pump();
    }
    for (;;) {
      if (current && current.index < current.values.length) {
        return { value: current.values[current.index++], done: false };
      }
      current = undefined;
      if (run.stopped) return { value: undefined, done: true };
      if (run.failed) {
        await close();
        throw run.error;
      }
      if (takeBatch()) continue;
      if (ended) {
        await close();
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  };

  return {
    next,
    async return(): Promise<IteratorResult<unknown>> {
      run.stop();
      await close();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/**
 * joblib's `Parallel(n_jobs=...)(delayed(f)(x) for x in xs)`: runs independent `delayed` calls
 * on a pool, in automatically sized batches. Resolves the results in input order; with
 * `returnAs: 'generator'` (in order) or `'unordered'` (as they finish) gives a lazy async
 * iterator instead, which reads the input only as results are consumed. The first error rejects
 * (or is thrown by the iterator) and stops the rest.
 */
export function parallel<T extends Delayed<unknown>>(
  tasks: Iterable<T> | AsyncIterable<T>,
  options?: ParallelOptions & { returnAs?: 'array' },
): Promise<ResultOf<T>[]>;
export function parallel<T extends Delayed<unknown>>(
  tasks: Iterable<T> | AsyncIterable<T>,
  options: ParallelOptions & { returnAs: 'generator' | 'unordered' },
): AsyncIterableIterator<ResultOf<T>>;
export function parallel(
  tasks: Iterable<unknown> | AsyncIterable<unknown>,
  options: ParallelOptions = {},
): Promise<unknown[]> | AsyncIterableIterator<unknown> {
  if (tasks === null || typeof tasks !== 'object' || !(Symbol.iterator in tasks || Symbol.asyncIterator in tasks)) {
    throw new TypeError('parallel: tasks must be an array or an iterable of delayed calls');
  }
  checkParallelOptions(options);
  const returnAs = options.returnAs ?? 'array';
  return returnAs === 'array'
    ? parallelArray(tasks, options)
    : parallelIterator(tasks, options, returnAs === 'generator');
}
