/**
 * Group-by reductions in three stages, as Dask's apply-concat-apply does them:
 *
 *   partition ─► groupPartial (in a worker: per-group accumulators over its rows)
 *   partials  ─► combinePartials (in a worker, `splitEvery` at a time, in partition order, so
 *                first/last stay right)
 *   the last  ─► finalizeGroups (main thread: mean = sum / count, groups sorted by key)
 *
 * Semantics follow pandas' defaults: rows whose key is missing are dropped (dropna=True); sum,
 * mean, min, max skip NaN; count counts non-missing values; first/last take the first/last
 * non-missing value; size counts rows; groups come out sorted by key (sort=True). No keys: one
 * group, the whole frame.
 */
import type { Accumulator, AggSpec, CodedKeys, Column, GroupPartial, Table } from './types.js';

/** Per-row group index (-1: a key is missing), and each group's key values, for one partition. */
function groupRows(
  table: Table,
  keys: readonly string[],
): { index: Int32Array; count: number; keys: GroupPartial['keys'] } {
  const index = new Int32Array(table.length);
  if (keys.length === 0) return { index, count: table.length > 0 ? 1 : 0, keys: [] };
  const columns = keys.map((key) => {
    const at = table.names.indexOf(key);
    if (at < 0) throw new RangeError(`groupby: no column "${key}" (columns: ${table.names.join(', ')})`);
    return table.columns[at] as Column;
  });
  // Each key column as small integer codes per row: a string column has them already.
  const codes: Int32Array[] = [];
  const distinct: (number[] | readonly string[])[] = [];
  for (const column of columns) {
    if (column.dtype === 'string') {
      codes.push(column.codes);
      distinct.push(column.dict);
      continue;
    }
    const seen = new Map<number, number>();
    const values: number[] = [];
    const out = new Int32Array(table.length);
    for (let i = 0; i < table.length; i++) {
      const v = column.values[i] as number;
      if (Number.isNaN(v)) {
        out[i] = -1;
        continue;
      }
      let code = seen.get(v);
      if (code === undefined) {
        code = values.length;
        seen.set(v, code);
        values.push(v);
      }
      out[i] = code;
    }
    codes.push(out);
    distinct.push(values);
  }
  // Codes of all keys → one number per row (mixed radix), then → dense group index in first-seen order.
  // Up to 4M key combinations: a dense table, else a Map (by number while the radix product is
  // exact in a double, by the codes as text beyond).
  const product = distinct.reduce((n, d) => n * d.length, 1);
  const dense = product <= 1 << 22 ? new Int32Array(product).fill(-1) : undefined;
  const exact = product <= Number.MAX_SAFE_INTEGER;
  const groupOf = new Map<number | string, number>();
  const firstRow: number[] = [];
  for (let i = 0; i < table.length; i++) {
    let combined = 0;
    let text = '';
    let missing = false;
    for (let k = 0; k < codes.length; k++) {
      const code = (codes[k] as Int32Array)[i] as number;
      if (code < 0) {
        missing = true;
        break;
      }
      if (exact) combined = combined * (distinct[k] as unknown[]).length + code;
      else text += `${code},`;
    }
    if (missing) {
      index[i] = -1;
      continue;
    }
    let group = dense ? (dense[combined] as number) : (groupOf.get(exact ? combined : text) ?? -1);
    if (group < 0) {
      group = firstRow.length;
      if (dense) dense[combined] = group;
      else groupOf.set(exact ? combined : text, group);
      firstRow.push(i);
    }
    index[i] = group;
  }
  const keyValues = columns.map((column, k) => {
    const rowCodes = codes[k] as Int32Array;
    if (column.dtype === 'string') return firstRow.map((row) => column.dict[rowCodes[row] as number] as string);
    const values = distinct[k] as number[];
    return Float64Array.from(firstRow, (row) => values[rowCodes[row] as number] as number);
  });
  return { index, count: firstRow.length, keys: keyValues };
}

function isMissing(column: Column, i: number): boolean {
  return column.dtype === 'string' ? (column.codes[i] as number) < 0 : Number.isNaN(column.values[i] as number);
}

