/**
 * Running a frame's plan on an executor.
 *
 *   ranges ──submit, at most `maxInFlight` past the oldest unconfirmed──► runPartition (workers)
 *      results arrive in any order ─► confirmed in file order:
 *        the quote state at each range's start = running parity of the quotes before it;
 *        a range that speculated wrongly (its start was inside quotes) is submitted again;
 *        an error counts only once its range is confirmed (a wrong speculation may cause it)
 *      confirmed partials ─► the tree: `splitEvery` partials at a time ─► combineGroups (workers)
 *                                      ─► … ─► the last one ─► finalize (here)
 *
 * Memory stays bounded by the partitions in flight: nothing is submitted more than `maxInFlight`
 * ranges past the first one not yet confirmed, and a level of the tree holds fewer than
 * `splitEvery` partials before they are combined.
 */
import { availableParallelism } from 'node:os';
import { ThreadPoolExecutor } from '../executors/thread.js';
import type { Executor, Future } from '../futures/base.js';
import { countLines } from './csv-range.js';
import { statisticNames, statistics, summarize } from './describe.js';
import { combineDescribeRemotely, combineGroupsRemotely, runPartitionByAddress } from './distributed-tasks.js';
import { locateParseError } from './errors.js';
import { concatTables, DataResult, finalizeGroups } from './result.js';
import { headOf } from './table-ops.js';
import { combineDescribed, combineGroups, runPartition } from './tasks.js';
import type {
  BadLine,
  ByteRange,
  DescribePartial,
  GroupPartial,
  PartitionJob,
  PartitionResult,
  ReducePartial,
  Table,
} from './types.js';

/** Where a computation stands, for `progress`. */
export interface DataProgress {
  /** Partitions parsed and confirmed. */
  done: number;
  /** Partitions in all. */
  total: number;
  /** Partitions that failed (a failure ends the computation). */
  failed: number;
  /** Milliseconds since compute() began. */
  elapsedMs: number;
}

/** Options of `compute()` and `head()`. */
export interface ComputeOptions {
  /** Where partitions run: any skein Executor. Default: a ThreadPoolExecutor made (and shut down) for this call. */
  executor?: Executor;
  /** `true`: a line on stderr now and then; a function: called after each partition. */
  progress?: boolean | ((progress: DataProgress) => void);
  /** Partials combined at a time (Dask's split_every). Default 8. */
  splitEvery?: number;
  /** Partitions in flight at most (this bounds memory). Default: twice the cores. */
  maxInFlight?: number;
}

/** What compute needs from a frame: the ranges and a job for each, minus the range and quote state. */
export interface Plan {
  readonly ranges: readonly ByteRange[];
  /** On `skein worker`s: the tasks of distributed-tasks.ts (row functions by address only). */
  readonly remote: boolean;
  readonly job: Omit<PartitionJob, 'range' | 'startInQuotes'>;
}

/** A task's outcome; `inQuotes` is the start state it used (unknown for a failed task that guessed it). */
type Settled =
  | { ok: true; value: PartitionResult; inQuotes: boolean }
  | { ok: false; error: unknown; inQuotes: boolean | undefined };

/** Counts lines before offsets that only grow (ranges are confirmed in file order). */
class LineCounter {
  private file = '';
  private offset = 0;
  private lines = 0;

  before(file: string, offset: number): number {
    if (file !== this.file || offset < this.offset) {
      this.file = file;
      this.offset = 0;
      this.lines = 0;
    }
    // Counting from 0 each time would be quadratic over many bad ranges: count the gap only.
    this.lines += countLines(file, this.offset, offset);
    this.offset = offset;
    return this.lines;
  }
}

function checkCount(name: string, value: number | undefined, min: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min)) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
}

/** Runs `plan` and gives its result. */
export async function runPlan(plan: Plan, options: ComputeOptions = {}): Promise<DataResult> {
  checkCount('splitEvery', options.splitEvery, 2);
  checkCount('maxInFlight', options.maxInFlight, 1);
  const owned = options.executor === undefined ? new ThreadPoolExecutor() : undefined;
  const executor = options.executor ?? (owned as Executor);
  try {
    return await new Computation(plan, executor, options).run();
  } finally {
    await owned?.shutdown();
  }
}

