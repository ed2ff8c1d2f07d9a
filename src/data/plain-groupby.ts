/**
 * A group-by fused into the fast parse (csv-plain.ts's rules: rows with no quote and no CR). When
 * a partition ends in `groupby(text keys).agg(ops over number columns)` with no verb between, its
 * rows never become columns: each row's key fields are looked up in their dictionaries, the codes
 * give its group, and its values are added to the group's accumulators in the same pass. Columns
 * the query does not name are stepped over. Memory is the per-group state, not the partition.
 *
 * The result is exactly what groupPartial (aggregate.ts) gives for the same rows: groups in
 * first-seen order, missing keys dropped, NaN skipped. A row the fast path does not take makes it
 * give up (`undefined`); the caller then parses the range with the general parser.
 */

import { ByteDictionary, SHORT } from './byte-dictionary.js';
import { fieldEnd, isPlain, readFloatField, readInt32Field } from './csv-plain.js';
import { NEWLINE } from './csv-range.js';
import type { Accumulator, AggOp, AggSpec, CsvSchema, GroupPartial } from './types.js';

/** What a file field is to the query (the WebAssembly kernel, kernel/groupby.wat, reads the same codes). */
export const SKIPPED = 0;
export const KEY = 1;
export const FLOAT64 = 2;
export const INT32 = 3;

/** Accumulator kinds, per aggregation (first is 6: kept when the held value is NaN, as min and max are). */
export const OPS: readonly AggOp[] = ['sum', 'mean', 'count', 'size', 'min', 'max', 'first', 'last'];
export const SUM = 0;
export const MEAN = 1;
export const COUNT = 2;
export const SIZE = 3;
export const MIN = 4;
export const MAX = 5;
export const LAST = 7;

/** Rows per call of the kernel (see CHUNK_ROWS in csv-parse.ts: V8 then optimizes it whole). */
const CHUNK_ROWS = 4096;

/** The query, compiled to arrays the kernel reads. */
export interface Layout {
  /** Per file field: SKIPPED, KEY, FLOAT64 or INT32. */
  readonly kinds: Int32Array;
  /** Per file field: its key index (KEY) or value slot (numbers). */
  readonly slots: Int32Array;
  readonly keyCount: number;
  readonly valueCount: number;
  /** Per aggregation: its op (SUM...) and the value slot it reads (-1: size). */
  readonly ops: Int32Array;
  readonly sources: Int32Array;
}

/** The layout of a query the fused path takes, or undefined (a number key, a text value, ...). */
export function layoutOf(schema: CsvSchema, keys: readonly string[], aggs: readonly AggSpec[]): Layout | undefined {
  const width = schema.names.length;
  const kinds = new Int32Array(width);
  const slots = new Int32Array(width).fill(-1);
  for (const [k, key] of keys.entries()) {
    const at = schema.names.indexOf(key);
    if (at < 0 || schema.dtypes[at] !== 'string' || kinds[at] !== SKIPPED) return undefined;
    kinds[at] = KEY;
    slots[at] = k;
  }
  let valueCount = 0;
  const ops = new Int32Array(aggs.length);
  const sources = new Int32Array(aggs.length).fill(-1);
  for (const [a, spec] of aggs.entries()) {
    ops[a] = OPS.indexOf(spec.op);
    if (spec.op === 'size') continue;
    const at = schema.names.indexOf(spec.column);
    const dtype = schema.dtypes[at];
    if (at < 0 || kinds[at] === KEY || (dtype !== 'float64' && dtype !== 'int32')) return undefined;
    if (kinds[at] === SKIPPED) {
      kinds[at] = dtype === 'float64' ? FLOAT64 : INT32;
      slots[at] = valueCount++;
    }
    sources[a] = slots[at] as number;
  }
  if (keys.length === 0) return undefined;
  return { kinds, slots, keyCount: keys.length, valueCount, ops, sources };
}

/** A hash of `count` key codes from `codes[at]`. */
function hashCodes(codes: Int32Array, at: number, count: number): number {
  let hash = 0;
  for (let k = 0; k < count; k++) hash = Math.imul(hash ^ (codes[at + k] as number), 0x9e3779b1) + k;
  return hash ^ (hash >>> 15);
}

