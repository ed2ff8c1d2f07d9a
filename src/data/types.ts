/**
 * The shapes that travel between the main thread and the workers: a partition job (a byte range
 * plus what to do with its rows), the columns a worker builds, and the partial results it sends
 * back. Everything here is structured-cloneable: plain objects, typed arrays, string arrays.
 */

/** A column type. Numbers never become JS strings on the parse path; strings are dictionary-encoded. */
export type Dtype = 'float64' | 'int32' | 'string';

/** One column of one partition, as a worker holds it. */
export type Column =
  | { readonly dtype: 'float64'; readonly values: Float64Array }
  | { readonly dtype: 'int32'; readonly values: Int32Array }
  /** `codes[i]` indexes `dict`; -1 is a missing value (an empty field). */
  | { readonly dtype: 'string'; readonly codes: Int32Array; readonly dict: readonly string[] };

/** Rows of one partition as columns, in a fixed order. */
export interface Table {
  readonly names: readonly string[];
  readonly columns: readonly Column[];
  readonly length: number;
}

/** A row as row functions see it: column name → number, string, or null for a missing string. */
export type Row = Record<string, number | string | null>;

/**
 * How a worker finds a row function: an export of a module (by URL: pools on this machine), the
 * source of a self-contained function (pools only), or, for `skein worker`s, an address: the
 * module's path relative to the project root, the hash of its bytes, and the export (no code and
 * no absolute path travels through Redis; see distributed-tasks.ts).
 */
export type FunctionReference =
  | { readonly kind: 'module'; readonly url: string; readonly path: readonly string[] }
  | { readonly kind: 'source'; readonly source: string }
  | { readonly kind: 'address'; readonly module: string; readonly version: string; readonly export: string };

/** One verb applied to each partition's rows, in order. */
export type Step =
  | { readonly kind: 'filter'; readonly fn: FunctionReference }
  | { readonly kind: 'assign'; readonly columns: readonly { name: string; fn: FunctionReference }[] }
  | { readonly kind: 'select'; readonly columns: readonly string[] }
  /** `fn(columns, info)` over a whole partition; `columns`: the names it must return, in order, with their kinds when declared. */
  | {
      readonly kind: 'mapPartitions';
      readonly fn: FunctionReference;
      readonly columns: readonly string[];
      readonly dtypes: readonly (Dtype | undefined)[];
    };

/** A reduction of `groupby().agg()`: `size` counts rows (of any column). */
export type AggOp = 'sum' | 'mean' | 'count' | 'min' | 'max' | 'first' | 'last' | 'size';

/** One output column of a reduction: `op` over `column` (size counts rows and has no column). */
export interface AggSpec {
  readonly column: string;
  readonly op: AggOp;
  readonly output: string;
}

/** What a partition's rows end in. */
export type Terminal =
  /** Every row comes back (as columns), or the first `limit` rows. */
  | { readonly kind: 'collect'; readonly limit?: number }
  /** Partial aggregates per group; no keys = one group (whole-frame sum, count). */
  | { readonly kind: 'groupby'; readonly keys: readonly string[]; readonly aggs: readonly AggSpec[] }
  /** count, mean, std, min, quantiles, max of these number columns (describe.ts). */
  | { readonly kind: 'describe'; readonly columns: readonly string[]; readonly percentiles: readonly number[] };

/** What a malformed row does: throw a CsvParseError, be skipped, or be skipped and listed in `result.badLines`. */
export type OnBadLines = 'error' | 'skip' | 'collect';

/** The parsed shape of a CSV, fixed on the main thread before any range is parsed. */
export interface CsvSchema {
  /** Absent or 'csv' (a JSON lines schema says 'jsonl'). */
  readonly format?: 'csv';
  readonly names: readonly string[];
  readonly dtypes: readonly Dtype[];
  readonly delimiter: number;
  readonly header: boolean;
  /** The header line's fields, for checking that every file has the same header. */
  readonly headerLine: readonly string[] | undefined;
}

/**
 * The shape of JSON lines files: one object per line, its fields read by name (jsonl-source.ts).
 * Fixed on the main thread, like a CSV schema.
 */
export interface JsonlSchema {
  readonly format: 'jsonl';
  /** The fields read, as column names, in order. */
  readonly names: readonly string[];
  readonly dtypes: readonly Dtype[];
}

