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
import { HASH_PRIME, HASH_SEED } from './byte-dictionary.js';
import { NEWLINE } from './csv-range.js';
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

/** Where parsePlainRows stopped. */
export const PLAIN_DONE = 0;
/** `limit` rows are parsed (the columns may be full): call again from `state`. */
export const PLAIN_FULL = 1;
/** A row the fast path does not take: parse the range with the general parser. */
export const PLAIN_BAIL = 2;

/** The resumable position of parsePlainRows: [pos, rows]. */
export type PlainState = Float64Array;

/**
 * Parses the rows of bytes [state[0], stop) into `columns` from row state[1], until `stop`,
 * row `limit` (at most the columns' length), or a row it does not take. `bytes[stop - 1]` must be a newline, and
 * [begin, stop) must hold no quote and no CR. Returns PLAIN_DONE, PLAIN_FULL or PLAIN_BAIL.
 */
export function parsePlainRows(
  bytes: Uint8Array,
  stop: number,
  limit: number,
  columns: PlainColumns,
  state: PlainState,
): number {
  const { kinds, slots, delimiter, floats, ints, dictionaries } = columns;
  const width = kinds.length;
  const last = width - 1;
  let pos = state[0] as number;
  let rows = state[1] as number;
  let status = PLAIN_DONE;
  rows: while (pos < stop) {
    let c = bytes[pos] as number;
    if (c === NEWLINE) {
      pos++; // a blank line: skipped, as pandas does
      continue;
    }
    if (rows === limit) {
      status = PLAIN_FULL;
      break;
    }
    for (let field = 0; ; field++) {
      const kind = kinds[field] as number;
      const start = pos;
      if (kind === SKIPPED) {
        while (c !== delimiter && c !== NEWLINE) c = bytes[++pos] as number;
      } else if (kind === TEXT) {
        let hash = HASH_SEED;
        while (c !== delimiter && c !== NEWLINE) {
          hash = Math.imul(hash ^ c, HASH_PRIME);
          c = bytes[++pos] as number;
        }
        const slot = slots[field] as number;
        (ints[slot] as Int32Array)[rows] =
          pos === start ? -1 : (dictionaries[slot] as ByteDictionary).codeHashed(bytes, start, pos, hash);
      } else if (kind === FLOAT64) {
        // A plain decimal (sign, at most 15 digits, one point) is converted as it is read.
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
        let value: number;
        if ((c === delimiter || c === NEWLINE) && digits > 0 && digits <= 15) {
          value = fraction === 0 ? mantissa : mantissa / (POW10[fraction] as number);
          if (negative) value = -value;
        } else {
          // Anything else (exponent, more digits, a missing-value word, empty): the full reader.
          while (c !== delimiter && c !== NEWLINE) c = bytes[++pos] as number;
          const parsed = parseFloat64(bytes, start, pos);
          if (parsed === INVALID) {
            status = PLAIN_BAIL;
            break rows;
          }
          value = parsed;
        }
        (floats[slots[field] as number] as Float64Array)[rows] = value;
      } else {
        while (c !== delimiter && c !== NEWLINE) c = bytes[++pos] as number;
        const parsed = parseInt32(bytes, start, pos);
        if (parsed === INVALID) {
          status = PLAIN_BAIL;
          break rows;
        }
        (ints[slots[field] as number] as Int32Array)[rows] = parsed;
      }
      // The field ends the row exactly when it is the last one; otherwise the row is malformed.
      if (field === last) {
        if (c !== NEWLINE) {
          status = PLAIN_BAIL;
          break rows;
        }
        pos++;
        break;
      }
      if (c !== delimiter) {
        status = PLAIN_BAIL;
        break rows;
      }
      c = bytes[++pos] as number;
    }
    rows++;
  }
  state[0] = pos;
  state[1] = rows;
  return status;
}
