/** parallel: joblib's Parallel over real thread and process pools. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { delayed, parallel, ThreadPoolExecutor } from 'skein';
import { busy, failWith, inc, later, square, upper } from '../fixtures/graph-tasks.ts';
import { rejection } from '../helpers.ts';

/** A pool whose workers have all started: a worker's start-up on a loaded machine must not look like a wait. */
async function warmPool(workers: number): Promise<ThreadPoolExecutor> {
  const pool = new ThreadPoolExecutor({ maxWorkers: workers, minWorkers: workers });
  for (const started = Date.now(); pool.stats.idle < workers && Date.now() - started < 10_000; ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return pool;
}

describe('parallel', () => {
  it('gives results in input order, whatever order they finish in', async () => {
    // The first calls are the slowest: they finish last, and still come first.
    const delays = [80, 60, 40, 20, 0, 0, 0, 0];
    const results = await parallel(
      delays.map((ms, i) => delayed(later)(i, ms)),
      { nJobs: 4, batchSize: 1 },
    );
    assert.deepEqual(results, [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('runs 100,000 calls in auto-sized batches, from an array or a generator', async () => {
    const n = 100_000;
    const expected = Array.from({ length: n }, (_, i) => i * i);
    assert.deepEqual(
      await parallel(
        Array.from({ length: n }, (_, i) => delayed(square)(i)),
        { nJobs: 2 },
      ),
      expected,
    );
    function* calls() {
      for (let i = 0; i < n; i++) yield delayed(square)(i);
    }
    assert.deepEqual(await parallel(calls(), { nJobs: 2 }), expected);
  });

  it('mixes functions and non-number values in one batch', async () => {
    const tasks = [delayed(upper)('a'), delayed(inc)(1), delayed(upper)('b'), delayed(later)(7, 1)];
    assert.deepEqual(await parallel(tasks, { nJobs: 1, batchSize: 4 }), ['A', 2, 'B', 7]);
  });

  it("'unordered' yields each result as it finishes", async () => {
    const got: number[] = [];
    await using pool = await warmPool(3);
    const tasks = [delayed(later)(1, 400), delayed(later)(2, 0), delayed(later)(3, 0)];
    for await (const value of parallel(tasks, { backend: pool, batchSize: 1, returnAs: 'unordered' })) got.push(value);
    assert.equal(got.at(-1), 1, `the slow one should come last: ${got}`);
    assert.deepEqual([...got].sort(), [1, 2, 3]);
  });

  it("'generator' is lazy: it reads the input only as results are consumed", async () => {
    let pulled = 0;
    function* endless() {
      for (let i = 0; ; i++) {
        pulled++;
        yield delayed(inc)(i);
      }
    }
    const seen: number[] = [];
    for await (const value of parallel(endless(), { nJobs: 2, batchSize: 2, preDispatch: 2, returnAs: 'generator' })) {
      seen.push(value);
      if (seen.length === 10) break;
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(pulled < 30, `an endless input was read ${pulled} items ahead`);
  });

  it('rejects with the first error, keeping its class, and runs on no further', async () => {
    const tasks = [delayed(inc)(1), delayed(failWith)('bad input 2'), delayed(inc)(3)];
    const error = await rejection(parallel(tasks, { nJobs: 1, batchSize: 1 }));
    assert.ok(error instanceof RangeError);
    assert.equal(error.message, 'bad input 2');
    const generator = parallel(tasks, { nJobs: 2, batchSize: 3, returnAs: 'generator' });
    const inBatch = await rejection(generator.next());
    assert.ok(inBatch instanceof RangeError);
  });

  it('runs on a process pool, and on an executor the caller keeps', async () => {
    assert.deepEqual(
      await parallel(
        [1, 2, 3].map((i) => delayed(square)(i)),
        { backend: 'process', nJobs: 2 },
      ),
      [1, 4, 9],
    );
    await using pool = await warmPool(2);
    const [a, b] = await parallel([delayed(busy)(1000), delayed(busy)(1000)], { backend: pool, batchSize: 1 });
    assert.ok(
      a && b && a.start < b.end && b.start < a.end,
      'two calls of 1 s on two workers overlap (generous: the machine may be loaded)',
    );
    assert.equal(await pool.submit(inc, 1), 2, 'the caller’s pool is still open');
  });

  it('counts progress to the end', async () => {
    let last: { done: number; total: number | undefined } | undefined;
    await parallel(
      Array.from({ length: 1000 }, (_, i) => delayed(inc)(i)),
      { nJobs: 2, progress: (p) => (last = p) },
    );
    assert.equal(last?.done, 1000);
    assert.equal(last?.total, 1000);
  });

  it('says what is wrong with bad input', async () => {
    assert.throws(() => parallel([delayed(inc)(1)], { nJobs: 0 }), /nJobs must be a non-zero integer/);
    assert.throws(() => parallel([delayed(inc)(1)], { batchSize: 0 }), /batchSize must be 'auto'/);
    assert.throws(() => parallel([delayed(inc)(1)], { returnAs: 'list' as never }), /returnAs must be/);
    assert.match(String(await rejection(parallel([5 as never]))), /task 0 is not a delayed call/);
    assert.match(
      String(await rejection(parallel([delayed(inc)(delayed(inc)(1))]))),
      /has another delayed call among its arguments/,
    );
  });
});