function accumulate(table: Table, spec: AggSpec, index: Int32Array, groups: number): Accumulator {
  const rows = table.length;
  if (spec.op === 'size') {
    const values = new Float64Array(groups);
    for (let i = 0; i < rows; i++)
      if ((index[i] as number) >= 0) {
        const g = index[i] as number;
        values[g] = (values[g] as number) + 1;
      }
    return { op: 'size', values };
  }
  const at = table.names.indexOf(spec.column);
  if (at < 0) throw new RangeError(`agg: no column "${spec.column}" (columns: ${table.names.join(', ')})`);
  const column = table.columns[at] as Column;
  if (spec.op === 'count') {
    const values = new Float64Array(groups);
    for (let i = 0; i < rows; i++)
      if ((index[i] as number) >= 0 && !isMissing(column, i)) {
        const g = index[i] as number;
        values[g] = (values[g] as number) + 1;
      }
    return { op: 'count', values };
  }
  if (column.dtype === 'string') {
    if (spec.op === 'sum' || spec.op === 'mean') {
      throw new TypeError(
        `agg: ${spec.op} of "${spec.column}" needs numbers, but it is a string column (use count, min, max, first or last)`,
      );
    }
    const values: (string | null)[] = new Array(groups).fill(null);
    for (let i = 0; i < rows; i++) {
      const g = index[i] as number;
      const code = column.codes[i] as number;
      if (g < 0 || code < 0) continue;
      const v = column.dict[code] as string;
      const held = values[g];
      if (
        held === null ||
        held === undefined ||
        spec.op === 'last' ||
        (spec.op === 'min' && v < held) ||
        (spec.op === 'max' && v > held)
      )
        values[g] = v;
    }
    return { op: spec.op, values };
  }
  const data = column.values;
  if (spec.op === 'sum' || spec.op === 'mean') {
    const sums = new Float64Array(groups);
    const counts = new Float64Array(groups);
    for (let i = 0; i < rows; i++) {
      const g = index[i] as number;
      const v = data[i] as number;
      if (g < 0 || Number.isNaN(v)) continue; // Number.isNaN(v): NaN, skipped as pandas skips it
      sums[g] = (sums[g] as number) + v;
      counts[g] = (counts[g] as number) + 1;
    }
    return spec.op === 'sum' ? { op: 'sum', values: sums } : { op: 'mean', sums, counts };
  }
  const values = new Float64Array(groups).fill(Number.NaN);
  for (let i = 0; i < rows; i++) {
    const g = index[i] as number;
    const v = data[i] as number;
    if (g < 0 || Number.isNaN(v)) continue;
    const held = values[g] as number;
    if (Number.isNaN(held) || spec.op === 'last' || (spec.op === 'min' && v < held) || (spec.op === 'max' && v > held))
      values[g] = v;
  }
  return { op: spec.op, values };
}

/** One partition's per-group accumulators. */
export function groupPartial(table: Table, keys: readonly string[], aggs: readonly AggSpec[]): GroupPartial {
  const { index, count, keys: keyValues } = groupRows(table, keys);
  return { kind: 'groups', count, keys: keyValues, accs: aggs.map((spec) => accumulate(table, spec, index, count)) };
}

const ID_RADIX = 2 ** 26;

/**
 * Each group of each partial → its slot in the merged partial (first-seen order over the partials).
 * A key value is looked up once per key column (value → a dense id), then the ids of a group's
 * keys → its slot: by one number for up to two keys (mixed radix, exact below 2^53), else by their text.
 */
function mergeSlots(partials: readonly GroupPartial[]): {
  slotOf: Int32Array[];
  owner: [GroupPartial, number][];
  idOf: Map<number | string | null, number>[];
  slotIds: Int32Array[];
} {
  const keyCount = partials[0]?.keys.length ?? 0;
  const idOf = Array.from({ length: keyCount }, () => new Map<number | string | null, number>());
  const idFor = (k: number, value: number | string | null): number => {
    const ids = idOf[k] as Map<number | string | null, number>;
    let id = ids.get(value);
    if (id === undefined) {
      id = ids.size;
      ids.set(value, id);
    }
    return id;
  };
  const slots = new Map<number | string, number>();
  const owner: [GroupPartial, number][] = [];
  const total = partials.reduce((n, p) => n + p.count, 0);
  /** Per key column, each merged group's value id. */
  const slotIds = Array.from({ length: keyCount }, () => new Int32Array(total));
  // Ids count distinct values, at most the groups in all: below 2^26, two keys' ids are exact in a double.
  const numeric = keyCount <= 2 && total < ID_RADIX;
  const ids = new Int32Array(keyCount);
  const slotOf = partials.map((partial) => {
    // A coded column's values are looked up once per partial, not once per group.
    const idsOfCodes = partial.keys.map((column, k) =>
      isCoded(column) ? Int32Array.from(column.values, (value) => idFor(k, value)) : undefined,
    );
    const out = new Int32Array(partial.count);
    for (let g = 0; g < partial.count; g++) {
      let combined = 0;
      let text = '';
      for (let k = 0; k < keyCount; k++) {
        const column = partial.keys[k] as GroupPartial['keys'][number];
        const coded = idsOfCodes[k];
        const id = isCoded(column)
          ? ((coded as Int32Array)[column.codes[g] as number] as number)
          : idFor(k, (column as ArrayLike<number | string | null>)[g] as number | string | null);
        ids[k] = id;
        if (numeric) combined = combined * ID_RADIX + id;
        else text += `${id},`;
      }
      const key = numeric ? combined : text;
      let slot = slots.get(key);
      if (slot === undefined) {
        slot = owner.length;
        slots.set(key, slot);
        owner.push([partial, g]);
        for (let k = 0; k < keyCount; k++) (slotIds[k] as Int32Array)[slot] = ids[k] as number;
      }
      out[g] = slot;
    }
    return out;
  });
  return { slotOf, owner, idOf, slotIds };
}