/** Per-group state, growing with the groups. */
class Groups {
  count = 0;
  /** Per group, its key codes (keyCount each). */
  keyCodes: Int32Array;
  /** Per aggregation: the sums, counts or kept values; a mean also its counts. */
  readonly values: Float64Array[];
  readonly counts: Float64Array[];
  /** Open addressing over key-code tuples: group + 1 per slot (0: empty). */
  private table = new Int32Array(1024);

  constructor(
    private readonly layout: Layout,
    capacity: number,
  ) {
    this.keyCodes = new Int32Array(capacity * layout.keyCount);
    this.values = Array.from(layout.ops, (op) => this.fresh(op, capacity));
    this.counts = Array.from(layout.ops, (op) => new Float64Array(op === MEAN ? capacity : 0));
  }

  private fresh(op: number, capacity: number): Float64Array {
    const values = new Float64Array(capacity);
    if (op >= MIN) values.fill(Number.NaN);
    return values;
  }

  /** Per code of a single key: its group + 1 (0: none yet). */
  private direct = new Int32Array(256);

  /** The group of a single key's code (>= 0), added if new. */
  findOne(code: number): number {
    if (code >= this.direct.length) {
      const direct = new Int32Array(Math.max(2 * this.direct.length, code + 1));
      direct.set(this.direct);
      this.direct = direct;
    }
    const entry = this.direct[code] as number;
    if (entry !== 0) return entry - 1;
    const group = this.count++;
    if (group * this.layout.keyCount >= this.keyCodes.length) this.grow();
    this.keyCodes[group] = code;
    this.direct[code] = group + 1;
    return group;
  }

  /** The partial groupPartial would give: keys decoded, accumulators cut to the groups. */
  toPartial(dictionaries: readonly ByteDictionary[]): GroupPartial {
    const { keyCount, ops } = this.layout;
    // One key: its values by group; more: coded against their dictionaries (CodedKeys), so that a
    // partial of many groups travels as few strings.
    const keys = dictionaries.map((dictionary, k): GroupPartial['keys'][number] =>
      keyCount === 1
        ? Array.from({ length: this.count }, (_, g) => dictionary.values[this.keyCodes[g] as number] as string)
        : {
            codes: Int32Array.from({ length: this.count }, (_, g) => this.keyCodes[g * keyCount + k] as number),
            values: dictionary.values.slice(),
          },
    );
    const accs = Array.from(ops, (op, a): Accumulator => {
      const values = (this.values[a] as Float64Array).slice(0, this.count);
      if (op === MEAN)
        return { op: 'mean', sums: values, counts: (this.counts[a] as Float64Array).slice(0, this.count) };
      const name = OPS[op] as AggOp;
      return name === 'sum' || name === 'count' || name === 'size'
        ? { op: name, values }
        : { op: name as 'min' | 'max' | 'first' | 'last', values };
    });
    return { kind: 'groups', count: this.count, keys, accs };
  }

  /**
   * Two keys: group + 1 at (code1 << shift) + code2 (0: none yet), while that dense table stays
   * small (dictionary codes are dense, so it is most often); undefined: the hash table is used.
   */
  private pairs: Int32Array | undefined = new Int32Array(1 << 12);
  private shift = 6;

  /** The group of two keys' codes (>= 0, also in `codes`), added if new. */
  findPair(code1: number, code2: number, codes: Int32Array): number {
    const pairs = this.pairs;
    if (pairs === undefined) return this.find(codes);
    if (code2 >= 1 << this.shift || code1 >= pairs.length >> this.shift) {
      this.relayout(code1, code2);
      return this.findPair(code1, code2, codes);
    }
    const at = (code1 << this.shift) + code2;
    const entry = pairs[at] as number;
    if (entry !== 0) return entry - 1;
    const group = this.newGroup(codes);
    pairs[at] = group + 1;
    return group;
  }

