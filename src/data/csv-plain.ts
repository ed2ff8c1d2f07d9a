/**
 * The fast path of the CSV parser: rows with no quote and no CR in them (nearly every generated or
 * exported file). Without quotes a field ends at the first delimiter or newline, so one loop over
 * the bytes finds each field's end and converts it in the same pass: digits accumulate into a
 * number as they are read, a text field's hash is computed as it is read and looked up in the
 * column's dictionary, a column not asked for is stepped over. Nothing is allocated per field or
 * per row.
 *
 * The loop reads `bytes[pos]` without comparing `pos` with the end: the caller guarantees that the
 * last byte of [begin, stop) is a newline, so every scan for "delimiter or newline" stops inside.
 *
 * Anything unusual (a row with the wrong number of fields, a value that does not parse) stops the
 * fast path: the caller parses the whole range again with the general parser (csv-parse.ts), which
 * knows every rule and says what is wrong. Rare in practice, and it costs time only, never results.
 */

import type { ByteDictionary } from './byte-dictionary.js';
import { SHORT } from './byte-dictionary.js';
import { CR, NEWLINE, QUOTE } from './csv-range.js';
import { INVALID, parseFloat64, parseInt32 } from './numbers.js';

/** What a field of the file becomes. */
export const SKIPPED = 0;
export const FLOAT64 = 1;
export const INT32 = 2;
export const TEXT = 3;

/** Exact powers of ten for a decimal of at most 15 digits (see numbers.ts: Clinger's fast path). */
const POW10 = new Float64Array(16).map((_, i) => 10 ** i);

/** The columns being filled, per slot (a slot of another kind holds an empty array, never read). */
export interface PlainColumns {
  /** Per file field: SKIPPED, FLOAT64, INT32 or TEXT. */
  readonly kinds: Int32Array;
  /** Per file field: its slot among the columns read (-1: skipped). */
  readonly slots: Int32Array;
  readonly delimiter: number;
  /** Per slot: the values of a float64 column. */
  readonly floats: Float64Array[];
  /** Per slot: the values of an int32 column, or the codes of a text column. */
  readonly ints: Int32Array[];
  /** Per slot: the dictionary of a text column. */
  readonly dictionaries: (ByteDictionary | undefined)[];
}

/** Whether bytes [begin, stop) hold no quote and no CR: then this fast path can take them. */
export function isPlain(bytes: Buffer, begin: number, stop: number): boolean {
  const quote = bytes.indexOf(QUOTE, begin);
  if (quote !== -1 && quote < stop) return false;
  const cr = bytes.indexOf(CR, begin);
  return cr === -1 || cr >= stop;
}

/** What parsePlainRows returns when a row is one the fast path does not take: parse the range with the general parser. */
export const PLAIN_BAIL = -1;

/**
 * Rows parsed so far by the last parsePlainRows call. A module variable, not a field or an array
 * element: the loop is often compiled on the stack mid-loop before its exit ever ran, and a store
 * there that needs type feedback (a keyed or named store) would deoptimize it on every exit.
 */
let rowsParsed = 0;

/** Rows parsed (from row 0 of the columns) when the last parsePlainRows call returned. */
export function plainRowsParsed(): number {
  return rowsParsed;
}

/**
 * Parses the rows of bytes [from, stop) into `columns` from row `firstRow`, until `stop`, row
 * `limit` (at most the columns' length), or a row it does not take. `bytes[stop - 1]` must be a
 * newline, and [from, stop) must hold no quote and no CR. Returns where it stopped (`stop` when
 * done; before it when `limit` rows are parsed: call again from there), or PLAIN_BAIL; the rows
 * parsed are plainRowsParsed().
 */
