/**
 * mapPartitions: a function over a partition's columns, by reference, in the workers; its output
 * checked against what the frame declares; on the thread and process pools.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProcessPoolExecutor, ThreadPoolExecutor } from 'skein';
import { type PartitionFunction, readCsv } from 'skein/data';
import {
  asyncPartition,
  doubleValues,
  partitionSizes,
  undeclaredColumn,
  unequalColumns,
} from '../fixtures/data-rows.ts';
import { rejection } from '../helpers.ts';
import { assertRowsClose, generateCsv, parseCsvText, referenceGroupby, typedRows } from './reference.ts';

const NUMERIC = ['id', 'key2', 'value'];

describe('Frame.mapPartitions', () => {
  let dir: string;
  let pool: ThreadPoolExecutor;
  let path: string;
  let rows: Record<string, number | string | null>[];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skein-map-'));
    pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    const text = generateCsv(2000, { seed: 12 });
    path = join(dir, 'data.csv');
    writeFileSync(path, text);
    rows = typedRows(parseCsvText(text), NUMERIC);
  });
  after(async () => {
    await pool.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('maps each partition by columns; the result groups as the reference does', async () => {
    const frame = readCsv(path, { blocksize: 4000 }).mapPartitions(doubleValues, {
      columns: ['id', 'key', 'key2', 'value', 'note', 'rank'],
    });
    assert.deepEqual(frame.columns, ['id', 'key', 'key2', 'value', 'note', 'rank']);
    const result = await frame.groupby('key').agg({ value: 'sum', id: 'count' }).compute({ executor: pool });
    const doubled = rows.map((row) => ({ ...row, value: (row.value as number) * 2 }));
    assertRowsClose(result.toRows(), referenceGroupby(doubled, ['key'], { value: 'sum', id: 'count' }));
    // `rank` restarts at 0 in each partition: there are as many zeros as partitions with rows.
    const ranks = (await frame.select(['rank']).compute({ executor: pool })).toColumns().rank as Float64Array;
    assert.equal(ranks.length, rows.length);
    assert.ok(ranks.filter((r) => r === 0).length > 5);
  });

  it('takes rows as output, and gives the function where its partition comes from', async () => {
    const result = await readCsv(path, { blocksize: 9000 })
      .mapPartitions(partitionSizes, { columns: ['rows', 'counted', 'file'] })
      .compute({ executor: pool });
    const columns = result.toColumns();
    assert.ok(result.length >= 5, `one row per partition, got ${result.length}`);
    assert.equal(
      (columns.rows as Float64Array).reduce((a, b) => a + b, 0),
      rows.length,
    );
    assert.deepEqual([...(columns.rows as Float64Array)], [...(columns.counted as Float64Array)]);
    assert.ok((columns.file as string[]).every((f) => f === path));
  });

  it('computes the same on a process pool', async () => {
    const processes = new ProcessPoolExecutor({ maxWorkers: 2 });
    try {
      const result = await readCsv(path, { blocksize: 6000 })
        .mapPartitions(doubleValues, {
          columns: { id: 'float64', key: 'string', key2: 'float64', value: 'float64', note: 'string', rank: 'float64' },
        })
        .sum()
        .compute({ executor: processes });
      const total = rows.reduce((sum, row) => sum + (Number.isNaN(row.value) ? 0 : (row.value as number) * 2), 0);
      assert.deepEqual(result.names, ['id', 'key2', 'value', 'rank']);
      assert.ok(Math.abs((result.toRows()[0]?.value as number) - total) < 1e-6 * Math.abs(total));
    } finally {
      await processes.shutdown();
    }
  });

  it('refuses output that is not what the frame declares, saying what to pass', async () => {
    const undeclared = await rejection(readCsv(path).mapPartitions(undeclaredColumn).compute({ executor: pool }));
    assert.match(
      String(undeclared),
      /returned the columns \[surprise\] but the frame declares \[id, key, key2, value, note\]/,
    );
    assert.match(String(undeclared), /mapPartitions\(fn, \{ columns: \[\.\.\.\] \}\)/);
    const unequal = await rejection(
      readCsv(path)
        .mapPartitions(unequalColumns, { columns: ['id', 'value'] })
        .compute({ executor: pool }),
    );
    assert.match(String(unequal), /column "value" has 21 values but "id" has \d+; return columns of one length/);
    const promised = await rejection(
      readCsv(path)
        .mapPartitions(asyncPartition as unknown as PartitionFunction)
        .compute({ executor: pool }),
    );
    assert.match(String(promised), /returned a promise/);
    const mistyped = await rejection(
      readCsv(path)
        .mapPartitions(doubleValues, {
          columns: { id: 'string', key: 'string', key2: 'float64', value: 'float64', note: 'string', rank: 'float64' },
        })
        .compute({ executor: pool }),
    );
    assert.match(String(mistyped), /column "id" is declared 'string' but the function returned numbers/);
  });

  it('refuses a function that is not one, bad column lists, and a reduction before it', () => {
    const frame = readCsv(path);
    assert.throws(() => frame.mapPartitions(42 as unknown as PartitionFunction), /mapPartitions needs a row function/);
    assert.throws(() => frame.mapPartitions(doubleValues, { columns: [] }), /non-empty array/);
    assert.throws(() => frame.mapPartitions(doubleValues, { columns: ['a', 'a'] }), /names "a" twice/);
    assert.throws(() => frame.sum().mapPartitions(doubleValues), /already a reduction/);
  });
});
