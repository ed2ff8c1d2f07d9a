/**
 * Parsing the rows of one byte range straight into typed columns: a float64 column fills a
 * Float64Array from the bytes (numbers.ts), an int32 column an Int32Array, a string column a
 * dictionary (each distinct value decoded once per partition, rows hold codes). Columns not asked
 * for are skipped without being decoded.
 *
 * RFC 4180: a field may be quoted; inside quotes the delimiter and newlines are data and `""` is
 * one quote. CRLF line ends are accepted. Blank lines are skipped (as pandas does).
 */

import { ByteDictionary, HASH_PRIME, HASH_SEED } from './byte-dictionary.js';
import {
  FLOAT64,
  INT32,
  isPlain,
  PLAIN_BAIL,
  type PlainColumns,
  parsePlainRows,
  plainRowsParsed,
  TEXT,
} from './csv-plain.js';
import { CR, NEWLINE, nextRowEnd, QUOTE } from './csv-range.js';
import { CsvParseError } from './errors.js';
import { INVALID, parseFloat64, parseInt32, scanFloat64, scanned } from './numbers.js';
import type { BadLine, Column, CsvSchema, Dtype, OnBadLines, Table } from './types.js';

/** A growable column being filled. */
interface Builder {
  readonly dtype: Dtype;
  numbers: Float64Array | Int32Array;
  readonly dictionary: ByteDictionary;
}

/**
 * Column memory kept by this worker between partitions, per column slot, when the parsed columns
 * do not outlive the task (a reduction keeps only its small partial). As with the read buffer
 * (csv-range.ts), fresh arrays per partition would pile up outside the heap until V8's next
 * collection. Safe: a range is parsed and reduced synchronously (tasks.ts).
 */
const spare: (Float64Array | Int32Array | undefined)[] = [];

function newBuilder(dtype: Dtype, capacity: number, slot: number, reuse: boolean): Builder {
  const kept = reuse ? spare[slot] : undefined;
  const fits = kept !== undefined && kept.length >= capacity && kept instanceof Float64Array === (dtype === 'float64');
  return {
    dtype,
    numbers: fits ? kept : dtype === 'float64' ? new Float64Array(capacity) : new Int32Array(capacity),
    dictionary: new ByteDictionary(),
  };
}

function grow(builder: Builder): void {
  const bigger =
    builder.numbers instanceof Float64Array
      ? new Float64Array(builder.numbers.length * 2)
      : new Int32Array(builder.numbers.length * 2);
  bigger.set(builder.numbers);
  builder.numbers = bigger;
}

function finish(builder: Builder, length: number, slot: number, reuse: boolean): Column {
  // A column that travels back is sliced to hold only its rows; a reused one is a view.
  if (reuse) spare[slot] = builder.numbers;
  const numbers = reuse ? builder.numbers.subarray(0, length) : builder.numbers.slice(0, length);
  if (builder.dtype === 'float64') return { dtype: 'float64', values: numbers as Float64Array };
  if (builder.dtype === 'int32') return { dtype: 'int32', values: numbers as Int32Array };
  return { dtype: 'string', codes: numbers as Int32Array, dict: builder.dictionary.values };
}

/** Rows in [begin, stop), from the row length of its first 64 KB (columns grow if it is wrong). */
function estimateRows(bytes: Buffer, begin: number, stop: number): number {
  const sample = bytes.subarray(begin, Math.min(stop, begin + 65_536));
  let lines = 0;
  for (let i = sample.indexOf(NEWLINE); i !== -1; i = sample.indexOf(NEWLINE, i + 1)) lines++;
  if (lines === 0) return 16;
  return Math.ceil(((stop - begin) / sample.length) * lines * 1.1) + 16;
}

