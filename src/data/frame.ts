/**
 * `Frame`: a lazy, partitioned table (Dask's DataFrame). Verbs record steps; nothing is read
 * until `compute()` or `head()`. A frame is immutable: each verb returns a new one.
 */
import { addressOf } from '../wire/task-address.js';
import { resolveTaskReference } from '../wire/task-reference.js';
import { type ComputeOptions, type Plan, runPlan } from './compute.js';
import type { PartitionFunction } from './map-partitions.js';
import type { DataResult } from './result.js';
import type {
  AggOp,
  AggSpec,
  ByteRange,
  Dtype,
  FunctionReference,
  OnBadLines,
  Row,
  SourceSchema,
  Step,
  Terminal,
} from './types.js';

/** Where a frame's rows come from. */
export interface FrameSource {
  readonly ranges: readonly ByteRange[];
  readonly schema: SourceSchema;
  readonly onBadLines: OnBadLines;
}

/** A row function: receives a row (column name → number, string, or null) and returns a value. */
export type RowFunction<R> = (row: Row) => R;

/** A step as the frame keeps it: functions resolved to references when the plan is built. */
type PendingStep =
  | { kind: 'filter'; fn: Promise<FunctionReference>; function: Function }
  | { kind: 'assign'; columns: { name: string; fn: Promise<FunctionReference>; function: Function }[] }
  | { kind: 'select'; columns: readonly string[] }
  | {
      kind: 'mapPartitions';
      fn: Promise<FunctionReference>;
      function: Function;
      columns: readonly string[];
      dtypes: readonly (Dtype | undefined)[];
    };

/** Column name → dtype; `undefined` for a column made by `assign` (its type is known only when it runs). */
type Columns = ReadonlyMap<string, Dtype | undefined>;

const OPS: readonly AggOp[] = ['sum', 'mean', 'count', 'min', 'max', 'first', 'last', 'size'];

function reference(fn: unknown, verb: string): Promise<FunctionReference> {
  if (typeof fn !== 'function')
    throw new TypeError(`${verb} needs a row function, got ${fn === null ? 'null' : typeof fn}`);
  // Throws now (CapturedVariableError, naming the variable) when the function cannot reach a worker.
  const ref = resolveTaskReference(fn, 'row function');
  return Promise.resolve(ref) as Promise<FunctionReference>;
}

/**
 * A lazy, partitioned table (Dask's DataFrame), made by `readCsv`. Verbs return new frames; nothing
 * is read until `compute()` or `head()`.
 */
export class Frame {
  /** @internal Made by readCsv and by the verbs. */
  constructor(
    private readonly source: FrameSource,
    private readonly steps: readonly PendingStep[],
    private readonly available: Columns,
    private readonly terminal: Terminal | undefined,
  ) {
    for (const step of steps) {
      if (step.kind === 'filter' || step.kind === 'mapPartitions') step.fn.catch(() => {});
      if (step.kind === 'assign') for (const c of step.columns) c.fn.catch(() => {});
    }
  }

  /** The column names, in order. */
  get columns(): string[] {
    return [...this.available.keys()];
  }

  private withStep(step: PendingStep, available: Columns = this.available): Frame {
    if (this.terminal) {
      throw new TypeError(
        'this frame is already a reduction (groupby/sum/count): compute() it, then work on the result',
      );
    }
    return new Frame(this.source, [...this.steps, step], available, undefined);
  }

  private checkColumns(names: readonly string[], verb: string): void {
    for (const name of names) {
      if (!this.available.has(name))
        throw new RangeError(`${verb}: no column "${name}" (columns: ${this.columns.join(', ')})`);
    }
  }

  /** Keeps the rows for which `fn(row)` is truthy. `fn` runs in the workers: export it, or make it self-contained. */
  filter(fn: RowFunction<unknown>): Frame {
    return this.withStep({ kind: 'filter', fn: reference(fn, 'filter'), function: fn });
  }