export function parsePlainRows(
  bytes: Uint8Array,
  from: number,
  stop: number,
  firstRow: number,
  limit: number,
  columns: PlainColumns,
): number {
  const { kinds, slots, delimiter, floats, ints, dictionaries } = columns;
  const width = kinds.length;
  const last = width - 1;
  let pos = from;
  let rows = firstRow;
  let bailed = false;
  scan: while (pos < stop) {
    let c = bytes[pos] as number;
    if (c === NEWLINE) {
      pos++; // a blank line: skipped, as pandas does
      continue;
    }
    if (rows === limit) break;
    for (let field = 0; ; field++) {
      const kind = kinds[field] as number;
      const start = pos;
      if (kind === SKIPPED) {
        while (c !== delimiter && c !== NEWLINE) c = bytes[++pos] as number;
      } else if (kind === TEXT) {
        let hi = 0;
        let lo = 0;
        while (c !== delimiter && c !== NEWLINE) {
          hi = (hi << 8) | (lo >>> 24);
          lo = (lo << 8) | c;
          c = bytes[++pos] as number;
        }
        const slot = slots[field] as number;
        const dictionary = dictionaries[slot] as ByteDictionary;
        (ints[slot] as Int32Array)[rows] =
          pos === start
            ? -1
            : pos - start <= SHORT
              ? dictionary.codeShort(bytes, start, pos, hi, lo)
              : dictionary.code(bytes, start, pos);
      } else if (kind === FLOAT64) {
        const value = readFloatField(bytes, pos, delimiter);
        pos = fieldEnd[0] as number;
        if (pos < 0) {
          bailed = true;
          break scan;
        }
        (floats[slots[field] as number] as Float64Array)[rows] = value;
        c = bytes[pos] as number;
      } else {
        const value = readInt32Field(bytes, pos, delimiter);
        pos = fieldEnd[0] as number;
        if (pos < 0) {
          bailed = true;
          break scan;
        }
        (ints[slots[field] as number] as Int32Array)[rows] = value;
        c = bytes[pos] as number;
      }
      // The field ends the row exactly when it is the last one; otherwise the row is malformed.
      if (field === last) {
        if (c !== NEWLINE) {
          bailed = true;
          break scan;
        }
        pos++;
        break;
      }
      if (c !== delimiter) {
        bailed = true;
        break scan;
      }
      c = bytes[++pos] as number;
    }
    rows++;
  }
  rowsParsed = rows;
  return bailed ? PLAIN_BAIL : pos;
}

/** Where the last readFloatField or readInt32Field stopped: the delimiter or newline after the field, or -1 (not a value). */
export const fieldEnd = new Int32Array(1);

/**
 * The float64 of the field at `pos` (plain rules: it ends at the delimiter or a newline). A plain
 * decimal (sign, at most 15 digits, one point) is converted as it is read; anything else
 * (exponent, more digits, a missing-value word, empty) by the full reader of numbers.ts.
 */
export function readFloatField(bytes: Uint8Array, from: number, delimiter: number): number {
  let pos = from;
  let c = bytes[pos] as number;
  const negative = c === 45;
  if (negative || c === 43) c = bytes[++pos] as number;
  let mantissa = 0;
  const digitsFrom = pos;
  while (c >= 48 && c <= 57) {
    mantissa = mantissa * 10 + (c - 48);
    c = bytes[++pos] as number;
  }
  let digits = pos - digitsFrom;
  let fraction = 0;
  if (c === 46) {
    c = bytes[++pos] as number;
    const fractionFrom = pos;
    while (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      c = bytes[++pos] as number;
    }
    fraction = pos - fractionFrom;
    digits += fraction;
  }
  if ((c === delimiter || c === NEWLINE) && digits > 0 && digits <= 15) {
    fieldEnd[0] = pos;
    const value = fraction === 0 ? mantissa : mantissa / (POW10[fraction] as number);
    return negative ? -value : value;
  }
  while (c !== delimiter && c !== NEWLINE) c = bytes[++pos] as number;
  const parsed = parseFloat64(bytes, from, pos);
  fieldEnd[0] = parsed === INVALID ? -1 : pos;
  return parsed === INVALID ? 0 : parsed;
}

/** The int32 of the field at `pos` (plain rules), with fieldEnd set as readFloatField does. */
export function readInt32Field(bytes: Uint8Array, from: number, delimiter: number): number {
  let pos = from;
  let c = bytes[pos] as number;
  while (c !== delimiter && c !== NEWLINE) c = bytes[++pos] as number;
  const parsed = parseInt32(bytes, from, pos);
  fieldEnd[0] = parsed === INVALID ? -1 : pos;
  return parsed === INVALID ? 0 : parsed;
}
