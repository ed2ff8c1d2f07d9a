/**
 * Reading one byte range of a CSV file and finding the rows it owns, without reading the file
 * from its start.
 *
 * Who owns a row. Files are cut into ranges [start, end) of `blocksize` bytes. A row belongs to
 * the range in which its first byte lies... except that a range cannot tell where rows start
 * without knowing whether `start` is inside a quoted field (a quoted field may hold newlines,
 * Dask #1284/#8045). The rule used: range k parses from just after the first newline at or after
 * `start` that is *outside quotes* (byte 0 for a file's first range) up to and including the
 * first newline at or after `end` that is outside quotes. Both ends are found with the same rule,
 * so consecutive ranges meet at the same newline: every row is parsed once.
 *
 * Knowing "outside quotes" at `start`. A quote character flips the state (RFC 4180's doubled
 * quote `""` flips it twice), so the state at `start` is the parity of the quote characters before
 * it. Each range task counts the quotes in its own [start, end) and reports the parity; the main
 * thread adds the parities up in file order (compute.ts). Tasks do not wait for that: each guesses
 * its start state (guessStartState: of the two hypotheses, the one under which the next rows parse
 * as well-formed rows of the right width) and reports its guess; a range whose guess turns out
 * wrong is parsed again with the right state. So the file is read once in the common case, and any
 * file, however quoted, is split correctly (a wrong guess costs time, never correctness).
 *
 * A quote in the middle of an unquoted field also flips the state here; such a row is malformed
 * in RFC 4180, is reported as a bad line, and parsing resumes at the next boundary by this rule.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { ByteRange, CsvSchema } from './types.js';

export const QUOTE = 0x22;
export const NEWLINE = 0x0a;
export const CR = 0x0d;

/** Bytes read past `end` at first to finish the last row; doubled while the row goes on. */
const OVERRUN = 64 * 1024;

/**
 * One read buffer per worker, reused: a fresh multi-megabyte Buffer per partition lives outside
 * the JS heap, and V8 frees such memory only at its next garbage collection, so a worker would
 * hold several partitions' worth of dead buffers. Safe to reuse: a range is read and parsed
 * synchronously, and nothing parsed keeps a view of these bytes (strings are copied out).
 */
let scratch = Buffer.allocUnsafe(0);

function buffer(size: number): Buffer {
  if (scratch.length < size) scratch = Buffer.allocUnsafe(size);
  return scratch.subarray(0, size);
}

/** The bytes of a range and where its rows are, as offsets into `bytes`. */
export interface RangeBytes {
  readonly bytes: Buffer;
  /** Offset of the first byte of the first row the range owns. */
  readonly begin: number;
  /** Offset just past the last row's newline (or the end of the file). `begin >= stop`: no rows. */
  readonly stop: number;
  /** The quote state at `start` used. */
  readonly startInQuotes: boolean;
  /** Parity of the quote characters in [start, end). */
  readonly quoteParity: 0 | 1;
  /** Newlines in [0, begin): turns a line counted from `begin` into one counted from `start`. */
  readonly linesBeforeBegin: number;
}

/** The first newline at or after `from` (and before `limit`) outside quotes, given the state at `from`. */
export function nextRowEnd(
  bytes: Uint8Array,
  from: number,
  limit: number,
  inQuotes: boolean,
): { at: number; inQuotes: boolean } {
  let quoted = inQuotes;
  let i = from;
  if (!quoted && bytes instanceof Buffer) {
    // Fast path (almost every row): a newline with no quote before it (looked for up to it only,
    // so that many calls over a quote-free buffer stay linear).
    const nl = bytes.indexOf(NEWLINE, from);
    if (nl !== -1 && nl < limit && bytes.subarray(from, nl).indexOf(QUOTE) === -1) return { at: nl, inQuotes: false };
  }
  for (; i < limit; i++) {
    const c = bytes[i];
    if (c === QUOTE) quoted = !quoted;
    else if (c === NEWLINE && !quoted) return { at: i, inQuotes: false };
  }
  return { at: -1, inQuotes: quoted };
}

/**
 * How many rows from `at` on are well-formed: the right number of fields, quotes only around whole
 * fields. Under the wrong quote hypothesis "rows" start inside fields and fail this at once.
 */
function wellFormedRows(bytes: Uint8Array, at: number, limit: number, width: number, delimiter: number): number {
  let rows = 0;
  let pos = at;
  while (rows < 8 && pos < limit) {
    let fields = 1;
    for (;;) {
      if (pos >= limit) return rows;
      let c = bytes[pos];
      if (c === QUOTE) {
        for (pos++; ; pos++) {
          if (pos >= limit) return rows;
          if (bytes[pos] === QUOTE) {
            if (bytes[pos + 1] !== QUOTE) break;
            pos++;
          }
        }
        c = bytes[++pos];
        if (c !== delimiter && c !== NEWLINE && c !== CR) return rows;
      }
      while (pos < limit && c !== delimiter && c !== NEWLINE) {
        if (c === QUOTE) return rows;
        c = bytes[++pos];
      }
      if (pos >= limit) return rows;
      pos++;
      if (c === NEWLINE) break;
      fields++;
    }
    if (fields !== width) return rows;
    rows++;
  }
  return rows;
}

