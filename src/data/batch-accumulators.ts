/**
 * The accumulators of the WebAssembly group-by (wasm-groupby.ts): the kernel hands over batches of
 * rows as (group, values) arrays, and every aggregation op is applied here, in one tight loop per
 * op over the batch. The rules are plain-groupby.ts's (and so groupPartial's): a row of group -1
 * (a missing key) is dropped, NaN is skipped, first keeps the first non-NaN value.
 */

import { COUNT, LAST, type Layout, MAX, MEAN, MIN, OPS, SIZE, SUM } from './plain-groupby.js';
import type { Accumulator, AggOp } from './types.js';

export class BatchAccumulators {
  /** Per aggregation: the sums, counts or kept values; a mean also its counts. */
  private readonly values: Float64Array[];
  private readonly counts: Float64Array[];
  private capacity = 256;

  constructor(private readonly layout: Layout) {
    this.values = Array.from(layout.ops, (op) => this.fresh(op, this.capacity));
    this.counts = Array.from(layout.ops, (op) => new Float64Array(op === MEAN ? this.capacity : 0));
  }

  /** Min, max, first and last start at NaN (nothing kept yet); the others at 0. */
  private fresh(op: number, capacity: number): Float64Array {
    const values = new Float64Array(capacity);
    if (op >= MIN) values.fill(Number.NaN);
    return values;
  }

  /** Room for `groups` groups. */
  private reserve(groups: number): void {
    if (groups <= this.capacity) return;
    let capacity = this.capacity;
    while (capacity < groups) capacity *= 2;
    for (let a = 0; a < this.values.length; a++) {
      const op = this.layout.ops[a] as number;
      const values = this.fresh(op, capacity);
      values.set(this.values[a] as Float64Array);
      this.values[a] = values;
      if (op === MEAN) {
        const counts = new Float64Array(capacity);
        counts.set(this.counts[a] as Float64Array);
        this.counts[a] = counts;
      }
    }
    this.capacity = capacity;
  }

  /**
   * Adds a batch of `n` rows: row i is in group `groupOf[i]` (-1: dropped), and the value of
   * value slot s is `values[s * stride + i]`. `groups` is how many groups exist now.
   */
  add(groupOf: Int32Array, values: Float64Array, stride: number, n: number, groups: number): void {
    this.reserve(groups);
    const { ops, sources } = this.layout;
    for (let a = 0; a < ops.length; a++) {
      const op = ops[a] as number;
      const acc = this.values[a] as Float64Array;
      if (op === SIZE) {
        for (let i = 0; i < n; i++) {
          const g = groupOf[i] as number;
          if (g >= 0) acc[g] = (acc[g] as number) + 1;
        }
        continue;
      }
      const from = (sources[a] as number) * stride;
      if (op === SUM) addSums(acc, groupOf, values, from, n);
      else if (op === COUNT) addCounts(acc, groupOf, values, from, n);
      else if (op === MEAN) {
        addSums(acc, groupOf, values, from, n);
        addCounts(this.counts[a] as Float64Array, groupOf, values, from, n);
      } else keep(acc, op, groupOf, values, from, n);
    }
  }

  /** The accumulators cut to `groups` groups, as plain-groupby.ts's Groups.toPartial gives them. */
  toAccumulators(groups: number): Accumulator[] {
    this.reserve(groups);
    return Array.from(this.layout.ops, (op, a): Accumulator => {
      const values = (this.values[a] as Float64Array).slice(0, groups);
      if (op === MEAN) return { op: 'mean', sums: values, counts: (this.counts[a] as Float64Array).slice(0, groups) };
      const name = OPS[op] as AggOp;
      return name === 'sum' || name === 'count' || name === 'size'
        ? { op: name, values }
        : { op: name as 'min' | 'max' | 'first' | 'last', values };
    });
  }
}

function addSums(acc: Float64Array, groupOf: Int32Array, values: Float64Array, from: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = groupOf[i] as number;
    const v = values[from + i] as number;
    // NaN is skipped, as pandas skips it.
    if (g >= 0 && !Number.isNaN(v)) acc[g] = (acc[g] as number) + v;
  }
}

function addCounts(acc: Float64Array, groupOf: Int32Array, values: Float64Array, from: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = groupOf[i] as number;
    const v = values[from + i] as number;
    if (g >= 0 && !Number.isNaN(v)) acc[g] = (acc[g] as number) + 1;
  }
}

/** Min, max, first, last: a held NaN means nothing kept yet. */
function keep(acc: Float64Array, op: number, groupOf: Int32Array, values: Float64Array, from: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = groupOf[i] as number;
    const v = values[from + i] as number;
    if (g < 0 || Number.isNaN(v)) continue;
    const held = acc[g] as number;
    if (Number.isNaN(held) || op === LAST || (op === MIN && v < held) || (op === MAX && v > held)) acc[g] = v;
  }
}
