/**
 * Frame verbs and compute: group-by reductions equal an independent single-threaded reference;
 * many small partitions give what one gives (the tree combine keeps first/last in order); row
 * functions run in the workers, by reference or as self-contained source; head; processes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CapturedVariableError, ProcessPoolExecutor, ThreadPoolExecutor } from 'skein';
import { type DataProgress, readCsv } from 'skein/data';
import { failOnRow, isPositive, noteLength, valueTimesKey2 } from '../fixtures/data-rows.ts';
import { rejection } from '../helpers.ts';
import { assertRowsClose, generateCsv, parseCsvText, referenceGroupby, typedRows } from './reference.ts';

const NUMERIC = ['id', 'key2', 'value'];

describe('Frame', () => {
  let dir: string;
  let path: string;
  let rows: ReturnType<typeof typedRows>;
  let pool: ThreadPoolExecutor;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skein-frame-'));
    const text = generateCsv(3000, { seed: 11, groups: 30 });
    path = join(dir, 'data.csv');
    writeFileSync(path, text);
    rows = typedRows(parseCsvText(text), NUMERIC);
    pool = new ThreadPoolExecutor({ maxWorkers: 2 });
  });
  after(async () => {
    await pool.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('groupby', () => {
    it('agg with every reduction equals the reference, on one key and on two', async () => {
      const aggs = { value: 'sum', id: 'min', note: 'count', key2: 'max' } as const;
      for (const keys of [['key'], ['key', 'key2']]) {
        const result = await readCsv(path, { blocksize: 4096 }).groupby(keys).agg(aggs).compute({ executor: pool });
        assertRowsClose(result.toRows(), referenceGroupby(rows, keys, aggs));
      }
      for (const op of ['mean', 'first', 'last', 'count', 'min', 'max'] as const) {
        const result = await readCsv(path, { blocksize: 2000 })
          .groupby('key')
          .agg({ value: op, note: op === 'mean' ? 'count' : op })
          .compute({ executor: pool });
        assertRowsClose(
          result.toRows(),
          referenceGroupby(rows, ['key'], { value: op, note: op === 'mean' ? 'count' : op }),
        );
      }
    });

    it('many small partitions give what one partition gives, for every splitEvery', async () => {
      const frame = (blocksize: number) =>
        readCsv(path, { blocksize }).groupby(['key2']).agg({ value: 'sum', id: 'first', note: 'last' });
      const one = (await frame(1 << 24).compute({ executor: pool })).toRows();
      for (const splitEvery of [2, 3, 8]) {
        const many = await frame(300).compute({ executor: pool, splitEvery });
        assertRowsClose(many.toRows(), one);
      }
      assertRowsClose(one, referenceGroupby(rows, ['key2'], { value: 'sum', id: 'first', note: 'last' }));
    });

    it('shorthands: sum and mean over number columns, count and size', async () => {
      const sum = await readCsv(path).groupby('key').sum().compute({ executor: pool });
      assert.deepEqual(sum.names, ['key', 'id', 'key2', 'value']);
      assertRowsClose(sum.toRows(), referenceGroupby(rows, ['key'], { id: 'sum', key2: 'sum', value: 'sum' }));
      const mean = await readCsv(path).groupby('key2').mean().compute({ executor: pool });
      assertRowsClose(mean.toRows(), referenceGroupby(rows, ['key2'], { id: 'mean', value: 'mean' }));
      const count = await readCsv(path).groupby('key').count().compute({ executor: pool });
      assertRowsClose(
        count.toRows(),
        referenceGroupby(rows, ['key'], { id: 'count', key2: 'count', value: 'count', note: 'count' }),
      );
      const size = await readCsv(path).groupby('key').size().compute({ executor: pool });
      assertRowsClose(size.toRows(), referenceGroupby(rows, ['key'], { id: 'size' }));
    });

    it('a list of reductions for one column names them column_op', async () => {
      const result = await readCsv(path)
        .groupby('key2')
        .agg({ value: ['min', 'max'] })
        .compute({ executor: pool });
      assert.deepEqual(result.names, ['key2', 'value_min', 'value_max']);
      const low = referenceGroupby(rows, ['key2'], { value: 'min' });
      assert.deepEqual(
        result.toRows().map((r) => r.value_min),
        low.map((r) => r.value),
      );
    });

    it('refuses what cannot work, saying why', () => {
      const frame = readCsv(path);
      assert.throws(() => frame.groupby('nope'), /groupby: no column "nope"/);
      assert.throws(
        () => frame.groupby('key').agg({ note: 'sum' }),
        /sum of "note" needs numbers, but it is a string column/,
      );
      assert.throws(() => frame.groupby('key').agg({ value: 'median' as 'sum' }), /unknown reduction "median"/);
      assert.throws(() => frame.groupby('key').sum().filter(isPositive), /already a reduction/);
    });
  });

  describe('whole-frame sum and count', () => {
    it('give one row, as the reference', async () => {
      const sum = (await readCsv(path, { blocksize: 5000 }).sum().compute({ executor: pool })).toRows();
      const count = (await readCsv(path, { blocksize: 5000 }).count().compute({ executor: pool })).toRows();
      assertRowsClose(
        sum,
        referenceGroupby(
          rows.map((r) => ({ ...r, all: 'x' })),
          ['all'],
          { id: 'sum', key2: 'sum', value: 'sum' },
        ).map(({ all: _, ...r }) => r),
      );
      assert.deepEqual(count, [
        {
          id: rows.length,
          key: rows.filter((r) => r.key !== null).length,
          key2: rows.length,
          value: rows.filter((r) => !Number.isNaN(r.value)).length,
          note: rows.filter((r) => r.note !== null).length,
        },
      ]);
    });
  });

  describe('a worker reusing its column arrays', () => {
    it('grows every column when a partition has more rows than its first rows suggested', async () => {
      const single = new ThreadPoolExecutor({ maxWorkers: 1 });
      try {
        // First, a partition with many rows of one text column: the worker keeps a large array for slot 0.
        const many = join(dir, 'many.csv');
        writeFileSync(many, `k\n${'a\n'.repeat(200_000)}`);
        assert.equal(
          (await readCsv(many).groupby('k').size().compute({ executor: single })).toRows()[0]?.size,
          200_000,
        );
        // Then long rows first (a low row estimate), short rows after: slot 0 reuses the large array, slot 1 must grow.
        const skewed = join(dir, 'skewed.csv');
        const long = Array.from({ length: 300 }, (_, i) => `a,${i},${'x'.repeat(400)}`);
        const short = Array.from({ length: 50_000 }, (_, i) => `b,${i % 10},`);
        writeFileSync(skewed, `k,v,pad\n${[...long, ...short].join('\n')}\n`);
        const result = await readCsv(skewed).groupby('k').agg({ v: 'sum' }).compute({ executor: single });
        assert.deepEqual(result.toRows(), [
          { k: 'a', v: (299 * 300) / 2 },
          { k: 'b', v: 45 * 5000 },
        ]);
      } finally {
        await single.shutdown();
      }
    });
  });

  describe('no rows', () => {
    it('a group-by of nothing has no groups; a whole-frame sum of nothing is 0, as pandas', async () => {
      const none = readCsv(path, { blocksize: 20_000 }).filter((row) => row.id === -1);
      assert.equal((await none.groupby('key').sum().compute({ executor: pool })).length, 0);
      assert.deepEqual((await none.sum().compute({ executor: pool })).toRows(), [{ id: 0, key2: 0, value: 0 }]);
      assert.equal((await none.compute({ executor: pool })).length, 0);
      const empty = join(dir, 'empty.csv');
      writeFileSync(empty, '');
      assert.throws(() => readCsv(empty), /empty\.csv: the file is empty \(no header line\)/);
    });
  });

  describe('filter, assign, select', () => {
    it('run exported row functions in the workers', async () => {
      const result = await readCsv(path, { blocksize: 3000 })
        .filter(isPositive)
        .assign({ product: valueTimesKey2, size: noteLength })
        .groupby('size')
        .agg({ product: 'sum', id: 'count' })
        .compute({ executor: pool });
      const expected = rows
        .filter((r) => isPositive(r))
        .map((r) => ({ ...r, product: valueTimesKey2(r), size: noteLength(r) }));
      assertRowsClose(result.toRows(), referenceGroupby(expected, ['size'], { product: 'sum', id: 'count' }));
    });

    it('run self-contained functions sent as source, and select keeps the columns asked for', async () => {
      const result = await readCsv(path, { blocksize: 2500 })
        .filter((row) => row.key === 'g3')
        .assign({ twice: (row) => (row.id as number) * 2 })
        .select(['twice', 'key'])
        .compute({ executor: pool });
      assert.deepEqual(result.names, ['twice', 'key']);
      const expected = rows.filter((r) => r.key === 'g3').map((r) => ({ twice: (r.id as number) * 2, key: 'g3' }));
      assert.deepEqual(result.toRows(), expected);
    });

    it('refuse a function that captures an outer variable, naming it', () => {
      const wanted = 'g3';
      assert.throws(
        () => readCsv(path).filter((row) => row.key === wanted),
        (e: Error) => e instanceof CapturedVariableError && /"wanted"/.test(e.message),
      );
    });

    it('the captured-variable advice is one a row function can follow (it is called with the row only)', () => {
      const wanted = 'g3';
      let counted = 0;
      const readError = rejectionSync(() => readCsv(path).filter((row) => row.key === wanted));
      assert.ok(readError instanceof CapturedVariableError, String(readError));
      assert.doesNotMatch(readError.message, /as an argument/);
      assert.match(readError.message, /with the row only/);
      assert.match(readError.message, /export the function from a module/);
      const changeError = rejectionSync(() => readCsv(path).assign({ n: () => counted++ }));
      assert.ok(changeError instanceof CapturedVariableError, String(changeError));
      assert.doesNotMatch(changeError.message, /as an argument/);
      assert.match(changeError.message, /mapPartitions|groupby/);
    });

    it("a row function's error rejects compute with that error", async () => {
      const error = await rejection(readCsv(path, { blocksize: 1000 }).filter(failOnRow).compute({ executor: pool }));
      assert.ok(error instanceof RangeError);
      assert.match((error as Error).message, /row 7 is refused/);
    });
  });

  describe('head', () => {
    it('gives the first rows, reading only the partitions it needs', async () => {
      const seen: DataProgress[] = [];
      const head = await readCsv(path, { blocksize: 1000 }).head(5, {
        executor: pool,
        progress: (p) => seen.push({ ...p }),
      });
      assertRowsClose(head.toRows(), rows.slice(0, 5));
      const last = seen.at(-1) as DataProgress;
      assert.ok(last.done < last.total / 2, `read ${last.done} of ${last.total} partitions for 5 rows`);
      const filtered = await readCsv(path, { blocksize: 700 }).filter(isPositive).head(40, { executor: pool });
      assertRowsClose(filtered.toRows(), rows.filter((r) => isPositive(r)).slice(0, 40));
    });
  });

  describe('compute', () => {
    it('reports progress per partition, and prints a table', async () => {
      const seen: DataProgress[] = [];
      const result = await readCsv(path, { blocksize: 10_000 })
        .groupby('key2')
        .size()
        .compute({ executor: pool, progress: (p) => seen.push({ ...p }) });
      assert.equal(seen.at(-1)?.done, seen.at(-1)?.total);
      assert.ok((seen.at(-1)?.total ?? 0) > 5);
      assert.match(result.toString(), /^key2 +size\n +0 +\d+\n/);
      assert.match(result.toString(), /\[10 rows x 2 columns\]$/);
    });

    it('runs on a ProcessPoolExecutor with the same result, and on its own default pool', async () => {
      const frame = readCsv(path, { blocksize: 4000 })
        .filter(isPositive)
        .groupby(['key', 'key2'])
        .agg({ value: 'mean' });
      const expected = referenceGroupby(
        rows.filter((r) => isPositive(r)),
        ['key', 'key2'],
        { value: 'mean' },
      );
      const processes = new ProcessPoolExecutor({ maxWorkers: 2 });
      try {
        assertRowsClose((await frame.compute({ executor: processes })).toRows(), expected);
      } finally {
        await processes.shutdown();
      }
      assertRowsClose((await frame.compute()).toRows(), expected);
    });

    it('checks its options', async () => {
      await assert.rejects(readCsv(path).compute({ splitEvery: 1 }), /splitEvery must be an integer >= 2/);
      await assert.rejects(readCsv(path).compute({ maxInFlight: 0 }), /maxInFlight must be an integer >= 1/);
    });
  });
});

/** The error `fn` throws (a test fails if it throws nothing). */
function rejectionSync(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  assert.fail('expected an error');
}
