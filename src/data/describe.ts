/**
 * `describe()`: count, mean, std, min, percentiles and max of number columns, over the whole
 * frame, in the same three stages as a group-by (partition → combine in a tree → finalize).
 *
 * count, mean and std are exact: each partition sends its count, mean and sum of squared
 * deviations, and two of those merge exactly (Chan, Golub & LeVeque's parallel update). std is
 * the sample standard deviation (ddof = 1), as pandas'.
 *
 * Percentiles are not combinable exactly from per-partition percentiles, so each partition sends
 * a quantile sketch: its sorted values, each of weight 1, while there are at most SKETCH_SIZE of
 * them; beyond, SKETCH_SIZE centroids of equal weight (the mean of consecutive sorted values).
 * Merging concatenates, sorts and compresses again. A percentile p is read as numpy's default
 * ("linear") method reads sorted data: rank p·(n−1), interpolated between the neighbours, where a
 * centroid of weight w stands for the ranks it covers, at its middle one. So:
 *   - up to SKETCH_SIZE non-missing values in all, percentiles are exact (pandas' to the last bit
 *     but for rounding);
 *   - beyond, each compression moves ranks by at most one centroid (n / SKETCH_SIZE values): the
 *     answer lies between the exact percentiles at p ± (tree depth + 1) / SKETCH_SIZE (±0.12% for
 *     1,000 partitions combined 8 at a time); measured on skewed data, 1M values in 1,000
 *     partitions: within ±0.015% of the ranks (the tests check ±0.1%, against pandas too).
 */
import type { Column, ColumnSummary, DescribePartial, Table } from './types.js';

/** Centroids kept per column and partial: at most 64 KB per column to send. */
export const SKETCH_SIZE = 4096;

/** Compresses sorted (value, weight) pairs to at most `SKETCH_SIZE` centroids of about equal weight. */
function compress(
  values: Float64Array,
  weights: Float64Array,
  total: number,
): { values: Float64Array; weights: Float64Array } {
  if (values.length <= SKETCH_SIZE) return { values, weights };
  const step = total / SKETCH_SIZE;
  const outValues = new Float64Array(SKETCH_SIZE + 1);
  const outWeights = new Float64Array(SKETCH_SIZE + 1);
  let out = 0;
  let weight = 0;
  let sum = 0;
  let cumulative = 0;
  let boundary = step;
  for (let i = 0; i < values.length; i++) {
    const w = weights[i] as number;
    weight += w;
    sum += (values[i] as number) * w;
    cumulative += w;
    // Close a centroid at each multiple of `step` (cumulative, so rounding never adds centroids).
    if (cumulative >= boundary - 1e-9 || i === values.length - 1) {
      outValues[out] = sum / weight;
      outWeights[out] = weight;
      out++;
      weight = 0;
      sum = 0;
      while (boundary <= cumulative + 1e-9) boundary += step;
    }
  }
  return { values: outValues.slice(0, out), weights: outWeights.slice(0, out) };
}

/** The summary of one column of one partition (missing values, NaN, left out). */
export function summarize(values: ArrayLike<number>): ColumnSummary {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i] as number)) count++;
  const sorted = new Float64Array(count);
  let sum = 0;
  for (let i = 0, j = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isNaN(v)) {
      sorted[j++] = v;
      sum += v;
    }
  }
  sorted.sort();
  const mean = count > 0 ? sum / count : Number.NaN;
  let m2 = 0;
  for (let i = 0; i < count; i++) m2 += ((sorted[i] as number) - mean) ** 2; // two passes: no cancellation
  const sketch = compress(sorted, new Float64Array(count).fill(1), count);
  return {
    count,
    mean,
    m2,
    min: count > 0 ? (sorted[0] as number) : Number.NaN,
    max: count > 0 ? (sorted[count - 1] as number) : Number.NaN,
    values: sketch.values,
    weights: sketch.weights,
  };
}

