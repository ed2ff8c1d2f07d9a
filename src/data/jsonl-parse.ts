/**
 * Reading one byte range of a JSON lines file into typed columns, in a worker.
 *
 * Who owns a line. JSON text cannot hold a raw newline (inside a string it is written `\n`), so
 * every newline ends a record and, unlike CSV, a range needs no quote state: range [start, end)
 * owns the lines whose first byte lies in it. It parses from just after the first newline at or
 * after `start - 1` (byte 0 for a file's first range) up to and including the first newline at or
 * after `end - 1`; consecutive ranges meet at the same newline, so every line is parsed once.
 *
 * Each line is one `JSON.parse` (V8's parser: numbers come out as numbers, never via a JS string
 * of their digits); its fields go straight into the columns: a Float64Array or Int32Array per
 * number column, codes into a per-partition dictionary per string column.
 */
import { closeSync, openSync } from 'node:fs';
import { readAt } from './csv-range.js';
import { JsonlParseError } from './errors.js';
import type { BadLine, ByteRange, Column, JsonlSchema, OnBadLines, Table } from './types.js';

const NEWLINE = 0x0a;
/** Bytes read past `end` at first to finish the last line; doubled while the line goes on. */
const OVERRUN = 64 * 1024;

/**
 * One read buffer per worker, reused (as csv-range.ts does, for the same reason: fresh
 * multi-megabyte Buffers live outside the JS heap until V8's next collection). Safe: a range is
 * read and decoded to a string synchronously, and nothing keeps a view of these bytes.
 */
let scratch = Buffer.allocUnsafe(0);

/** The text of the lines that `range` owns, and the newlines in [range.start, first line). */
export function readJsonlRange(range: ByteRange): { text: string; linesBefore: number } {
  const from = range.first ? 0 : range.start - 1;
  const fd = openSync(range.file, 'r');
  try {
    let length = Math.min(range.fileSize, range.end + OVERRUN) - from;
    for (;;) {
      if (scratch.length < length) scratch = Buffer.allocUnsafe(length);
      const n = readAt(fd, scratch, 0, length, from);
      const bytes = scratch.subarray(0, n);
      let begin = 0;
      if (!range.first) {
        // The first line that begins at or after `start`: the one after the newline at or after start - 1.
        const nl = bytes.indexOf(NEWLINE);
        if (nl === -1 || from + nl + 1 >= range.end) return { text: '', linesBefore: 0 };
        begin = nl + 1;
      }
      // The last line: up to the first newline at or after end - 1.
      const nl = bytes.indexOf(NEWLINE, range.end - 1 - from);
      if (nl === -1 && from + n < range.fileSize) {
        length *= 2;
        continue;
      }
      const stop = nl === -1 ? n : nl + 1;
      // [start, begin) holds one newline (the one before `begin`) unless that newline was at start - 1.
      const linesBefore = !range.first && from + begin > range.start ? 1 : 0;
      const text = bytes.toString('utf8', begin, stop);
      // A byte order mark at the top of a file is not part of the first line's JSON.
      return { text: range.first && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, linesBefore };
    }
  } finally {
    closeSync(fd);
  }
}

/** A column being filled: numbers, or string codes with their dictionary. */
interface Builder {
  numbers: Float64Array | Int32Array;
  readonly codes: Map<string, number>;
  readonly dict: string[];
}

function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** What to do with a JSON lines range: the schema and the columns to build. */
export interface JsonlParseContext {
  readonly file: string;
  readonly schema: JsonlSchema;
  /** Indexes of the columns to build (the other fields are not looked at). */
  readonly read: readonly number[];
  readonly onBadLines: OnBadLines;
  /** Newlines between the range's start and `text`'s first line. */
  readonly linesBefore: number;
}

/**
 * Parses the lines of `text` into columns. A line that is not a JSON object, or a field whose
 * value does not fit its column's dtype, is a bad line: a JsonlParseError (line counted from the
 * range's start), or skipped / collected.
 */