/** Where the parse is, and what to say when a row is bad. */
export interface ParseContext {
  readonly file: string;
  readonly schema: CsvSchema;
  /** Indexes of the columns to build (others are skipped). */
  readonly read: readonly number[];
  readonly onBadLines: OnBadLines;
  /** Byte offset in the file of `bytes[0]`, for errors. */
  readonly rangeStart: number;
  /** Newlines between `rangeStart` and the first row. */
  readonly linesBefore: number;
  /** The columns do not outlive the task: build them in this worker's spare arrays. */
  readonly reuse: boolean;
}

let unescaped = new Uint8Array(256);

/** Bytes [a, b) of a quoted field with each doubled quote made one, in a reused buffer. */
function undoubleQuotes(bytes: Uint8Array, a: number, b: number): Uint8Array {
  if (unescaped.length < b - a) unescaped = new Uint8Array(2 * (b - a));
  let n = 0;
  for (let i = a; i < b; i++) {
    unescaped[n++] = bytes[i] as number;
    if (bytes[i] === QUOTE) i++;
  }
  return unescaped.subarray(0, n);
}

/** Parses the rows in bytes [begin, stop) into a Table of the `read` columns. */
export function parseRows(
  bytes: Buffer,
  begin: number,
  stop: number,
  context: ParseContext,
): { table: Table; badLines: BadLine[] } {
  const capacity = estimateRows(bytes, begin, stop);
  const newBuilders = () =>
    context.read.map((column, slot) =>
      newBuilder(context.schema.dtypes[column] as Dtype, capacity, slot, context.reuse),
    );
  let builders = newBuilders();
  let rows = isPlain(bytes, begin, stop) ? parsePlain(bytes, begin, stop, context, builders) : -1;
  let badLines: BadLine[] = [];
  if (rows < 0) {
    // Not plain, or a row the fast path does not take: everything again by the general rules.
    builders = newBuilders();
    ({ rows, badLines } = parseGeneral(bytes, begin, stop, context, builders));
  }
  const names = context.read.map((column) => context.schema.names[column] as string);
  return {
    table: { names, columns: builders.map((b, slot) => finish(b, rows, slot, context.reuse)), length: rows },
    badLines,
  };
}

/** The smallest column's length: columns may start at different sizes (a reused array is often larger). */
function roomOf(builders: readonly Builder[]): number {
  return builders.reduce((n, b) => Math.min(n, b.numbers.length), Number.POSITIVE_INFINITY);
}

/**
 * Rows per call of the fast path. One call over a whole range would be compiled by V8 on the
 * stack mid-loop, before its exit had ever run, and deoptimized on every exit after; calls of a few
 * thousand rows are compiled as a whole, from feedback that covers every path.
 */
const CHUNK_ROWS = 4096;

const NO_FLOATS = new Float64Array(0);
const NO_INTS = new Int32Array(0);

/** The fast path (csv-plain.ts) over a plain range: the rows, or -1 where it gave up. */
function parsePlain(bytes: Buffer, begin: number, stop: number, context: ParseContext, builders: Builder[]): number {
  const { schema } = context;
  const kinds = new Int32Array(schema.names.length);
  const slots = new Int32Array(schema.names.length).fill(-1);
  context.read.forEach((column, slot) => {
    const dtype = schema.dtypes[column];
    kinds[column] = dtype === 'float64' ? FLOAT64 : dtype === 'int32' ? INT32 : TEXT;
    slots[column] = slot;
  });
  const columns = (): PlainColumns => ({
    kinds,
    slots,
    delimiter: schema.delimiter,
    floats: builders.map((b) => (b.numbers instanceof Float64Array ? b.numbers : NO_FLOATS)),
    ints: builders.map((b) => (b.numbers instanceof Int32Array ? b.numbers : NO_INTS)),
    dictionaries: builders.map((b) => (b.dtype === 'string' ? b.dictionary : undefined)),
  });
  const run = (data: Uint8Array, from: number, to: number, firstRow: number): number => {
    let current = columns();
    let rows = firstRow;
    for (let pos = from; pos < to; ) {
      const room = roomOf(builders);
      pos = parsePlainRows(data, pos, to, rows, Math.min(room, rows + CHUNK_ROWS), current);
      if (pos === PLAIN_BAIL) return -1;
      rows = plainRowsParsed();
      if (rows === room) {
        for (const b of builders) if (b.numbers.length === room) grow(b);
        current = columns();
      }
    }
    return rows;
  };
  // The loop needs a newline at the end: a last row without one (the file's end) is parsed from a copy.
  const lastNewline = bytes.lastIndexOf(NEWLINE, stop - 1);
  const whole = lastNewline < begin ? begin : lastNewline + 1;
  let rows = whole > begin ? run(bytes, begin, whole, 0) : 0;
  if (rows >= 0 && whole < stop) {
    const tail = Buffer.allocUnsafe(stop - whole + 1);
    bytes.copy(tail, 0, whole, stop);
    tail[tail.length - 1] = NEWLINE;
    rows = run(tail, 0, tail.length, rows);
  }
  return rows;
}