/** Either kind of source schema; `format` tells them apart. */
export type SourceSchema = CsvSchema | JsonlSchema;

/** One byte range of one file: what a worker parses. */
export interface ByteRange {
  readonly file: string;
  readonly start: number;
  readonly end: number;
  readonly fileSize: number;
  /** The file's first range: it starts at a row (byte 0) and skips the header. */
  readonly first: boolean;
}

/** Everything one partition task needs. */
export interface PartitionJob {
  readonly range: ByteRange;
  /** Whether byte `range.start` lies inside a quoted field; `undefined`: the task guesses (csv-range.ts). */
  readonly startInQuotes: boolean | undefined;
  readonly schema: SourceSchema;
  /** Indexes (into schema.names) of the columns to build; the others are skipped unparsed. */
  readonly read: readonly number[];
  readonly steps: readonly Step[];
  readonly terminal: Terminal;
  readonly onBadLines: OnBadLines;
}

/** A line that did not parse; `line` is counted from the range's first byte until compute.ts fixes it. */
export interface BadLine {
  /** The file the row is in. */
  readonly file: string;
  /** 1-based line of the row's first byte. */
  line: number;
  /** 1-based field at fault, when one is (JSON lines: the field's place among the columns). */
  readonly column: number | undefined;
  /** The name of the column at fault (always set for JSON lines, where a field has no place on the line). */
  readonly field?: string | undefined;
  /** What was wrong. */
  readonly reason: string;
  /** The row as it is in the file. */
  readonly text: string;
}

/**
 * A text key column coded against its distinct values: group g's key is `values[codes[g]]`. What
 * the fused group-by and combinePartials send: 10,000 groups over 100 x 100 keys travel as 100
 * strings and a typed array per column, not 10,000 strings to check and clone.
 */
export interface CodedKeys {
  readonly codes: Int32Array;
  readonly values: (string | null)[];
}

/** A reduction's per-group state, one array per accumulator; groups in first-seen order. */
export interface GroupPartial {
  readonly kind: 'groups';
  readonly count: number;
  /** Per key column, its value for each group (numbers, strings with null for missing, or coded strings). */
  readonly keys: readonly (Float64Array | (string | null)[] | CodedKeys)[];
  /** Per AggSpec: sums, counts, or kept values (min, max, first, last). */
  readonly accs: readonly Accumulator[];
}

export type Accumulator =
  | { readonly op: 'sum' | 'count' | 'size'; readonly values: Float64Array }
  | { readonly op: 'mean'; readonly sums: Float64Array; readonly counts: Float64Array }
  | { readonly op: 'min' | 'max' | 'first' | 'last'; readonly values: Float64Array | (string | null)[] };

/** A partition's rows, as columns (strings decoded to arrays only on the main thread). */
export interface TablePartial {
  readonly kind: 'table';
  readonly table: Table;
}

/** Per-column summaries of a partition, for `describe()` (describe.ts). */
export interface DescribePartial {
  readonly kind: 'describe';
  readonly columns: readonly ColumnSummary[];
}

/**
 * A mergeable summary of one number column: exact count, mean and sum of squared deviations
 * (Chan et al.'s parallel update), min and max, and a quantile sketch: sorted values with weights,
 * all of weight 1 (exact) until there are more than the sketch's size, then equal-weight centroids.
 */
export interface ColumnSummary {
  readonly count: number;
  readonly mean: number;
  /** Sum of squared deviations from the mean. */
  readonly m2: number;
  readonly min: number;
  readonly max: number;
  readonly values: Float64Array;
  readonly weights: Float64Array;
}

/** A partial that a reduction tree combines. */
export type ReducePartial = GroupPartial | DescribePartial;

export type Partial = GroupPartial | TablePartial | DescribePartial;

/** What a partition task sends back. */
export interface PartitionResult {
  /** The quote state at `range.start` the task parsed with (its guess, or what it was told). */
  readonly startInQuotes: boolean;
  /** 1 when the range [start, end) holds an odd number of quote characters. */
  readonly quoteParity: 0 | 1;
  readonly rows: number;
  readonly partial: Partial;
  readonly badLines: readonly BadLine[];
}