/** Two or more summaries of the same column as one. */
export function mergeSummaries(parts: readonly ColumnSummary[]): ColumnSummary {
  let count = 0;
  let mean = 0;
  let m2 = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let points = 0;
  for (const part of parts) {
    if (part.count === 0) continue;
    const n = count + part.count;
    const delta = part.mean - mean;
    mean += (delta * part.count) / n;
    m2 += part.m2 + (delta * delta * count * part.count) / n;
    count = n;
    min = Math.min(min, part.min);
    max = Math.max(max, part.max);
    points += part.values.length;
  }
  const order = new Uint32Array(points);
  const values = new Float64Array(points);
  const weights = new Float64Array(points);
  let at = 0;
  for (const part of parts) {
    values.set(part.values, at);
    weights.set(part.weights, at);
    at += part.values.length;
  }
  for (let i = 0; i < points; i++) order[i] = i;
  order.sort((a, b) => (values[a] as number) - (values[b] as number));
  const sortedValues = Float64Array.from(order, (i) => values[i] as number);
  const sortedWeights = Float64Array.from(order, (i) => weights[i] as number);
  const sketch = compress(sortedValues, sortedWeights, count);
  if (count === 0) return summarize([]);
  return { count, mean, m2, min, max, values: sketch.values, weights: sketch.weights };
}

/** The value at fraction `p` (0..1) of the ranks, as numpy's "linear" method reads sorted data. */
export function quantile(summary: ColumnSummary, p: number): number {
  const { count, values, weights } = summary;
  if (count === 0) return Number.NaN;
  const rank = p * (count - 1);
  // Each centroid stands at the middle of the ranks it covers; min and max at the two ends.
  let previousRank = 0;
  let previousValue = summary.min;
  let covered = 0;
  for (let i = 0; i < values.length; i++) {
    const w = weights[i] as number;
    const middle = covered + (w - 1) / 2;
    covered += w;
    if (rank <= middle) {
      if (middle === previousRank) return values[i] as number;
      const t = (rank - previousRank) / (middle - previousRank);
      return previousValue + t * ((values[i] as number) - previousValue);
    }
    previousRank = middle;
    previousValue = values[i] as number;
  }
  const last = count - 1;
  if (last === previousRank) return summary.max;
  return previousValue + ((rank - previousRank) / (last - previousRank)) * (summary.max - previousValue);
}

/** A partition's summaries of `columns` (which must hold numbers). */
export function describePartial(table: Table, columns: readonly string[]): DescribePartial {
  return {
    kind: 'describe',
    columns: columns.map((name) => {
      const at = table.names.indexOf(name);
      if (at < 0) throw new RangeError(`describe: no column "${name}" (columns: ${table.names.join(', ')})`);
      const column = table.columns[at] as Column;
      if (column.dtype === 'string') {
        throw new TypeError(`describe: "${name}" holds strings; select the number columns first`);
      }
      return summarize(column.values);
    }),
  };
}

/** Partials of the same columns, in any order, as one. */
export function combineDescribe(partials: readonly DescribePartial[]): DescribePartial {
  const width = partials[0]?.columns.length ?? 0;
  return {
    kind: 'describe',
    columns: Array.from({ length: width }, (_, c) =>
      mergeSummaries(partials.map((p) => p.columns[c] as ColumnSummary)),
    ),
  };
}

/** The statistics' names, in order: count, mean, std, min, the percentiles ('25%'), max. */
export function statisticNames(percentiles: readonly number[]): string[] {
  return ['count', 'mean', 'std', 'min', ...percentiles.map((p) => `${Number((p * 100).toPrecision(6))}%`), 'max'];
}

/** One column's statistics, in the order of `statisticNames`. */
export function statistics(summary: ColumnSummary, percentiles: readonly number[]): Float64Array {
  const { count } = summary;
  return Float64Array.from([
    count,
    count > 0 ? summary.mean : Number.NaN,
    count > 1 ? Math.sqrt(summary.m2 / (count - 1)) : Number.NaN,
    summary.min,
    ...percentiles.map((p) => quantile(summary, p)),
    summary.max,
  ]);
}
