/**
 * Numbers straight from bytes: no JS string per value on the hot path.
 *
 * The fast path is Clinger's: a decimal with at most 15 significant digits is an exact integer
 * mantissa (< 2^53) and a power of ten up to 10^22 is an exact double, so one multiplication or
 * division of the two is correctly rounded: the same double `Number(text)` gives. Anything else
 * (more digits, a larger exponent, `inf`) takes the slow path through `Number`.
 */

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/** Returned for text that is not a number (distinct from NaN, a valid missing value). */
export const INVALID = Symbol('invalid number');

/** Spellings read as a missing number, as pandas' default `na_values` do (the empty field included). */
const MISSING = new Set(['', 'NA', 'N/A', 'NaN', 'nan', 'NULL', 'null', 'n/a', '#N/A', '<NA>', 'None', '-NaN', '-nan']);
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function slowFloat(bytes: Uint8Array, a: number, b: number): number | typeof INVALID {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + a, b - a)
    .toString('latin1')
    .trim();
  if (MISSING.has(text)) return Number.NaN;
  if (DECIMAL.test(text)) return Number(text);
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity') return Number.POSITIVE_INFINITY;
  if (lower === '-inf' || lower === '-infinity') return Number.NEGATIVE_INFINITY;
  return INVALID;
}

/** The float64 in bytes [a, b): NaN for a missing value, INVALID for text that is not a number. */
export function parseFloat64(bytes: Uint8Array, a: number, b: number): number | typeof INVALID {
  if (a === b) return Number.NaN;
  let i = a;
  let c = bytes[i] as number;
  let negative = false;
  if (c === 45 || c === 43) {
    negative = c === 45;
    i++;
  }
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  let any = false;
  for (; i < b; i++) {
    c = bytes[i] as number;
    if (c < 48 || c > 57) break;
    any = true;
    if (mantissa !== 0 || c !== 48) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
    }
  }
  if (i < b && c === 46) {
    for (i++; i < b; i++) {
      c = bytes[i] as number;
      if (c < 48 || c > 57) break;
      any = true;
      if (mantissa !== 0 || c !== 48) {
        mantissa = mantissa * 10 + (c - 48);
        digits++;
      }
      scale--;
    }
  }
  if (i < b && (c === 101 || c === 69)) {
    let j = i + 1;
    let expNegative = false;
    if (bytes[j] === 45 || bytes[j] === 43) expNegative = bytes[j++] === 45;
    let exp = 0;
    const expStart = j;
    for (; j < b; j++) {
      const d = bytes[j] as number;
      if (d < 48 || d > 57 || exp > 10_000) break;
      exp = exp * 10 + (d - 48);
    }
    if (j === expStart) return slowFloat(bytes, a, b);
    scale += expNegative ? -exp : exp;
    i = j;
  }
  if (i !== b || !any || digits > 15 || scale > 22 || scale < -22) return slowFloat(bytes, a, b);
  const value = scale < 0 ? mantissa / (POW10[-scale] as number) : mantissa * (POW10[scale] as number);
  return negative ? -value : value;
}

/** The int32 in bytes [a, b), or INVALID (not an integer, or out of range; a missing value too). */
export function parseInt32(bytes: Uint8Array, a: number, b: number): number | typeof INVALID {
  let i = a;
  let negative = false;
  if (bytes[i] === 45 || bytes[i] === 43) negative = bytes[i++] === 45;
  if (i === b) return INVALID;
  let value = 0;
  for (; i < b; i++) {
    const c = bytes[i] as number;
    if (c < 48 || c > 57) return INVALID;
    value = value * 10 + (c - 48);
    if (value > 2_147_483_648) return INVALID;
  }
  if (negative) value = -value;
  return value > 2_147_483_647 ? INVALID : value;
}

/** Where scanFloat64 leaves its number. */
export const scanned = new Float64Array(1);

/**
 * The hot path of a number column: reads a plain decimal (sign, digits, one point; at most 15
 * significant digits) from `from` up to the field's end in one pass, leaving the value in
 * `scanned[0]`. Returns the offset of the delimiter or newline that ends it (past a CR before a
 * newline), or -1 for anything else: the caller then takes the general path (quotes, exponents,
 * long numbers, missing-value words, bad values).
 */
export function scanFloat64(bytes: Uint8Array, from: number, stop: number, delimiter: number): number {
  let i = from;
  let c = i < stop ? (bytes[i] as number) : -1;
  const negative = c === 45;
  if (negative || c === 43) c = ++i < stop ? (bytes[i] as number) : -1;
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  let point = false;
  let any = false;
  for (; i < stop; c = ++i < stop ? (bytes[i] as number) : -1) {
    if (c >= 48 && c <= 57) {
      any = true;
      if (mantissa !== 0 || c !== 48) {
        mantissa = mantissa * 10 + (c - 48);
        digits++;
      }
      if (point) scale--;
    } else if (c === 46 && !point) point = true;
    else break;
  }
  if (i < stop && c !== delimiter && c !== 0x0a) {
    if (c !== 0x0d || bytes[i + 1] !== 0x0a) return -1;
    i++; // the newline after the CR ends the row
  }
  if (!any) {
    if (i !== from) return -1; // a sign or point alone, or a CR: the general path says what it is
    scanned[0] = Number.NaN; // an empty field: missing
    return i;
  }
  if (digits > 15 || scale < -22) return -1;
  const value = scale < 0 ? mantissa / (POW10[-scale] as number) : mantissa;
  scanned[0] = negative ? -value : value;
  return i;
}