/** The likelier quote state at offset 0 of `bytes`: the one under which the rows that follow are well-formed. */
export function guessStartState(
  bytes: Uint8Array,
  own: number,
  schema: Pick<CsvSchema, 'delimiter' | 'names'>,
): boolean {
  // A few rows decide it: look no further than 64 KB (in a file without quotes, the "inside
  // quotes" hypothesis would otherwise scan the whole range for a closing quote).
  const limit = Math.min(own, 65_536);
  const score = (inQuotes: boolean) => {
    const end = nextRowEnd(bytes, 0, limit, inQuotes).at;
    return end === -1 ? -1 : wellFormedRows(bytes, end + 1, limit, schema.names.length, schema.delimiter);
  };
  return score(true) > score(false);
}

function quoteParity(bytes: Buffer, length: number): 0 | 1 {
  let count = 0;
  const view = bytes.subarray(0, length);
  for (let i = view.indexOf(QUOTE); i !== -1; i = view.indexOf(QUOTE, i + 1)) count++;
  return (count & 1) as 0 | 1;
}

function countNewlines(bytes: Buffer, length: number): number {
  let count = 0;
  const view = bytes.subarray(0, length);
  for (let i = view.indexOf(NEWLINE); i !== -1; i = view.indexOf(NEWLINE, i + 1)) count++;
  return count;
}

/** Reads `length` bytes at `position` into `into[offset..]`, looping over short reads; fewer only at the end of the file. */
export function readAt(fd: number, into: Buffer, offset: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, into, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/**
 * Reads `range` and locates its rows. `startInQuotes` is the quote state at `range.start`;
 * `skipHeader` drops the first row of a file's first range. `into` gives the buffer to read into
 * (this worker's reused one by default; the WebAssembly kernel's memory, so that it reads the
 * bytes where they land); a row longer than the first read goes on in a fresh buffer.
 */
export function readRange(
  range: ByteRange,
  knownInQuotes: boolean | undefined,
  skipHeader: boolean,
  schema: Pick<CsvSchema, 'delimiter' | 'names'>,
  into: (size: number) => Buffer = buffer,
): RangeBytes {
  const fd = openSync(range.file, 'r');
  try {
    const own = range.end - range.start;
    let bytes = into(Math.min(own + OVERRUN, range.fileSize - range.start));
    let filled = readAt(fd, bytes, 0, bytes.length, range.start);
    const parity = quoteParity(bytes, Math.min(own, filled));
    const startInQuotes = range.first
      ? false
      : (knownInQuotes ?? guessStartState(bytes, Math.min(own, filled), schema));

    // A UTF-8 byte order mark is not part of the first field.
    let begin = range.first && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    if (!range.first || skipHeader) {
      const found = nextRowEnd(bytes, begin, Math.min(own, filled), range.first ? false : startInQuotes);
      // No row starts in this range: the previous range's last row covers all of it.
      if (found.at === -1)
        return { bytes, begin: own, stop: own, startInQuotes, quoteParity: parity, linesBeforeBegin: 0 };
      begin = found.at + 1;
    }

    let stop: number;
    if (range.end >= range.fileSize) stop = filled;
    else {
      // The state at `end` follows from the state at `start` and the quotes between.
      let search = nextRowEnd(bytes, own, filled, startInQuotes !== (parity === 1));
      let searched = own;
      while (search.at === -1 && range.start + filled < range.fileSize) {
        searched = filled;
        const grown = Buffer.allocUnsafe(Math.min(bytes.length * 2, range.fileSize - range.start));
        bytes.copy(grown, 0, 0, filled);
        if (into === buffer) scratch = grown;
        filled += readAt(fd, grown, filled, grown.length - filled, range.start + filled);
        bytes = grown;
        search = nextRowEnd(bytes, searched, filled, search.inQuotes);
      }
      stop = search.at === -1 ? filled : search.at + 1;
    }
    return {
      bytes,
      begin,
      stop,
      startInQuotes,
      quoteParity: parity,
      linesBeforeBegin: countNewlines(bytes, begin),
    };
  } finally {
    closeSync(fd);
  }
}

/** Newlines in [from, to) of `file`: a line number for an error, counted only when one happens. */
export function countLines(file: string, from: number, to: number): number {
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    let count = 0;
    for (let at = from; at < to; ) {
      const n = readAt(fd, chunk, 0, Math.min(chunk.length, to - at), at);
      if (n === 0) break;
      count += countNewlines(chunk, n);
      at += n;
    }
    return count;
  } finally {
    closeSync(fd);
  }
}