class Computation {
  private readonly ranges: readonly ByteRange[];
  private readonly outcomes = new Map<number, Settled>();
  private readonly running = new Map<number, Future<PartitionResult>>();
  private readonly splitEvery: number;
  private readonly window: number;
  private readonly started = performance.now();
  private readonly levels: Promise<ReducePartial>[][] = [];
  private readonly tables: Table[] = [];
  private readonly badLines: BadLine[] = [];
  private readonly lines = new LineCounter();
  private next = 0;
  private confirmed = 0;
  private inQuotes = false;
  private rows = 0;
  private lastReport = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly plan: Plan,
    private readonly executor: Executor,
    private readonly options: ComputeOptions,
  ) {
    this.ranges = plan.ranges;
    this.splitEvery = options.splitEvery ?? 8;
    this.window = options.maxInFlight ?? 2 * availableParallelism();
  }

  private get limitReached(): boolean {
    const t = this.plan.job.terminal;
    return t.kind === 'collect' && t.limit !== undefined && this.rows >= t.limit;
  }

  private submit(index: number, guess: boolean | undefined): void {
    const range = this.ranges[index] as ByteRange;
    const inQuotes = range.first ? false : guess; // a file's first range starts at a row
    const job: PartitionJob = { ...this.plan.job, range, startInQuotes: inQuotes };
    const future = this.executor.submit(this.plan.remote ? runPartitionByAddress : runPartition, job);
    this.running.set(index, future);
    future.then(
      (value) => this.settle(index, { ok: true, value, inQuotes: value.startInQuotes }),
      (error: unknown) => this.settle(index, { ok: false, error, inQuotes }),
    );
  }

  private settle(index: number, outcome: Settled): void {
    this.running.delete(index);
    this.outcomes.set(index, outcome);
    this.wake?.();
  }

  async run(): Promise<DataResult> {
    try {
      while (this.confirmed < this.ranges.length && !this.limitReached) {
        while (this.next < this.ranges.length && this.next < this.confirmed + this.window)
          this.submit(this.next++, undefined);
        if (!this.outcomes.has(this.confirmed)) {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
          });
          this.wake = undefined;
        }
        this.confirmInOrder();
      }
    } catch (error) {
      await this.abandon();
      throw error;
    }
    await this.abandon(); // after head(n) was satisfied: the partitions still running are not needed
    this.report(true);
    const terminal = this.plan.job.terminal;
    if (terminal.kind === 'collect') return concatTables(this.tables, this.badLines);
    const last = await this.finalPartial();
    if (terminal.kind === 'describe') {
      const { columns } = last as DescribePartial;
      return new DataResult(
        ['statistic', ...terminal.columns],
        [statisticNames(terminal.percentiles), ...columns.map((c) => statistics(c, terminal.percentiles))],
        this.badLines,
      );
    }
    return finalizeGroups(last as GroupPartial, terminal.keys, terminal.aggs, this.badLines);
  }

  /** Confirms the ranges whose outcome is known, in order, from the oldest. */
  private confirmInOrder(): void {
    for (let outcome = this.outcomes.get(this.confirmed); outcome; outcome = this.outcomes.get(this.confirmed)) {
      const range = this.ranges[this.confirmed] as ByteRange;
      const state = range.first ? false : this.inQuotes;
      if (outcome.inQuotes !== state) {
        // It guessed the wrong quote state at its start (or failed after guessing): run it again with the right one.
        this.outcomes.delete(this.confirmed);
        this.submit(this.confirmed, state);
        return;
      }
      if (!outcome.ok) throw this.locate(outcome.error, range);
      this.outcomes.delete(this.confirmed);
      this.inQuotes = state !== (outcome.value.quoteParity === 1);
      this.fold(outcome.value, range);
      this.confirmed++;
      this.report(false);
      if (this.limitReached) return;
    }
  }

  private fold(result: PartitionResult, range: ByteRange): void {
    if (result.badLines.length > 0) {
      const before = this.lines.before(range.file, range.start);
      for (const bad of result.badLines) this.badLines.push({ ...bad, line: bad.line + before });
    }
    this.rows += result.rows;
    if (result.partial.kind === 'table') {
      const t = this.plan.job.terminal;
      this.tables.push(result.partial.table);
      if (t.kind === 'collect' && t.limit !== undefined && this.rows > t.limit) {
        const last = this.tables.pop() as Table;
        const keep = last.length - (this.rows - t.limit);
        this.tables.push(headOf(last, keep));
        this.rows = t.limit;
      }
      return;
    }
    this.addToLevel(0, Promise.resolve(result.partial));
  }

  private addToLevel(level: number, partial: Promise<ReducePartial>): void {
    partial.catch(() => {}); // observed here; awaited (and its error thrown) by the level above or the end
    if (this.levels[level] === undefined) this.levels[level] = [];
    const row = this.levels[level];
    row.push(partial);
    if (row.length < this.splitEvery) return;
    const batch = row.splice(0);
    this.addToLevel(level + 1, this.combine(batch));
  }

  private async combine(batch: Promise<ReducePartial>[]): Promise<ReducePartial> {
    const partials = await Promise.all(batch);
    const terminal = this.plan.job.terminal;
    if (terminal.kind === 'describe') {
      const described = partials as DescribePartial[];
      return this.executor.submit(this.plan.remote ? combineDescribeRemotely : combineDescribed, described);
    }
    if (terminal.kind !== 'groupby') throw new Error('combine needs a group-by or a describe');
    const groups = partials as GroupPartial[];
    return this.executor.submit(this.plan.remote ? combineGroupsRemotely : combineGroups, groups, [...terminal.aggs]);
  }

  /** What is left in the tree, highest level first (it holds the earliest partitions), combined once more. */
  private async finalPartial(): Promise<ReducePartial> {
    const rest = this.levels.toReversed().flat();
    if (rest.length === 1) return rest[0] as Promise<ReducePartial>;
    if (rest.length === 0) return emptyPartial(this.plan.job.terminal);
    return this.combine(rest);
  }

  /** The error with the file's line number, when it is a parse error counted from its range. */
  private locate(error: unknown, range: ByteRange): unknown {
    return locateParseError(error, () => this.lines.before(range.file, range.start));
  }

  /** Cancels what has not started and waits for what runs: no task is left behind. */
  private async abandon(): Promise<void> {
    const running = [...this.running.values()];
    for (const future of running) future.cancel();
    await Promise.allSettled(running);
    await Promise.allSettled(this.levels.flat());
  }

  private report(final: boolean): void {
    const progress = this.options.progress;
    if (!progress) return;
    const state: DataProgress = {
      done: this.confirmed,
      total: this.ranges.length,
      failed: 0,
      elapsedMs: performance.now() - this.started,
    };
    if (typeof progress === 'function') progress(state);
    else if (final || state.elapsedMs - this.lastReport > 2000) {
      this.lastReport = state.elapsedMs;
      process.stderr.write(`partitions: ${state.done}/${state.total} (${(state.elapsedMs / 1000).toFixed(1)} s)\n`);
    }
  }
}

/** The partial of no rows at all (no ranges, e.g. only empty files). */
function emptyPartial(terminal: Plan['job']['terminal']): ReducePartial {
  if (terminal.kind === 'describe') return { kind: 'describe', columns: terminal.columns.map(() => summarize([])) };
  if (terminal.kind !== 'groupby') throw new Error('a group-by was expected');
  return {
    kind: 'groups',
    count: 0,
    keys: terminal.keys.map(() => []),
    accs: terminal.aggs.map((spec) =>
      spec.op === 'mean'
        ? { op: 'mean', sums: new Float64Array(0), counts: new Float64Array(0) }
        : { op: spec.op, values: new Float64Array(0) },
    ),
  };
}
