/**
 * `mapPartitions(fn)`, run in a worker on one partition: the partition's columns go to `fn` as
 * plain arrays (numbers as Float64Array / Int32Array, strings as arrays with null for missing, the
 * same shapes as a result's `toColumns()`), and what `fn` returns becomes the partition's table.
 *
 * `fn` returns either columns (`{ name: Float64Array | Int32Array | number[] | (string | null)[] }`,
 * all of one length) or rows (`[{ name: value }, ...]`). The names must be the frame's declared
 * columns (those given to mapPartitions, or, by default, the columns it had before), in any order.
 */
import type { Column, Dtype, Table } from './types.js';

/** A partition's columns as `fn` sees them. */
export type PartitionColumns = Record<string, Float64Array | Int32Array | (string | null)[]>;

/** Where a partition comes from, for a function that wants to know. */
export interface PartitionInfo {
  /** Rows in this partition. */
  readonly length: number;
  /** The file its rows are from. */
  readonly file: string;
  /** The byte offset in that file where its range starts. */
  readonly start: number;
}

/** What `fn` may return: columns by name, or one object per row. */
export type PartitionOutput =
  | Record<string, Float64Array | Int32Array | readonly number[] | readonly (string | null)[]>
  | readonly Record<string, number | string | null | undefined>[];

/** A function `mapPartitions` runs over each partition: its columns in, new columns (or rows) out, synchronously. */
export type PartitionFunction = (columns: PartitionColumns, info: PartitionInfo) => PartitionOutput;

function decode(column: Column): Float64Array | Int32Array | (string | null)[] {
  if (column.dtype !== 'string') return column.values;
  return Array.from(column.codes, (code) => (code < 0 ? null : (column.dict[code] as string)));
}

/** A column from plain values: numbers (null/undefined → NaN), or strings (null/undefined → missing). */
function encode(name: string, values: ArrayLike<unknown>, declared: Dtype | undefined): Column {
  if (values instanceof Float64Array) return { dtype: 'float64', values };
  if (values instanceof Int32Array) return { dtype: 'int32', values };
  // An empty plain array has no kind of its own: it takes the declared one.
  if (values.length === 0 && declared === 'string') return { dtype: 'string', codes: new Int32Array(0), dict: [] };
  const list = Array.from(values);
  if (list.some((v) => typeof v === 'string')) {
    const dict: string[] = [];
    const codes = new Map<string, number>();
    const out = new Int32Array(list.length);
    list.forEach((v, i) => {
      if (v === null || v === undefined) out[i] = -1;
      else if (typeof v !== 'string')
        throw new TypeError(`mapPartitions: column "${name}" mixes strings and ${typeof v}s; return one kind`);
      else {
        let code = codes.get(v);
        if (code === undefined) {
          code = dict.length;
          codes.set(v, code);
          dict.push(v);
        }
        out[i] = code;
      }
    });
    return { dtype: 'string', codes: out, dict };
  }
  return {
    dtype: 'float64',
    values: Float64Array.from(list, (v) => {
      if (v === null || v === undefined) return Number.NaN;
      if (typeof v === 'number' || typeof v === 'boolean') return Number(v);
      throw new TypeError(`mapPartitions: column "${name}" holds a ${typeof v}; return numbers, strings or null`);
    }),
  };
}

/** Runs `fn` over `table` and checks that it returned the declared columns, all of one length. */
export function mapPartition(
  table: Table,
  fn: PartitionFunction,
  declared: readonly string[],
  dtypes: readonly (Dtype | undefined)[],
  where: { file: string; start: number },
): Table {
  const input: PartitionColumns = {};
  table.names.forEach((name, c) => {
    input[name] = decode(table.columns[c] as Column);
  });
  const output: unknown = fn(input, { length: table.length, file: where.file, start: where.start });
  if (output instanceof Promise || (typeof output === 'object' && output !== null && 'then' in output)) {
    throw new TypeError('mapPartitions: the function returned a promise; it must return its columns (or rows) at once');
  }
  let columns: Record<string, ArrayLike<unknown>>;
  if (Array.isArray(output)) {
    const rows = output as Record<string, unknown>[];
    columns = Object.fromEntries(declared.map((name) => [name, rows.map((row) => row?.[name])]));
  } else if (output !== null && typeof output === 'object') {
    columns = output as Record<string, ArrayLike<unknown>>;
  } else {
    throw new TypeError(
      `mapPartitions: the function returned ${output === null ? 'null' : typeof output}; return columns or rows`,
    );
  }
  const names = Object.keys(columns);
  const missing = declared.filter((name) => !names.includes(name));
  const extra = names.filter((name) => !declared.includes(name));
  if (missing.length > 0 || extra.length > 0) {
    throw new RangeError(
      `mapPartitions: the function returned the columns [${names.join(', ')}] but the frame declares [${declared.join(', ')}]; ` +
        'pass the columns it returns: mapPartitions(fn, { columns: [...] })',
    );
  }
  const encoded = declared.map((name, c) => {
    const values = columns[name];
    if (values === null || typeof values !== 'object' || typeof values.length !== 'number')
      throw new TypeError(`mapPartitions: column "${name}" is not an array`);
    const column = encode(name, values, dtypes[c]);
    const dtype = dtypes[c];
    if (dtype !== undefined && (dtype === 'string') !== (column.dtype === 'string')) {
      throw new TypeError(
        `mapPartitions: column "${name}" is declared '${dtype}' but the function returned ${column.dtype === 'string' ? 'strings' : 'numbers'}`,
      );
    }
    return column;
  });
  const length = encoded[0] ? (encoded[0].dtype === 'string' ? encoded[0].codes.length : encoded[0].values.length) : 0;
  encoded.forEach((column, c) => {
    const n = column.dtype === 'string' ? column.codes.length : column.values.length;
    if (n !== length)
      throw new RangeError(
        `mapPartitions: column "${declared[c]}" has ${n} values but "${declared[0]}" has ${length}; return columns of one length`,
      );
  });
  return { names: [...declared], columns: encoded, length };
}