export function parseJsonlLines(text: string, context: JsonlParseContext): { table: Table; badLines: BadLine[] } {
  const { schema, read } = context;
  const names = read.map((i) => schema.names[i] as string);
  const dtypes = read.map((i) => schema.dtypes[i]);
  // Lines in the text, for the columns' first size (they grow when blank lines were few).
  let capacity = 16;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) capacity++;
  const builders: Builder[] = dtypes.map((dtype) => ({
    numbers: dtype === 'float64' ? new Float64Array(capacity) : new Int32Array(capacity),
    codes: new Map(),
    dict: [],
  }));
  const badLines: BadLine[] = [];
  let rows = 0;
  let line = context.linesBefore; // newlines before the current line, from the range's start
  const bad = (lineText: string, column: number | undefined, reason: string): void => {
    const field = column === undefined ? undefined : names[column];
    if (context.onBadLines === 'error') {
      throw new JsonlParseError({ file: context.file, line: line + 1, field, reason, lineIsLocal: true });
    }
    if (context.onBadLines === 'collect') {
      const place = column === undefined ? undefined : (read[column] as number) + 1;
      badLines.push({ file: context.file, line: line + 1, column: place, field, reason, text: lineText });
    }
  };
  for (let pos = 0; pos < text.length; line++) {
    let nl = text.indexOf('\n', pos);
    if (nl === -1) nl = text.length;
    const lineText = text.charCodeAt(nl - 1) === 13 ? text.slice(pos, nl - 1) : text.slice(pos, nl);
    pos = nl + 1;
    if (lineText.trim() === '') continue; // blank lines are skipped, as pandas skips them
    let record: unknown;
    try {
      record = JSON.parse(lineText);
    } catch (error) {
      bad(lineText, undefined, `not valid JSON (${(error as Error).message})`);
      continue;
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      bad(lineText, undefined, `a line must hold one JSON object, not ${describeValue(record)}`);
      continue;
    }
    if (rows === capacity) {
      capacity *= 2;
      for (const b of builders) {
        const bigger = b.numbers instanceof Float64Array ? new Float64Array(capacity) : new Int32Array(capacity);
        bigger.set(b.numbers);
        b.numbers = bigger;
      }
    }
    if (
      fillRow(record as Record<string, unknown>, rows, names, dtypes, builders, (c, reason) => bad(lineText, c, reason))
    )
      rows++;
  }
  const columns = builders.map((b, c): Column => {
    if (dtypes[c] === 'string')
      return { dtype: 'string', codes: (b.numbers as Int32Array).slice(0, rows), dict: b.dict };
    if (dtypes[c] === 'int32') return { dtype: 'int32', values: (b.numbers as Int32Array).slice(0, rows) };
    return { dtype: 'float64', values: (b.numbers as Float64Array).slice(0, rows) };
  });
  return { table: { names, columns, length: rows }, badLines };
}

/**
 * Writes one record's fields at row `row`; false (after `bad`) when a value does not fit. A bad
 * row's earlier fields are overwritten by the next row, so nothing of it stays.
 */
function fillRow(
  record: Record<string, unknown>,
  row: number,
  names: readonly string[],
  dtypes: readonly (string | undefined)[],
  builders: Builder[],
  bad: (column: number, reason: string) => void,
): boolean {
  for (let c = 0; c < names.length; c++) {
    const value = record[names[c] as string];
    const builder = builders[c] as Builder;
    const dtype = dtypes[c];
    if (dtype === 'float64') {
      if (typeof value === 'number') builder.numbers[row] = value;
      else if (value === undefined || value === null) builder.numbers[row] = Number.NaN;
      else if (typeof value === 'boolean') builder.numbers[row] = value ? 1 : 0;
      else {
        bad(
          c,
          `${describeValue(value)} is not a number (to read this field as text: dtypes: { ${JSON.stringify(names[c])}: 'string' })`,
        );
        return false;
      }
    } else if (dtype === 'int32') {
      if (typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31) {
        builder.numbers[row] = value;
      } else {
        const what = value === undefined ? 'a missing value' : describeValue(value);
        bad(c, `${what} is not an int32 (a column with missing or larger values reads as 'float64')`);
        return false;
      }
    } else {
      let code = -1;
      if (value !== undefined && value !== null) {
        // Text as it is; any other JSON value as its JSON text (a number, true, an object).
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        const known = builder.codes.get(text);
        if (known === undefined) {
          code = builder.dict.length;
          builder.codes.set(text, code);
          builder.dict.push(text);
        } else code = known;
      }
      builder.numbers[row] = code;
    }
  }
  return true;
}