  /** Keeps these columns, in this order. */
  select(columns: readonly string[]): Frame {
    if (!Array.isArray(columns) || columns.length === 0)
      throw new TypeError('select needs a non-empty array of column names');
    this.checkColumns(columns, 'select');
    return this.withStep(
      { kind: 'select', columns: [...columns] },
      new Map(columns.map((c) => [c, this.available.get(c)])),
    );
  }

  /** Adds (or replaces) columns computed per row: `assign({ total: (row) => row.price * row.qty })`. */
  assign(columns: Record<string, RowFunction<number | string | null>>): Frame {
    const entries = Object.entries(columns ?? {});
    if (entries.length === 0) throw new TypeError('assign needs an object of column name → row function');
    const available = new Map(this.available);
    for (const [name] of entries) available.set(name, undefined);
    return this.withStep(
      {
        kind: 'assign',
        columns: entries.map(([name, fn]) => ({ name, fn: reference(fn, `assign "${name}"`), function: fn })),
      },
      available,
    );
  }

  /**
   * Runs `fn` over each partition as a whole (Dask's `map_partitions`): `fn(columns, info)` gets the
   * partition's columns (`{ name: Float64Array | Int32Array | (string | null)[] }`, as
   * `toColumns()` gives them) and returns new columns of one length (`{ name: Float64Array |
   * number[] | (string | null)[] }`) or rows (`[{ name: value }]`). `options.columns` declares what
   * it returns: names (`['id', 'total']`), or names with dtypes (`{ id: 'float64', key: 'string' }`),
   * which the shorthand reductions (`sum()`, `describe()`) need to tell number columns from text;
   * default: the frame's columns as they are, of any type. `fn` runs in the workers, so export it
   * or make it self-contained; it must not return a promise.
   */
  mapPartitions(
    fn: PartitionFunction,
    options: { columns?: readonly string[] | Readonly<Record<string, Dtype>> } = {},
  ): Frame {
    const declared = options.columns ?? this.columns;
    const columns = Array.isArray(declared) ? [...(declared as readonly string[])] : Object.keys(declared ?? {});
    const dtypes = Array.isArray(declared)
      ? columns.map(() => undefined)
      : columns.map((c) => (declared as Record<string, Dtype>)[c]);
    if (columns.length === 0 || columns.some((c) => typeof c !== 'string'))
      throw new TypeError(
        'mapPartitions: columns must be a non-empty array of the column names fn returns, or an object of name → dtype',
      );
    const duplicate = columns.find((name, i) => columns.indexOf(name) !== i);
    if (duplicate !== undefined) throw new RangeError(`mapPartitions: columns names "${duplicate}" twice`);
    for (const [c, dtype] of dtypes.entries()) {
      if (dtype !== undefined && !['float64', 'int32', 'string'].includes(dtype))
        throw new RangeError(
          `mapPartitions: the dtype of "${columns[c]}" must be 'float64', 'int32' or 'string', got ${JSON.stringify(dtype)}`,
        );
    }
    return this.withStep(
      { kind: 'mapPartitions', fn: reference(fn, 'mapPartitions'), function: fn, columns, dtypes },
      new Map(columns.map((c, i) => [c, dtypes[i]])),
    );
  }

  /** Groups rows by one or more key columns; then `.agg({...})`, `.sum()`, `.mean()`, ... */
  groupby(keys: string | readonly string[]): GroupBy {
    const list = typeof keys === 'string' ? [keys] : [...keys];
    if (list.length === 0) throw new TypeError('groupby needs at least one key column');
    this.checkColumns(list, 'groupby');
    return new GroupBy(this, list);
  }

  /** @internal A reduction of this frame. */
  reduce(keys: readonly string[], aggs: readonly AggSpec[]): Frame {
    if (this.terminal) throw new TypeError('this frame is already a reduction: compute() it first');
    for (const spec of aggs) {
      if (spec.op !== 'size') this.checkColumns([spec.column], 'agg');
      if ((spec.op === 'sum' || spec.op === 'mean') && this.available.get(spec.column) === 'string') {
        throw new TypeError(
          `agg: ${spec.op} of "${spec.column}" needs numbers, but it is a string column (use count, min, max, first or last)`,
        );
      }
    }
    const outputs = [...keys, ...aggs.map((a) => a.output)];
    const available = new Map<string, Dtype | undefined>(outputs.map((name) => [name, undefined]));
    return new Frame(this.source, this.steps, available, { kind: 'groupby', keys, aggs });
  }