/** Whether a key column is coded (CodedKeys). */
export function isCoded(column: GroupPartial['keys'][number]): column is CodedKeys {
  return !(column instanceof Float64Array) && !Array.isArray(column);
}

/** A key column as one value per group (a coded one decoded). */
export function keyValues(column: GroupPartial['keys'][number]): Float64Array | (string | null)[] {
  if (!isCoded(column)) return column;
  return Array.from(column.codes, (code) => column.values[code] ?? null);
}

/** Merges partials given in partition order into one. */
export function combinePartials(partials: readonly GroupPartial[], aggs: readonly AggSpec[]): GroupPartial {
  const { slotOf, owner, idOf, slotIds } = mergeSlots(partials);
  const count = owner.length;
  const first = partials[0];
  // Text keys come out coded against every distinct value seen (ids in first-seen order).
  const keys = (first?.keys ?? []).map((column, k): GroupPartial['keys'][number] => {
    // Ids are dense, in first-seen order: the map's keys in order are the values by id.
    const values = [...(idOf[k] as Map<number | string | null, number>).keys()];
    const ids = (slotIds[k] as Int32Array).subarray(0, count);
    return column instanceof Float64Array
      ? Float64Array.from(ids, (id) => values[id] as number)
      : { codes: ids.slice(), values: values as (string | null)[] };
  });
  const accs = aggs.map((spec, a): Accumulator => {
    const sample = first?.accs[a];
    if (spec.op === 'mean') {
      const sums = new Float64Array(count);
      const counts = new Float64Array(count);
      for (const [i, p] of partials.entries()) {
        const acc = p.accs[a] as Extract<Accumulator, { op: 'mean' }>;
        const slotOfGroup = slotOf[i] as Int32Array;
        for (let g = 0; g < p.count; g++) {
          const slot = slotOfGroup[g] as number;
          sums[slot] = (sums[slot] as number) + (acc.sums[g] as number);
          counts[slot] = (counts[slot] as number) + (acc.counts[g] as number);
        }
      }
      return { op: 'mean', sums, counts };
    }
    if (spec.op === 'sum' || spec.op === 'count' || spec.op === 'size') {
      const values = new Float64Array(count);
      for (const [i, p] of partials.entries()) {
        const acc = p.accs[a] as { values: Float64Array };
        const slotOfGroup = slotOf[i] as Int32Array;
        for (let g = 0; g < p.count; g++) {
          const slot = slotOfGroup[g] as number;
          values[slot] = (values[slot] as number) + (acc.values[g] as number);
        }
      }
      return { op: spec.op, values };
    }
    const text = sample !== undefined && 'values' in sample && !(sample.values instanceof Float64Array);
    const values: Float64Array | (string | null)[] = text
      ? new Array(count).fill(null)
      : new Float64Array(count).fill(Number.NaN);
    for (const [i, p] of partials.entries()) {
      const acc = p.accs[a] as { values: Float64Array | (string | null)[] };
      const slotOfGroup = slotOf[i] as Int32Array;
      for (let g = 0; g < p.count; g++) {
        const v = acc.values[g] as number | string | null;
        if (v === null || (typeof v === 'number' && Number.isNaN(v))) continue;
        const slot = slotOfGroup[g] as number;
        const held = values[slot] as number | string | null;
        const empty = held === null || (typeof held === 'number' && Number.isNaN(held));
        if (
          empty ||
          spec.op === 'last' ||
          (spec.op === 'min' && v < (held as typeof v)) ||
          (spec.op === 'max' && v > (held as typeof v))
        ) {
          (values as (number | string | null)[])[slot] = v;
        }
      }
    }
    return { op: spec.op as 'min' | 'max' | 'first' | 'last', values };
  });
  return { kind: 'groups', count, keys, accs };
}
