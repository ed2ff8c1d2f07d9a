/**
 * skein/data: partitioned frames (Dask DataFrame). `readCsv(path).groupby(key).sum().compute()`
 * parses byte ranges of the file in workers, straight into typed columns, and brings back only
 * partial results; `readJsonl` does the same for JSON lines. A separate entry point, so that
 * `import 'skein'` loads no CSV code.
 */
import { parseBlocksize, readSchema, resolveFiles, splitRanges } from './data/csv-source.js';
import { Frame } from './data/frame.js';
import { readJsonlSchema } from './data/jsonl-source.js';
import type { Dtype, OnBadLines } from './data/types.js';

export type { ComputeOptions, DataProgress } from './data/compute.js';
export { CsvParseError, DataSourceError, JsonlParseError } from './data/errors.js';
export { Frame, GroupBy, type RowFunction } from './data/frame.js';
export type { PartitionColumns, PartitionFunction, PartitionInfo, PartitionOutput } from './data/map-partitions.js';
export { DataResult, type ResultColumn } from './data/result.js';
export type { AggOp, BadLine, Dtype, OnBadLines, Row } from './data/types.js';

/** Options of `readCsv`. */
export interface ReadCsvOptions {
  /** Bytes per partition: a number, or '64MB' (10^6 bytes per MB, as Dask), '16MiB'. Default '64MB'. */
  blocksize?: string | number;
  /** Read only these columns (pandas' `usecols`); the others are skipped unparsed. */
  columns?: readonly string[];
  /** Column types; a column not named is inferred from the first rows: 'float64' if numeric, else 'string'. */
  dtypes?: Readonly<Record<string, Dtype>>;
  /** One character. Default ','. */
  delimiter?: string;
  /** Whether the first line names the columns. Default true. */
  header?: boolean;
  /** Column names when `header` is false (default `column0`, `column1`, ...), or to rename a header's. */
  names?: readonly string[];
  /** A malformed row: 'error' (default) throws a CsvParseError naming file, line and column; 'skip'; 'collect' (in the result's `badLines`). */
  onBadLines?: OnBadLines;
}

const DTYPES: readonly Dtype[] = ['float64', 'int32', 'string'];

function checkCommonOptions(options: {
  onBadLines?: OnBadLines;
  dtypes?: Readonly<Record<string, Dtype>>;
}): OnBadLines {
  const onBadLines = options.onBadLines ?? 'error';
  if (!['error', 'skip', 'collect'].includes(onBadLines)) {
    throw new RangeError(`onBadLines must be 'error', 'skip' or 'collect', got ${JSON.stringify(onBadLines)}`);
  }
  for (const [name, dtype] of Object.entries(options.dtypes ?? {})) {
    if (!DTYPES.includes(dtype))
      throw new RangeError(`dtypes.${name} must be one of ${DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`);
  }
  return onBadLines;
}

/**
 * A lazy frame over one CSV file, a glob (`'data/part-*.csv'`) or a list of them. Reads the first
 * file's header and a sample now (to fix the schema); the rows are read by `compute()`.
 */
export function readCsv(source: string | readonly string[], options: ReadCsvOptions = {}): Frame {
  const delimiter = options.delimiter ?? ',';
  if (
    typeof delimiter !== 'string' ||
    delimiter.length !== 1 ||
    delimiter === '"' ||
    delimiter === '\n' ||
    delimiter.charCodeAt(0) > 127
  ) {
    throw new RangeError(
      `delimiter must be one ASCII character other than a quote or newline, got ${JSON.stringify(delimiter)}`,
    );
  }
  const onBadLines = checkCommonOptions(options);
  const blocksize = parseBlocksize(options.blocksize ?? '64MB');
  const files = resolveFiles(source);
  const schema = readSchema((files[0] as { file: string }).file, {
    delimiter,
    header: options.header ?? true,
    names: options.names,
    dtypes: options.dtypes,
  });
  const frame = new Frame(
    { ranges: splitRanges(files, blocksize), schema, onBadLines },
    [],
    new Map(schema.names.map((name, i) => [name, schema.dtypes[i]])),
    undefined,
  );
  return options.columns ? frame.select(options.columns) : frame;
}

/** Options of `readJsonl`. */
export interface ReadJsonlOptions {
  /** Bytes per partition: a number, or '64MB' (10^6 bytes per MB, as Dask), '16MiB'. Default '64MB'. */
  blocksize?: string | number;
  /**
   * Read only these fields, as columns in this order (fields not in the first rows too). Default:
   * the fields of the objects in the first 256 KB of the first file, in the order first seen.
   */
  columns?: readonly string[];
  /** Column types; a field not named is inferred from the first rows: 'float64' if numbers (or booleans), else 'string'. */
  dtypes?: Readonly<Record<string, Dtype>>;
  /** A bad line: 'error' (default) throws a JsonlParseError naming file, line and field; 'skip'; 'collect' (in the result's `badLines`). */
  onBadLines?: OnBadLines;
}

/**
 * A lazy frame over JSON lines files (one JSON object per line; pandas' `read_json(lines=True)`):
 * one file, a glob (`'logs/*.jsonl'`) or a list of them. Each field is a column; a missing field or
 * null is a missing value (NaN, or null in a string column); a string column keeps any other JSON
 * value (a number, true, an object) as its JSON text; booleans in a number column are 1 and 0.
 * Reads a sample of the first file now (to fix the columns); the rows are read by `compute()`.
 */
export function readJsonl(source: string | readonly string[], options: ReadJsonlOptions = {}): Frame {
  const onBadLines = checkCommonOptions(options);
  if (options.columns !== undefined && (!Array.isArray(options.columns) || options.columns.length === 0)) {
    throw new TypeError('readJsonl: columns must be a non-empty array of field names');
  }
  const blocksize = parseBlocksize(options.blocksize ?? '64MB');
  const files = resolveFiles(source, 'readJsonl', 'logs/*.jsonl');
  const schema = readJsonlSchema((files[0] as { file: string }).file, {
    columns: options.columns,
    dtypes: options.dtypes,
  });
  return new Frame(
    { ranges: splitRanges(files, blocksize), schema, onBadLines },
    [],
    new Map(schema.names.map((name, i) => [name, schema.dtypes[i]])),
    undefined,
  );
}