  /** A dense pair table that holds (code1, code2), or the hash table when it would be too large. */
  private relayout(code1: number, code2: number): void {
    let shift = this.shift;
    while (1 << shift <= code2) shift++;
    let rows = Math.max(1, (this.pairs?.length ?? 0) >> this.shift);
    while (rows <= code1) rows *= 2;
    if (rows * 2 ** shift > 1 << 22) {
      this.pairs = undefined;
      this.rebuildTable();
      return;
    }
    const pairs = new Int32Array(rows << shift);
    for (let group = 0; group < this.count; group++) {
      pairs[((this.keyCodes[2 * group] as number) << shift) + (this.keyCodes[2 * group + 1] as number)] = group + 1;
    }
    this.pairs = pairs;
    this.shift = shift;
  }

  /** The group of the key codes (all >= 0), added if new. */
  find(codes: Int32Array): number {
    const keyCount = this.layout.keyCount;
    const mask = this.table.length - 1;
    for (let slot = hashCodes(codes, 0, keyCount) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.table[slot] as number;
      if (entry === 0) {
        const group = this.newGroup(codes);
        this.table[slot] = group + 1;
        if (this.count * 2 > this.table.length) this.rebuildTable();
        return group;
      }
      const at = (entry - 1) * keyCount;
      let same = true;
      for (let k = 0; k < keyCount; k++) {
        if (this.keyCodes[at + k] !== codes[k]) {
          same = false;
          break;
        }
      }
      if (same) return entry - 1;
    }
  }

  /** A new group of these key codes. */
  private newGroup(codes: Int32Array): number {
    const group = this.count++;
    const keyCount = this.layout.keyCount;
    if ((group + 1) * keyCount > this.keyCodes.length) this.grow();
    for (let k = 0; k < keyCount; k++) this.keyCodes[group * keyCount + k] = codes[k] as number;
    return group;
  }

  private grow(): void {
    const capacity = 2 * (this.keyCodes.length / this.layout.keyCount);
    const keyCodes = new Int32Array(capacity * this.layout.keyCount);
    keyCodes.set(this.keyCodes);
    this.keyCodes = keyCodes;
    for (let a = 0; a < this.values.length; a++) {
      const values = this.fresh(this.layout.ops[a] as number, capacity);
      values.set(this.values[a] as Float64Array);
      this.values[a] = values;
      if (this.layout.ops[a] === MEAN) {
        const counts = new Float64Array(capacity);
        counts.set(this.counts[a] as Float64Array);
        this.counts[a] = counts;
      }
    }
  }

  /** The hash table of every group, at most half full. */
  private rebuildTable(): void {
    let size = 1024;
    while (size < 2 * this.count + 2) size *= 2;
    const table = new Int32Array(size);
    const mask = size - 1;
    const keyCount = this.layout.keyCount;
    for (let group = 0; group < this.count; group++) {
      let slot = hashCodes(this.keyCodes, group * keyCount, keyCount) & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = group + 1;
    }
    this.table = table;
  }
}

/** Rows parsed by the last reduceRows call (a module variable: see rowsParsed in csv-plain.ts). */
let rowsReduced = 0;

/**
 * Reduces the rows of bytes [from, stop) into `groups`, until `stop`, `limit` more rows, or a row
 * it does not take. Same contract as parsePlainRows: returns where it stopped, or -1.
 */