  /** @internal Columns a shorthand reduction applies to. */
  valueColumns(exclude: readonly string[], numericOnly: boolean): string[] {
    return this.columns.filter((c) => !exclude.includes(c) && (!numericOnly || this.available.get(c) !== 'string'));
  }

  /** Whole-frame sum of every number column: one row. */
  sum(): Frame {
    return this.reduce(
      [],
      this.valueColumns([], true).map((column) => ({ column, op: 'sum', output: column })),
    );
  }

  /** Whole-frame count of non-missing values per column: one row. */
  count(): Frame {
    return this.reduce(
      [],
      this.valueColumns([], false).map((column) => ({ column, op: 'count', output: column })),
    );
  }

  /**
   * count, mean, std (sample, ddof 1), min, percentiles and max of every number column (pandas'
   * `describe()`): one row per statistic, named in the column `statistic`. count, mean, std, min
   * and max are exact; percentiles are exact up to 4,096 values per column and otherwise read from
   * a mergeable sketch, within about 0.1% of the ranks (describe.ts says how).
   */
  describe(options: { percentiles?: readonly number[] } = {}): Frame {
    if (this.terminal) throw new TypeError('this frame is already a reduction: compute() it first');
    const percentiles = [...(options.percentiles ?? [0.25, 0.5, 0.75])];
    for (const p of percentiles) {
      if (typeof p !== 'number' || !(p >= 0 && p <= 1))
        throw new RangeError(`describe: percentiles must be numbers from 0 to 1, got ${String(p)}`);
    }
    percentiles.sort((a, b) => a - b);
    const columns = this.valueColumns([], true);
    if (columns.length === 0)
      throw new TypeError(`describe needs a number column; the columns (${this.columns.join(', ')}) hold strings`);
    const available = new Map<string, Dtype | undefined>([
      ['statistic', 'string'],
      ...columns.map((c) => [c, 'float64'] as const),
    ]);
    return new Frame(this.source, this.steps, available, { kind: 'describe', columns, percentiles });
  }

  /** The first `n` rows, computed now (as Dask's `head`): reads partitions in order only until it has them. */
  head(n = 5, options?: ComputeOptions): Promise<DataResult> {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`head(n): n must be an integer >= 0, got ${String(n)}`);
    if (this.terminal) return this.compute(options);
    return this.run({ kind: 'collect', limit: n }, { maxInFlight: 2, ...options });
  }

  /** Runs the frame on the executor (default: a thread pool for this call) and gives the result. */
  compute(options?: ComputeOptions): Promise<DataResult> {
    return this.run(this.terminal ?? { kind: 'collect' }, options);
  }

  private async run(terminal: Terminal, options: ComputeOptions | undefined): Promise<DataResult> {
    // Known by name, so that skein/data never imports the Redis tier.
    const remote = options?.executor?.constructor.name === 'DistributedExecutor';
    const steps = await this.resolvedSteps(remote);
    const needed = this.readColumns(steps, terminal);
    const plan: Plan = {
      ranges: this.source.ranges,
      remote,
      job: {
        schema: this.source.schema,
        read: needed.map((name) => this.source.schema.names.indexOf(name)),
        steps,
        terminal,
        onBadLines: this.source.onBadLines,
      },
    };
    return runPlan(plan, options);
  }

  private async resolvedSteps(remote: boolean): Promise<Step[]> {
    const resolve = async (pending: Promise<FunctionReference>, fn: Function): Promise<FunctionReference> => {
      const ref = await pending;
      if (!remote) return ref;
      // No code travels through Redis: a row function reaches skein workers only as a module address.
      if (ref.kind === 'source') {
        throw new TypeError(
          `row function ${fn.name ? `"${fn.name}" ` : ''}sent to a DistributedExecutor must be exported from a module file (no code travels through Redis)`,
        );
      }
      const address = await addressOf(fn);
      return { kind: 'address', module: address.module, version: address.version, export: address.export };
    };
    const steps: Step[] = [];
    for (const step of this.steps) {
      if (step.kind === 'select') steps.push(step);
      else if (step.kind === 'filter') steps.push({ kind: 'filter', fn: await resolve(step.fn, step.function) });
      else if (step.kind === 'mapPartitions') {
        const fn = await resolve(step.fn, step.function);
        steps.push({ kind: 'mapPartitions', fn, columns: step.columns, dtypes: step.dtypes });
      } else {
        const columns = await Promise.all(
          step.columns.map(async (c) => ({ name: c.name, fn: await resolve(c.fn, c.function) })),
        );
        steps.push({ kind: 'assign', columns });
      }
    }
    return steps;
  }

  /**
   * Which file columns to parse: walking back from what the end needs, a select passes on only
   * its columns, while filter and assign need every column before them (a row function may read any).
   */
  private readColumns(steps: readonly Step[], terminal: Terminal): string[] {
    const names = this.source.schema.names;
    const availableBefore: string[][] = [];
    let current = [...names];
    for (const step of steps) {
      availableBefore.push(current);
      if (step.kind === 'select' || step.kind === 'mapPartitions') current = [...step.columns];
      else if (step.kind === 'assign')
        current = [...current, ...step.columns.map((c) => c.name).filter((n) => !current.includes(n))];
    }
    let needed = new Set(
      terminal.kind === 'groupby'
        ? [...terminal.keys, ...terminal.aggs.filter((a) => a.op !== 'size').map((a) => a.column)]
        : terminal.kind === 'describe'
          ? terminal.columns
          : current,
    );
    for (let i = steps.length - 1; i >= 0; i--) {
      const step = steps[i] as Step;
      // a select needs all its columns present (it looks each up); the others, every column
      needed = new Set(step.kind === 'select' ? step.columns : availableBefore[i]);
    }
    return names.filter((name) => needed.has(name));
  }
}

