/**
 * `Pool` (api.md section 3), one suite run on processes and on threads, as CPython's
 * _test_multiprocessing installs its _TestPool classes for each backend.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AsyncResult, CancelledError, ExecutorShutdownError, Pool, TimeoutError, WorkerExitedError } from 'skein';
import {
  add,
  blockThenWrite,
  readStamp,
  resultWithFunction,
  sleepSync,
  square,
  squareOrDie,
  squareUnless,
  stamp,
  workerId,
} from '../fixtures/mp-tasks.ts';
import { countedEndless, rejection, sleep } from '../helpers.ts';

for (const backend of ['process', 'thread'] as const) {
  const make = (processes = 2, options = {}) => new Pool({ processes, backend, ...options });

  describe(`Pool (${backend})`, () => {
    describe('construction', () => {
      it('takes a number of processes or an options object, and checks them', async () => {
        await using byNumber = new Pool(3);
        assert.equal(byNumber.processes, 3);
        assert.equal(byNumber.backend, 'process');
        await using byOptions = make(2);
        assert.equal(byOptions.processes, 2);
        assert.equal(byOptions.backend, backend);
        assert.throws(() => new Pool(0), /processes must be an integer >= 1, got 0/);
        assert.throws(
          () => new Pool({ processes: '4' as unknown as number }),
          /processes must be an integer >= 1, got "4" \(a string\)/,
        );
        assert.throws(() => make(2, { maxTasksPerChild: 0 }), /maxTasksPerChild must be an integer >= 1/);
        assert.throws(() => make(2, { backend: 'gpu' }), /backend must be 'process' or 'thread'/);
        // Not an array: refused here, not later as a broken pool whose initializer "raised an error".
        assert.throws(
          () => make(2, { initializer: stamp, initArgs: 'ab' as unknown as [] }),
          /initArgs must be an array of the initializer's arguments.*got string/,
        );
      });
    });

    describe('map', () => {
      it('returns results in input order', async () => {
        await using pool = make();
        const input = Array.from({ length: 200 }, (_, i) => i);
        assert.deepEqual(
          await pool.map(square, input),
          input.map((x) => x * x),
        );
        assert.deepEqual(await pool.map(square, new Set([3, 1, 2]), 1), [9, 1, 4]);
      });

      it('rejects with the first error in input order, keeping its class', async () => {
        await using pool = make();
        const failed = await rejection(pool.map(squareUnlessSeven, [1, 7, 3, 9]));
        assert.ok(failed instanceof TypeError, String(failed));
        assert.match((failed as Error).message, /item 7 is bad/);
      });

      it('mapAsync settles an AsyncResult and calls callback before get() returns', async () => {
        await using pool = make();
        const seen: unknown[] = [];
        const result = pool.mapAsync(square, [1, 2, 3], undefined, { callback: (values) => seen.push(values) });
        assert.ok(result instanceof AsyncResult);
        assert.throws(() => result.successful(), /not ready/);
        assert.deepEqual(await result.get(10_000), [1, 4, 9]);
        assert.deepEqual(seen, [[1, 4, 9]]);
        assert.equal(result.ready(), true);
        assert.equal(result.successful(), true);
        assert.equal(result.cancel(), false, 'an AsyncResult cannot be cancelled, as in Python');
      });

      it('mapAsync calls errorCallback on failure; successful() is false', async () => {
        await using pool = make();
        const errors: unknown[] = [];
        const result = pool.mapAsync(squareUnlessSeven, [7], 1, {
          callback: () => assert.fail('callback on failure'),
          errorCallback: (error) => errors.push(error),
        });
        await result.wait();
        assert.equal(result.successful(), false);
        assert.equal(errors.length, 1);
        assert.ok(errors[0] instanceof TypeError);
        await assert.rejects(result.get(), TypeError);
      });
    });

    describe('starmap', () => {
      it('spreads each tuple into the call', async () => {
        await using pool = make();
        assert.deepEqual(
          await pool.starmap(add, [
            [1, 2],
            [3, 4],
            [5, 6],
          ]),
          [3, 7, 11],
        );
        assert.deepEqual(await pool.starmapAsync(add, [[10, 1]], 1).get(), [11]);
      });

      it('refuses an item that is not an argument list, saying what starmap expects', async () => {
        await using pool = make();
        assert.throws(() => pool.starmap(add, [[1, 2], 3 as never]), /item 1 is not an array of arguments/);
      });
    });

    describe('apply / applyAsync', () => {
      it('apply resolves with the result; args may be left out for a function without parameters', async () => {
        await using pool = make();
        assert.equal(await pool.apply(add, [2, 40]), 42);
        assert.match(await pool.apply(workerId), /^\d+:\d+$/);
        assert.throws(() => pool.apply(add, 5 as never), /arguments must be an array/);
      });

      it('applyAsync: get with a timeout, wait, callbacks', async () => {
        await using pool = make();
        const slow = pool.applyAsync(sleepSync, [400]);
        await assert.rejects(slow.get(20), TimeoutError);
        assert.equal(slow.ready(), false);
        await slow.wait(20);
        await slow.wait();
        assert.equal(await slow.get(), 400);
        let called: unknown;
        const failed = pool.applyAsync(squareUnless, [5, 5], { errorCallback: (error) => (called = error) });
        await failed.wait();
        assert.ok(called instanceof TypeError);
        assert.equal(failed.successful(), false);
      });
    });

    describe('imap / imapUnordered', () => {
      it('imap reads an endless input only as results are consumed; break stops it', async () => {
        await using pool = make();
        const { items, pulled } = countedEndless();
        const results: number[] = [];
        for await (const value of pool.imap(square, items)) {
          results.push(value);
          if (results.length === 20) break;
        }
        assert.deepEqual(
          results,
          Array.from({ length: 20 }, (_, i) => i * i),
        );
        // chunksize 1, at most 4 chunks per worker ahead: far from endless.
        assert.ok(pulled() <= 20 + 2 * 4 + 1, `read ${pulled()} items for 20 results`);
      });

      it('imapUnordered yields every result once', async () => {
        await using pool = make();
        const seen: number[] = [];
        for await (const value of pool.imapUnordered(square, [5, 4, 3, 2, 1], 2)) seen.push(value);
        assert.deepEqual(
          seen.sort((a, b) => a - b),
          [1, 4, 9, 16, 25],
        );
      });
    });

    describe('workers', () => {
      it('maxTasksPerChild replaces a worker after its tasks', async () => {
        await using pool = make(1, { maxTasksPerChild: 1 });
        const ids = [];
        for (let i = 0; i < 4; i++) ids.push(await pool.apply(workerId));
        assert.equal(new Set(ids).size, 4, `workers: ${ids.join(' ')}`);
      });

      it('without maxTasksPerChild one worker runs them all', async () => {
        await using pool = make(1);
        const ids = [];
        for (let i = 0; i < 4; i++) ids.push(await pool.apply(workerId));
        assert.equal(new Set(ids).size, 1);
      });

      it('runs the initializer with initArgs in every worker first', async () => {
        await using pool = make(2, { initializer: stamp, initArgs: ['ready'] });
        const stamps = await pool.map(readStamp as (x: number) => string, [1, 2, 3, 4], 1);
        for (const s of stamps) assert.match(String(s), /^ready-\d+$/);
      });

      it('a result that cannot be cloned fails its task with a clear error; the pool goes on', async () => {
        await using pool = make(1);
        const error = await rejection(pool.apply(resultWithFunction, [1]));
        assert.match(String(error), /cannot be sent back from the worker: result\.callback is a function/);
        assert.equal(await pool.apply(square, [5]), 25);
      });

      it('a worker killed mid-map fails that map only; the pool goes on', async () => {
        await using pool = make(2);
        const error = await rejection(
          pool.starmap(
            squareOrDie,
            [
              [1, 4],
              [2, 4],
              [3, 4],
              [4, 4],
              [5, 4],
            ],
            1,
          ),
        );
        assert.ok(error instanceof WorkerExitedError, String(error));
        assert.deepEqual(await pool.map(square, [1, 2, 3]), [1, 4, 9]);
        assert.equal(await pool.apply(add, [1, 1]), 2);
      });
    });

    describe('lifecycle', () => {
      it('join before close or terminate is an error, as in Python', async () => {
        await using pool = make();
        await assert.rejects(pool.join(), /still running; call close\(\) \(or terminate\(\)\) before join\(\)/);
      });

      it('close lets submitted work finish, refuses new work; join waits for the workers', async () => {
        const pool = make();
        const pending = pool.applyAsync(sleepSync, [100]);
        pool.close();
        assert.throws(() => pool.apply(square, [2]), ExecutorShutdownError);
        assert.throws(() => pool.imap(square, [1]), /Pool.imap\(\): the pool is not running \(close\(\) was called\)/);
        await pool.join();
        assert.equal(await pending.get(), 100);
      });

      it('terminate during work settles every result and ends the workers promptly', async () => {
        const pool = make(1);
        const running = pool.applyAsync(sleepSync, [20_000]);
        const queued = pool.applyAsync(square, [3]);
        await new Promise((resolve) => setTimeout(resolve, 300));
        const started = performance.now();
        await pool.terminate();
        await pool.join();
        assert.ok(performance.now() - started < 10_000, 'terminate waited for the running task');
        assert.ok((await rejection(running.get())) instanceof TimeoutError);
        assert.ok((await rejection(queued.get())) instanceof CancelledError);
        assert.throws(() => pool.map(square, [1]), /terminate\(\) was called/);
      });

      it('terminate kills a worker busy in CPU-bound code at once: its task does not run on', async () => {
        // A busy worker cannot read a polite 'stop' message; terminate() once waited ~2 s for one before
        // killing it, so the task ran on (and finished its side effects) after terminate() was called.
        const dir = mkdtempSync(join(tmpdir(), 'skein-pool-terminate-'));
        try {
          const started = join(dir, 'started');
          const done = join(dir, 'done');
          const pool = make(1);
          const running = pool.applyAsync(blockThenWrite, [started, done, 1200]);
          for (let waited = 0; !existsSync(started); waited += 20) {
            assert.ok(waited < 15_000, 'the task never started');
            await sleep(20);
          }
          await pool.terminate();
          await pool.join();
          assert.ok((await rejection(running.get())) instanceof TimeoutError);
          await sleep(1500); // past the moment the task would have written `done`, had it run on
          assert.equal(existsSync(done), false, 'the task ran to its end after terminate()');
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('await using closes and joins: work submitted in the block completes', async () => {
        let result: AsyncResult<number> | undefined;
        {
          await using pool = make(1);
          result = pool.applyAsync(sleepSync, [150]);
        }
        assert.equal(result.ready(), true);
        assert.equal(await result.get(), 150);
      });
    });
  });
}

function squareUnlessSeven(x: number): number {
  if (x === 7) throw new TypeError(`item ${x} is bad`);
  return x * x;
}
