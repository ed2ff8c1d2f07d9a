import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { Lock, ProcessPoolExecutor, SharedValue, ThreadPoolExecutor } from 'skein';
import { describeArrival, tryMainThreadOnly } from '../fixtures/sync-tasks.ts';

const SKEIN = new URL('../../dist/index.js', import.meta.url).href;

/** Runs a small ES module in a fresh Node; returns its status, output and how long it took. */
function runScript(source: string) {
  const started = performance.now();
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', source], { encoding: 'utf8', timeout: 20_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, ms: performance.now() - started };
}

describe('passing primitives to tasks', () => {
  it('a thread task gets the same kind of object, one per primitive, over the same memory', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      const lock = new Lock();
      assert.deepEqual(await pool.submit(describeArrival, lock, lock, { locks: [lock] }), [true, true, true]);
      assert.equal(await pool.submit(tryMainThreadOnly, lock), true);
      assert.equal(lock.locked, true, 'the worker took the very lock the main thread sees');
    } finally {
      await pool.shutdown();
    }
  });

  it('a process task cannot share memory: a SharedValue is refused, naming the Manager (a Lock travels as a proxy)', async () => {
    const pool = new ProcessPoolExecutor({ maxWorkers: 1 });
    try {
      assert.throws(
        () => pool.submit(tryMainThreadOnly as (v: unknown) => boolean, new SharedValue('int32', 0)),
        /args\[0\] is a SharedValue, which lives in shared memory that a child process cannot see: .*manager\.Value/,
      );
    } finally {
      await pool.shutdown();
    }
  });

  it('a primitive inside a Map, a Set or a class instance is refused with a clear error', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      const lock = new Lock();
      assert.throws(
        () => pool.submit(describeArrival, lock, lock, new Map([[1, lock]]) as never),
        /inside a Map, a Set or a class instance.*pass it as an argument/s,
      );
      // The arguments the caller passed are not changed by the encoding.
      const nested = { locks: [lock] };
      await pool.submit(describeArrival, lock, lock, nested);
      assert.equal(nested.locks[0], lock);
    } finally {
      await pool.shutdown();
    }
  });
});

describe('the event loop while waiting', () => {
  it('is kept alive by a waiter (Atomics.waitAsync alone would let the program exit)', () => {
    // A raw worker sets the event after 200 ms; it is unref'd, so nothing else keeps the loop up.
    const run = runScript(`
      import { Worker } from 'node:worker_threads';
      import { Event } from '${SKEIN}';
      const event = new Event();
      const words = new Int32Array(event.memory.buffer);
      const worker = new Worker(\`
        import('node:worker_threads').then(({ workerData }) => setTimeout(() => {
          Atomics.store(workerData, 2, 1); Atomics.add(workerData, 3, 1); Atomics.notify(workerData, 3);
        }, 200));
      \`, { eval: true, workerData: words });
      worker.unref();
      console.log('woke', await event.wait());
    `);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'woke true\n');
  });

  it('is not kept alive once nothing waits: after a timeout, an abort, or a grant', () => {
    const run = runScript(`
      import { Lock, Queue, Semaphore } from '${SKEIN}';
      const lock = new Lock();
      await lock.acquire();
      console.log(await lock.acquire({ timeout: 20 }));
      const controller = new AbortController();
      const aborted = lock.acquire({ signal: controller.signal }).catch(() => 'aborted');
      controller.abort();
      console.log(await aborted);
      const granted = lock.acquire();
      lock.release();
      console.log(await granted);
      const queue = new Queue();
      console.log(await queue.get({ timeout: 20 }).catch((e) => e.name));
      const sem = new Semaphore(0);
      const waiting = sem.acquire({ timeout: 20 });
      console.log(await waiting);
    `);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'false\naborted\ntrue\nQueueEmpty\nfalse\n');
    assert.ok(run.ms < 10_000);
  });
});
