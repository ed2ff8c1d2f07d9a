/**
 * What `compute()` gives: a columnar result in the main thread (Dask's `.compute()` gives a pandas
 * DataFrame). Number columns are Float64Arrays (or Int32Arrays for int32 columns), string columns
 * arrays of strings with null for missing values.
 */
import type { Table as ArrowTable } from 'apache-arrow';
import { keyValues } from './aggregate.js';
import { toArrowIpc, toArrowTable } from './arrow.js';
import type { AggSpec, BadLine, Column, GroupPartial, Table } from './types.js';

/** A result column: numbers (Float64Array, or Int32Array for an int32 column) or strings with null for missing. */
export type ResultColumn = Float64Array | Int32Array | (string | null)[];

/** The result of `compute()` or `head()`: named columns in the main thread (Dask gives a pandas DataFrame). */
export class DataResult {
  /** The rows that did not parse, with `onBadLines: 'collect'` (empty otherwise). */
  readonly badLines: readonly BadLine[];

  /** @internal Built by compute(). */
  constructor(
    /** Column names, in order. */
    readonly names: readonly string[],
    private readonly columns: readonly ResultColumn[],
    badLines: readonly BadLine[] = [],
  ) {
    this.badLines = badLines;
  }

  /** Number of rows. */
  get length(): number {
    return this.columns[0]?.length ?? 0;
  }

  /** Column name → values. */
  toColumns(): Record<string, ResultColumn> {
    return Object.fromEntries(this.names.map((name, i) => [name, this.columns[i] as ResultColumn]));
  }

  /** One plain object per row. */
  toRows(): Record<string, number | string | null>[] {
    return Array.from({ length: this.length }, (_, r) => {
      const row: Record<string, number | string | null> = {};
      this.names.forEach((name, c) => {
        row[name] = (this.columns[c] as ResultColumn)[r] as number | string | null;
      });
      return row;
    });
  }

  /**
   * The result as an Apache Arrow `Table` (number columns as Float64 with NaN as null, or Int32;
   * strings as Utf8). Loads `apache-arrow`, an optional peer dependency (`npm install
   * apache-arrow`), now and only now.
   */
  toArrow(): Promise<ArrowTable> {
    return toArrowTable(this.names, this.columns);
  }

  /** The result as Arrow IPC bytes: the `'stream'` format (default) or the `'file'` format. */
  async toArrowIpc(format: 'stream' | 'file' = 'stream'): Promise<Uint8Array> {
    if (format !== 'stream' && format !== 'file')
      throw new RangeError(`toArrowIpc: format must be 'stream' or 'file', got ${JSON.stringify(format)}`);
    return toArrowIpc(await this.toArrow(), format);
  }

  /** A text table, as pandas prints one: right-aligned numbers, at most `maxRows` rows (head and tail). */
  toString(maxRows = 20): string {
    const shown =
      this.length <= maxRows
        ? [...Array(this.length).keys()]
        : [
            ...Array.from({ length: Math.ceil(maxRows / 2) }, (_, i) => i),
            -1,
            ...Array.from({ length: Math.floor(maxRows / 2) }, (_, i) => this.length - Math.floor(maxRows / 2) + i),
          ];
    const format = (v: unknown): string =>
      v === null || v === undefined
        ? 'NaN'
        : typeof v === 'number'
          ? Number.isInteger(v)
            ? String(v)
            : String(Number(v.toPrecision(8)))
          : String(v);
    const cells = this.names.map((name, c) => [
      name,
      ...shown.map((r) => (r < 0 ? '...' : format((this.columns[c] as ResultColumn)[r]))),
    ]);
    const widths = cells.map((column) => Math.max(...column.map((s) => s.length)));
    const lines =
      cells[0]?.map((_, r) =>
        cells.map((column, c) => (column[r] as string).padStart(widths[c] as number)).join('  '),
      ) ?? [];
    lines.push(`[${this.length} rows x ${this.names.length} columns]`);
    return lines.join('\n');
  }

  /** Writes `toString()` to standard output. */
  print(maxRows?: number): void {
    process.stdout.write(`${this.toString(maxRows)}\n`);
  }
}

function decode(column: Column): ResultColumn {
  if (column.dtype !== 'string') return column.values;
  return Array.from(column.codes, (code) => (code < 0 ? null : (column.dict[code] as string)));
}

/** Partition tables, in order, into one result. */
export function concatTables(tables: readonly Table[], badLines: readonly BadLine[]): DataResult {
  const first = tables[0];
  if (!first) return new DataResult([], [], badLines);
  const total = tables.reduce((n, t) => n + t.length, 0);
  const columns = first.names.map((name, c): ResultColumn => {
    const kind = first.columns[c]?.dtype;
    const parts = tables.map((t) => {
      const at = t.names.indexOf(name);
      return decode(t.columns[at] as Column);
    });
    if (kind === 'string' || parts.some((p) => Array.isArray(p))) {
      return parts.flatMap((p) => (Array.isArray(p) ? p : Array.from(p as Float64Array, (v) => String(v))));
    }
    const out =
      kind === 'int32' && parts.every((p) => p instanceof Int32Array) ? new Int32Array(total) : new Float64Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p as Float64Array, at);
      at += p.length;
    }
    return out;
  });
  return new DataResult(first.names, columns, badLines);
}

function compareKeys(keys: readonly (Float64Array | (string | null)[])[], a: number, b: number): number {
  for (const column of keys) {
    const x = column[a] as number | string;
    const y = column[b] as number | string;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

/** The last partial group-by → the result: means divided out, groups sorted by key. */
export function finalizeGroups(
  partial: GroupPartial,
  keyNames: readonly string[],
  aggs: readonly AggSpec[],
  badLines: readonly BadLine[],
): DataResult {
  if (keyNames.length === 0 && partial.count === 0) {
    // A whole-frame reduction over no rows: sums and counts are 0, the rest missing (as pandas).
    const columns = aggs.map(
      (spec): ResultColumn =>
        spec.op === 'sum' || spec.op === 'count' || spec.op === 'size'
          ? Float64Array.of(0)
          : Float64Array.of(Number.NaN),
    );
    return new DataResult(
      aggs.map((a) => a.output),
      columns,
      badLines,
    );
  }
  const keys = partial.keys.map(keyValues);
  const order = Array.from({ length: partial.count }, (_, g) => g).sort((a, b) => compareKeys(keys, a, b));
  const pick = (values: Float64Array | (string | null)[]): ResultColumn =>
    values instanceof Float64Array
      ? Float64Array.from(order, (g) => values[g] as number)
      : order.map((g) => values[g] ?? null);
  const keyColumns = keys.map((column) => pick(column));
  const aggColumns = partial.accs.map((acc) => {
    if (acc.op === 'mean') return Float64Array.from(order, (g) => (acc.sums[g] as number) / (acc.counts[g] as number));
    return pick(acc.values);
  });
  return new DataResult([...keyNames, ...aggs.map((a) => a.output)], [...keyColumns, ...aggColumns], badLines);
}
