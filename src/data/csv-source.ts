/**
 * The main thread's part of reading CSV: which files (paths and globs), how they are cut into byte
 * ranges, and the schema (column names from the header, dtypes from a sample of the first rows),
 * fixed once before any worker parses so that every partition agrees on it (Dask guesses per
 * block sample too, and its users meet "Mismatched dtypes" when a later block disagrees: here a
 * later value that does not fit is an error naming its line and column, with the fix).
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DataSourceError } from './errors.js';
import type { ByteRange, CsvSchema, Dtype } from './types.js';

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
};

/** `'64MB'` (10^6, as Dask reads it), `'64MiB'` (2^20), or a number of bytes. */
export function parseBlocksize(blocksize: string | number): number {
  if (typeof blocksize === 'number') {
    if (Number.isInteger(blocksize) && blocksize >= 1) return blocksize;
  } else {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(blocksize);
    const unit = UNITS[(match?.[2] || 'b').toLowerCase()];
    if (match && unit !== undefined && Number(match[1]) * unit >= 1) return Math.floor(Number(match[1]) * unit);
  }
  throw new RangeError(
    `blocksize must be a number of bytes >= 1 or a size such as '64MB' or '16MiB', got ${JSON.stringify(blocksize)}`,
  );
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '[^/]*')
    .replaceAll('?', '[^/]');
  return new RegExp(`^${body}$`);
}

/**
 * The files named by `source`: a path, a glob whose last part has `*` or `?` (`data/part-*.csv`),
 * or an array of either. Globs match in sorted order. A missing path or an empty glob is an error
 * naming it.
 */
export function resolveFiles(
  source: string | readonly string[],
  verb = 'readCsv',
  example = 'data/*.csv',
): { file: string; size: number }[] {
  const patterns = typeof source === 'string' ? [source] : source;
  if (!Array.isArray(patterns) || patterns.length === 0 || patterns.some((p) => typeof p !== 'string' || p === '')) {
    throw new TypeError(`${verb} needs a path, a glob such as "${example}", or a non-empty array of them`);
  }
  const files: string[] = [];
  for (const pattern of patterns) {
    const name = basename(pattern);
    if (/[*?]/.test(dirname(pattern))) {
      throw new DataSourceError(`${pattern}: wildcards are supported in the file name only, not in folders`);
    }
    if (!/[*?]/.test(name)) {
      if (!existsSync(pattern)) throw new DataSourceError(`${pattern}: no such file`);
      files.push(resolve(pattern));
      continue;
    }
    const folder = dirname(pattern);
    if (!existsSync(folder)) throw new DataSourceError(`${pattern}: the folder ${folder} does not exist`);
    const match = globToRegExp(name);
    const found = readdirSync(folder)
      .filter((entry) => match.test(entry))
      .sort()
      .map((entry) => resolve(join(folder, entry)));
    if (found.length === 0) throw new DataSourceError(`${pattern}: the glob matches no file`);
    files.push(...found);
  }
  return files.map((file) => {
    const stat = statSync(file);
    if (!stat.isFile()) throw new DataSourceError(`${file}: not a regular file`);
    return { file, size: stat.size };
  });
}

/** Cuts each file into ranges of `blocksize` bytes (the last one shorter); an empty file gives none. */
export function splitRanges(files: readonly { file: string; size: number }[], blocksize: number): ByteRange[] {
  const ranges: ByteRange[] = [];
  for (const { file, size } of files) {
    for (let start = 0; start < size; start += blocksize) {
      ranges.push({ file, start, end: Math.min(size, start + blocksize), fileSize: size, first: start === 0 });
    }
  }
  return ranges;
}

/** Splits CSV text into records (RFC 4180); the last record is dropped when `complete` is false. */
export function splitRecords(text: string, delimiter: string, complete: boolean): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') {
      quoted = true;
      started = true;
    } else if (c === delimiter) {
      record.push(field);
      field = '';
      started = true;
    } else if (c === '\n') {
      if (started || field !== '') record.push(field.endsWith('\r') ? field.slice(0, -1) : field);
      if (record.length > 0) records.push(record);
      record = [];
      field = '';
      started = false;
    } else {
      field += c;
      started = true;
    }
  }
  if (complete && (started || field !== '')) records.push([...record, field]);
  return records;
}

const SAMPLE_BYTES = 256 * 1024;
const NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$|^\s*[+-]?(inf|infinity)\s*$/i;
const MISSING = new Set(['', 'NA', 'N/A', 'NaN', 'nan', 'NULL', 'null', 'n/a', '#N/A', '<NA>', 'None']);

function inferDtype(values: readonly (string | undefined)[]): Dtype {
  let numbers = 0;
  for (const value of values) {
    if (value === undefined || MISSING.has(value)) continue;
    if (!NUMBER.test(value)) return 'string';
    numbers++;
  }
  // A column with no value in the sample is read as text: text never fails to parse.
  return numbers > 0 ? 'float64' : 'string';
}

export interface SchemaOptions {
  readonly delimiter: string;
  readonly header: boolean;
  readonly names: readonly string[] | undefined;
  readonly dtypes: Readonly<Record<string, Dtype>> | undefined;
}

/** Reads the first file's header and a sample of rows, and fixes names and dtypes. */
export function readSchema(file: string, options: SchemaOptions): CsvSchema {
  const fd = openSync(file, 'r');
  let text: string;
  let complete: boolean;
  try {
    const bytes = Buffer.allocUnsafe(SAMPLE_BYTES);
    const n = readSync(fd, bytes, 0, SAMPLE_BYTES, 0);
    complete = n < SAMPLE_BYTES;
    text = bytes.toString('utf8', 0, n).replace(/^\uFEFF/, '');
  } finally {
    closeSync(fd);
  }
  const records = splitRecords(text, options.delimiter, complete);
  const headerLine = options.header ? records.shift() : undefined;
  if (options.header && !headerLine) throw new DataSourceError(`${file}: the file is empty (no header line)`);
  const width = headerLine?.length ?? records[0]?.length ?? options.names?.length ?? 0;
  const names = options.names
    ? [...options.names]
    : (headerLine ?? Array.from({ length: width }, (_, i) => `column${i}`));
  if (names.length !== width) {
    throw new RangeError(`names has ${names.length} names but ${file} has ${width} columns`);
  }
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) {
    throw new DataSourceError(
      `${file}: the column name "${duplicate}" appears twice; name the columns yourself with names: [...] ` +
        `(one name per column, ${width} here; with a header line, they replace its names)`,
    );
  }
  for (const name of Object.keys(options.dtypes ?? {})) {
    if (!names.includes(name))
      throw new RangeError(`dtypes names "${name}", which is not a column (columns: ${names.join(', ')})`);
  }
  const dtypes = names.map(
    (name, i) => options.dtypes?.[name] ?? inferDtype(records.filter((r) => r.length === width).map((r) => r[i])),
  );
  return {
    names,
    dtypes,
    delimiter: options.delimiter.charCodeAt(0),
    header: options.header,
    headerLine,
  };
}