/** The general parser: every rule of RFC 4180, bad lines reported, skipped or collected. */
function parseGeneral(
  bytes: Buffer,
  begin: number,
  stop: number,
  context: ParseContext,
  builders: Builder[],
): { rows: number; badLines: BadLine[] } {
  const { schema, read } = context;
  const width = schema.names.length;
  const delimiter = schema.delimiter;
  const slotOf = new Int32Array(width).fill(-1);
  read.forEach((column, slot) => {
    slotOf[column] = slot;
  });
  let room = roomOf(builders);
  const badLines: BadLine[] = [];
  let rows = 0;
  let line = context.linesBefore;
  let pos = begin;

  const bad = (rowStart: number, rowLine: number, column: number | undefined, reason: string): void => {
    if (context.onBadLines === 'error') {
      throw new CsvParseError({
        file: context.file,
        line: rowLine + 1,
        column: column === undefined ? undefined : column + 1,
        columnName: column === undefined ? undefined : schema.names[column],
        reason,
        lineIsLocal: true,
        rangeStart: context.rangeStart,
      });
    }
    // Resume at the next row boundary by the same rule the ranges are cut with (csv-range.ts).
    const end = nextRowEnd(bytes, rowStart, stop, false).at;
    const next = end === -1 ? stop : end + 1;
    if (context.onBadLines === 'collect') {
      const text = bytes.toString('utf8', rowStart, next).replace(/\r?\n$/, '');
      badLines.push({
        file: context.file,
        line: rowLine + 1,
        column: column === undefined ? undefined : column + 1,
        reason,
        text,
      });
    }
    line = rowLine;
    for (let i = rowStart; i < next; i++) if (bytes[i] === NEWLINE) line++;
    pos = next;
  };

  nextRow: while (pos < stop) {
    const rowStart = pos;
    const rowLine = line;
    let c = bytes[pos];
    if (c === NEWLINE || (c === CR && bytes[pos + 1] === NEWLINE)) {
      pos += c === NEWLINE ? 1 : 2;
      line++;
      continue;
    }
    if (rows === room) {
      for (const b of builders) if (b.numbers.length === room) grow(b);
      room = roomOf(builders);
    }
    let field = 0;
    for (;;) {
      const slot = field < width ? (slotOf[field] as number) : -1;
      if (slot >= 0 && (builders[slot] as Builder).dtype === 'float64') {
        // Most number fields: parsed in the same pass that finds their end.
        const end = scanFloat64(bytes, pos, stop, delimiter);
        if (end >= 0) {
          (builders[slot] as Builder).numbers[rows] = scanned[0] as number;
          pos = end;
          field++;
          if (pos >= stop || bytes[pos] !== delimiter) break;
          pos++;
          continue;
        }
      }
      if (slot >= 0 && (builders[slot] as Builder).dtype === 'string' && bytes[pos] !== QUOTE) {
        // An unquoted text field: hashed in the pass that finds its end.
        const start = pos;
        let hash = HASH_SEED;
        for (; pos < stop; pos++) {
          c = bytes[pos] as number;
          if (c === delimiter || c === NEWLINE || c === QUOTE || c === CR) break;
          hash = Math.imul(hash ^ c, HASH_PRIME);
        }
        if (pos >= stop || c === delimiter || c === NEWLINE) {
          const builder = builders[slot] as Builder;
          (builder.numbers as Int32Array)[rows] =
            pos === start ? -1 : builder.dictionary.codeHashed(bytes, start, pos, hash);
          field++;
          if (pos >= stop || c !== delimiter) break;
          pos++;
          continue;
        }
        pos = start; // a quote or CR inside: the general path decides
      }
      // One field: find [a, b), then convert it if its column is read.
      let a = pos;
      let b: number;
      let escaped = false;
      if (bytes[pos] === QUOTE) {
        a = ++pos;
        for (;;) {
          if (pos >= stop) {
            bad(rowStart, rowLine, field, 'a quoted field is not closed before the end of the data');
            continue nextRow;
          }
          c = bytes[pos];
          if (c === QUOTE) {
            if (bytes[pos + 1] === QUOTE && pos + 1 < stop) {
              escaped = true;
              pos += 2;
              continue;
            }
            break;
          }
          if (c === NEWLINE) line++;
          pos++;
        }
        b = pos++;
        c = bytes[pos];
        if (pos < stop && c !== delimiter && c !== NEWLINE && c !== CR) {
          bad(
            rowStart,
            rowLine,
            field,
            'text after the closing quote of a quoted field (double a quote inside a field: "")',
          );
          continue nextRow;
        }
      } else {
        while (pos < stop) {
          c = bytes[pos];
          if (c === delimiter || c === NEWLINE) break;
          if (c === QUOTE) {
            bad(
              rowStart,
              rowLine,
              field,
              'a quote inside an unquoted field (quote the whole field and double the quote: "a""b")',
            );
            continue nextRow;
          }
          pos++;
        }
        b = pos;
        if (b > a && bytes[b - 1] === CR && (pos >= stop || bytes[pos] === NEWLINE)) b--;
      }
      if (slot >= 0) {
        const builder = builders[slot] as Builder;
        if (builder.dtype === 'string') {
          const numbers = builder.numbers as Int32Array;
          if (a === b) numbers[rows] = -1;
          else if (escaped) {
            const field = undoubleQuotes(bytes, a, b);
            numbers[rows] = builder.dictionary.code(field, 0, field.length);
          } else numbers[rows] = builder.dictionary.code(bytes, a, b);
        } else {
          const value = builder.dtype === 'float64' ? parseFloat64(bytes, a, b) : parseInt32(bytes, a, b);
          if (value === INVALID) {
            const shown = a === b ? 'a missing value' : `"${bytes.toString('utf8', a, Math.min(b, a + 40))}"`;
            const name = schema.names[field];
            // int32 has no missing value and no fraction: float64 is what such a column needs (pandas
            // reads it so), while text would make it unusable for sums.
            const fix =
              builder.dtype === 'float64'
                ? `pass dtypes: { "${name}": 'string' } to read it as text`
                : `pass dtypes: { "${name}": 'float64' } for missing, fractional or larger values (missing reads as NaN), or 'string' to read it as text`;
            bad(
              rowStart,
              rowLine,
              field,
              `${shown} is not ${builder.dtype === 'float64' ? 'a number' : 'an int32 integer'} (dtype ${builder.dtype}; ${fix})`,
            );
            continue nextRow;
          }
          builder.numbers[rows] = value;
        }
      }
      field++;
      if (pos >= stop || bytes[pos] !== delimiter) break;
      pos++; // past the delimiter
    }
    if (pos < stop) {
      pos++; // past the newline
      line++;
    }
    if (field !== width) {
      bad(rowStart, rowLine, Math.min(field, width), `expected ${width} fields, found ${field}`);
      continue;
    }
    rows++;
  }
  return { rows, badLines };
}