function reduceRows(
  bytes: Uint8Array,
  from: number,
  stop: number,
  limit: number,
  layout: Layout,
  delimiter: number,
  dictionaries: readonly ByteDictionary[],
  groups: Groups,
  codes: Int32Array,
  row: Float64Array,
): number {
  const { kinds, slots, ops, sources, keyCount } = layout;
  const last = kinds.length - 1;
  const aggCount = ops.length;
  let pos = from;
  let rows = 0;
  let bailed = false;
  scan: while (pos < stop) {
    let c = bytes[pos] as number;
    if (c === NEWLINE) {
      pos++; // a blank line: skipped, as pandas does
      continue;
    }
    if (rows === limit) break;
    let missing = false;
    for (let field = 0; ; field++) {
      const kind = kinds[field] as number;
      if (kind === SKIPPED) {
        while (c !== delimiter && c !== NEWLINE) c = bytes[++pos] as number;
      } else if (kind === KEY) {
        const start = pos;
        let hi = 0;
        let lo = 0;
        while (c !== delimiter && c !== NEWLINE) {
          hi = (hi << 8) | (lo >>> 24);
          lo = (lo << 8) | c;
          c = bytes[++pos] as number;
        }
        const k = slots[field] as number;
        const dictionary = dictionaries[k] as ByteDictionary;
        if (pos === start) missing = true;
        else
          codes[k] =
            pos - start <= SHORT ? dictionary.codeShort(bytes, start, pos, hi, lo) : dictionary.code(bytes, start, pos);
      } else {
        const value = kind === FLOAT64 ? readFloatField(bytes, pos, delimiter) : readInt32Field(bytes, pos, delimiter);
        pos = fieldEnd[0] as number;
        if (pos < 0) {
          bailed = true;
          break scan;
        }
        row[slots[field] as number] = value;
        c = bytes[pos] as number;
      }
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
    if (missing) continue; // a missing key drops the row, as pandas' dropna=True does
    const group =
      keyCount === 1
        ? groups.findOne(codes[0] as number)
        : keyCount === 2
          ? groups.findPair(codes[0] as number, codes[1] as number, codes)
          : groups.find(codes);
    for (let a = 0; a < aggCount; a++) {
      const op = ops[a] as number;
      const values = groups.values[a] as Float64Array;
      if (op === SIZE) {
        values[group] = (values[group] as number) + 1;
        continue;
      }
      const v = row[sources[a] as number] as number;
      if (Number.isNaN(v)) continue; // NaN: skipped, as pandas skips it
      if (op === SUM) values[group] = (values[group] as number) + v;
      else if (op === COUNT) values[group] = (values[group] as number) + 1;
      else if (op === MEAN) {
        values[group] = (values[group] as number) + v;
        const counts = groups.counts[a] as Float64Array;
        counts[group] = (counts[group] as number) + 1;
      } else {
        const held = values[group] as number;
        if (Number.isNaN(held) || op === LAST || (op === MIN && v < held) || (op === MAX && v > held))
          values[group] = v;
      }
    }
  }
  rowsReduced = rows;
  return bailed ? -1 : pos;
}

/**
 * One partition's group-by straight from plain bytes [begin, stop), or undefined when the query
 * or the bytes are not for this path (the caller then parses and groups the general way).
 */
export function reducePlainGroups(
  bytes: Buffer,
  begin: number,
  stop: number,
  schema: CsvSchema,
  keys: readonly string[],
  aggs: readonly AggSpec[],
): { partial: GroupPartial; rows: number } | undefined {
  const layout = layoutOf(schema, keys, aggs);
  if (layout === undefined || !isPlain(bytes, begin, stop)) return undefined;
  const dictionaries = keys.map(() => new ByteDictionary());
  const groups = new Groups(layout, 256);
  const codes = new Int32Array(layout.keyCount);
  const row = new Float64Array(Math.max(1, layout.valueCount));
  let rows = 0;
  const run = (data: Uint8Array, from: number, to: number): boolean => {
    for (let pos = from; pos < to; ) {
      pos = reduceRows(data, pos, to, CHUNK_ROWS, layout, schema.delimiter, dictionaries, groups, codes, row);
      if (pos < 0) return false;
      rows += rowsReduced;
    }
    return true;
  };
  // The loop needs a newline at the end: a last row without one (the file's end) is read from a copy.
  const lastNewline = bytes.lastIndexOf(NEWLINE, stop - 1);
  const whole = lastNewline < begin ? begin : lastNewline + 1;
  if (!run(bytes, begin, whole)) return undefined;
  if (whole < stop) {
    const tail = Buffer.allocUnsafe(stop - whole + 1);
    bytes.copy(tail, 0, whole, stop);
    tail[tail.length - 1] = NEWLINE;
    if (!run(tail, 0, tail.length)) return undefined;
  }
  return { partial: groups.toPartial(dictionaries), rows };
}