/** `frame.groupby(keys)`: pick the reductions. */
export class GroupBy {
  /** @internal */
  constructor(
    private readonly frame: Frame,
    private readonly keys: readonly string[],
  ) {}

  /** Named reductions per column: `agg({ price: 'sum', qty: ['min', 'max'] })` (a list names outputs `qty_min`, `qty_max`). */
  agg(spec: Record<string, AggOp | readonly AggOp[]>): Frame {
    const aggs: AggSpec[] = [];
    for (const [column, ops] of Object.entries(spec ?? {})) {
      const list = typeof ops === 'string' ? [ops] : ops;
      for (const op of list) {
        if (!OPS.includes(op))
          throw new RangeError(`agg: unknown reduction "${String(op)}" for "${column}" (use one of ${OPS.join(', ')})`);
        aggs.push({ column, op, output: typeof ops === 'string' ? column : `${column}_${op}` });
      }
    }
    if (aggs.length === 0) throw new TypeError("agg needs at least one column: agg({ column: 'sum' })");
    return this.frame.reduce(this.keys, aggs);
  }

  private every(op: AggOp, numericOnly: boolean): Frame {
    const columns = this.frame.valueColumns(this.keys, numericOnly);
    return this.frame.reduce(
      this.keys,
      columns.map((column) => ({ column, op, output: column })),
    );
  }

  /** Sum of every number column per group. */
  sum(): Frame {
    return this.every('sum', true);
  }
  /** Mean of every number column per group. */
  mean(): Frame {
    return this.every('mean', true);
  }
  /** Non-missing values of every column per group. */
  count(): Frame {
    return this.every('count', false);
  }
  /** Smallest value of every column per group. */
  min(): Frame {
    return this.every('min', false);
  }
  /** Largest value of every column per group. */
  max(): Frame {
    return this.every('max', false);
  }
  /** First non-missing value of every column per group. */
  first(): Frame {
    return this.every('first', false);
  }
  /** Last non-missing value of every column per group. */
  last(): Frame {
    return this.every('last', false);
  }
  /** Rows per group, as the column `size`. */
  size(): Frame {
    return this.frame.reduce(this.keys, [{ column: '', op: 'size', output: 'size' }]);
  }
}
