/**
 * Frame.describe: count, mean, std, min, percentiles and max against a plain reference (the
 * values sorted, numpy's "linear" percentiles, two-pass std): exact up to 4,096 values, within
 * ±0.1% of the ranks beyond (the sketch, over many partitions and a deep combine tree).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProcessPoolExecutor, ThreadPoolExecutor } from 'skein';
import { type DataResult, readCsv, readJsonl } from 'skein/data';
import { isPositive } from '../fixtures/data-rows.ts';
import { random } from './reference.ts';

/** numpy.percentile(values, 100 p) with its default (linear) method, over sorted values. */
function exactQuantile(sorted: readonly number[], p: number): number {
  const rank = p * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.min(low + 1, sorted.length - 1);
  return (sorted[low] as number) + (rank - low) * ((sorted[high] as number) - (sorted[low] as number));
}

function referenceDescribe(values: readonly number[], percentiles: readonly number[]): number[] {
  const present = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  const n = present.length;
  const mean = present.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(present.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return [
    n,
    mean,
    std,
    present[0] as number,
    ...percentiles.map((p) => exactQuantile(present, p)),
    present[n - 1] as number,
  ];
}

/** A column of describe's result, statistic name → value. */
function statistics(result: DataResult, column: string): Map<string, number> {
  const columns = result.toColumns();
  const names = columns.statistic as string[];
  const values = columns[column] as Float64Array;
  return new Map(names.map((name, i) => [name, values[i] as number]));
}

function close(actual: number, expected: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)),
    `${what}: expected ${expected}, got ${actual}`,
  );
}

/** Skewed values with missing ones: the sketch's hard case (quantiles far from the mean). */
function generate(rows: number, seed: number): { text: string; a: number[]; b: number[] } {
  const next = random(seed);
  const a: number[] = [];
  const b: number[] = [];
  const lines = ['a,b,label'];
  for (let i = 0; i < rows; i++) {
    const x = next() < 0.04 ? Number.NaN : Math.round(-Math.log(1 - next()) * 100_000) / 1000;
    const y = Math.floor(next() * 1000) - 500;
    a.push(x);
    b.push(y);
    lines.push(`${Number.isNaN(x) ? '' : x},${y},l${i % 7}`);
  }
  return { text: `${lines.join('\n')}\n`, a, b };
}

describe('Frame.describe', () => {
  let dir: string;
  let pool: ThreadPoolExecutor;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skein-describe-'));
    pool = new ThreadPoolExecutor({ maxWorkers: 2 });
  });
  after(async () => {
    await pool.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is exact up to 4,096 values: count, mean, std, min, 25/50/75%, max of every number column', async () => {
    const { text, a, b } = generate(3000, 41);
    const path = join(dir, 'small.csv');
    writeFileSync(path, text);
    for (const blocksize of [2000, 1 << 20]) {
      const result = await readCsv(path, { blocksize }).describe().compute({ executor: pool, splitEvery: 3 });
      assert.deepEqual(result.names, ['statistic', 'a', 'b']);
      assert.deepEqual(result.toColumns().statistic, ['count', 'mean', 'std', 'min', '25%', '50%', '75%', 'max']);
      for (const [name, values] of [
        ['a', a],
        ['b', b],
      ] as const) {
        const got = statistics(result, name);
        const want = referenceDescribe(values, [0.25, 0.5, 0.75]);
        for (const [i, [stat, v]] of [...got].entries()) {
          close(v, want[i] as number, `${name} ${stat} (blocksize ${blocksize})`);
        }
      }
    }
  });

  it('beyond 4,096 values, percentiles lie within ±0.1% of the ranks over many partitions; the rest stays exact', async () => {
    const { text, a } = generate(60_000, 42);
    const path = join(dir, 'large.csv');
    writeFileSync(path, text);
    const percentiles = [0.01, 0.25, 0.5, 0.75, 0.99];
    const result = await readCsv(path, { blocksize: 20_000 })
      .describe({ percentiles })
      .compute({ executor: pool, splitEvery: 3 });
    const got = statistics(result, 'a');
    const sorted = a.filter((v) => !Number.isNaN(v)).sort((x, y) => x - y);
    const want = referenceDescribe(a, percentiles);
    for (const [i, name] of ['count', 'mean', 'std', 'min'].entries())
      close(got.get(name) as number, want[i] as number, name);
    close(got.get('max') as number, sorted[sorted.length - 1] as number, 'max');
    for (const p of percentiles) {
      const value = got.get(`${p * 100}%`) as number;
      const low = exactQuantile(sorted, Math.max(0, p - 0.001));
      const high = exactQuantile(sorted, Math.min(1, p + 0.001));
      assert.ok(value >= low && value <= high, `${p * 100}%: ${value} is not within [${low}, ${high}]`);
    }
  });

  it('takes the steps before it, on a process pool too, and says NaN where there is nothing to describe', async () => {
    const { text, b } = generate(500, 43);
    const path = join(dir, 'steps.csv');
    writeFileSync(path, text);
    const processes = new ProcessPoolExecutor({ maxWorkers: 2 });
    try {
      const result = await readCsv(path, { blocksize: 1500 })
        .filter(isPositive)
        .select(['b'])
        .describe({ percentiles: [0.1] })
        .compute({ executor: processes });
      assert.deepEqual(result.names, ['statistic', 'b']);
      // isPositive keeps rows whose `value` is positive: there is no such column, so none.
      assert.deepEqual(result.toColumns().statistic, ['count', 'mean', 'std', 'min', '10%', 'max']);
      assert.deepEqual(
        [...(result.toColumns().b as Float64Array)],
        [0, Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN],
      );
      const all = await readCsv(path, { blocksize: 1500 })
        .select(['b'])
        .describe({ percentiles: [0.1] })
        .compute({ executor: processes });
      close(
        statistics(all, 'b').get('10%') as number,
        exactQuantile(
          [...b].sort((x, y) => x - y),
          0.1,
        ),
        '10%',
      );
    } finally {
      await processes.shutdown();
    }
  });

  it('describes JSON lines too', async () => {
    const path = join(dir, 'small.jsonl');
    const values = [5, 1, 4, null, 2, 3];
    writeFileSync(path, values.map((v) => JSON.stringify({ v, s: 'x' })).join('\n'));
    const result = await readJsonl(path, { blocksize: 10 }).describe().compute({ executor: pool });
    assert.deepEqual(result.names, ['statistic', 'v']);
    const got = [...(result.toColumns().v as Float64Array)];
    const want = referenceDescribe([5, 1, 4, 2, 3], [0.25, 0.5, 0.75]);
    for (const [i, v] of got.entries()) close(v, want[i] as number, `statistic ${i}`);
  });

  it('refuses bad percentiles, a frame with no number column, and a reduction before it', () => {
    const path = join(dir, 'text.csv');
    writeFileSync(path, 'a,b\nx,1\n');
    assert.throws(
      () => readCsv(path).describe({ percentiles: [1.5] }),
      /percentiles must be numbers from 0 to 1, got 1.5/,
    );
    assert.throws(() => readCsv(path).select(['a']).describe(), /describe needs a number column/);
    assert.throws(() => readCsv(path).sum().describe(), /already a reduction/);
  });
});
