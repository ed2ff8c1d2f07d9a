/**
 * The behaviour every pool executor shares (api.md section 2), run against both backends:
 * results, error identity, task references, failure semantics, cancellation, shutdown.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  BrokenExecutorError,
  CancelledError,
  CapturedVariableError,
  ExecutorShutdownError,
  TimeoutError,
  timeout,
  WorkerExitedError,
} from 'skein';
import * as cjs from '../fixtures/cjs-tasks.cts';
import {
  add,
  badInitializer,
  environment,
  exitNow,
  exitOnce,
  fail,
  returnsFunction,
  slowSquare,
  spin,
  square,
  sum,
  throwKind,
  ValidationError,
  waitForAbort,
  whoAmI,
} from '../fixtures/tasks.ts';
import { BACKENDS, rejection, sleep } from '../helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'skein-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const K = 10;

for (const backend of BACKENDS) {
  describe(backend.name, () => {
    describe('submit', () => {
      it('runs an exported function of a .ts module (tsx) and infers its result', async () => {
        await using ex = backend.create({ maxWorkers: 2 });
        const results = await Promise.all([ex.submit(square, 3), ex.submit(add, 2, 5), ex.submit(slowSquare, 4, 5)]);
        assert.deepEqual(results, [9, 7, 16]);
      });

      it('runs an export of a CommonJS (.cts) module', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        assert.equal(await ex.submit(cjs.cube, 3), 27);
      });

      it('sends a self-contained inline function as source', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        assert.equal(await ex.submit((name: string) => `Hello, ${name}!`, 'Ada'), 'Hello, Ada!');
        assert.equal(await ex.submit((xs: number[]) => Math.max(...xs), [3, 9, 2]), 9);
      });

      it('refuses an inline function that captures an outer variable, naming it', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        const error = (() => {
          try {
            ex.submit((x: number) => x * K, 2);
          } catch (e) {
            return e;
          }
        })();
        assert.ok(error instanceof CapturedVariableError, `got ${String(error)}`);
        assert.match((error as Error).message, /"K"/);
        assert.match((error as Error).message, /export the function from a module/);
      });

      it('gives advice that works: a captured function, state the task changes, a method using `this`', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        const helper = (x: number) => x + 1;
        const calls = () => ex.submit((x: number) => helper(x), 1);
        assert.throws(calls, CapturedVariableError);
        assert.throws(calls, /It calls "helper", a function, which cannot be passed to a worker: define it inside/);
        assert.throws(calls, (e: Error) => !/Pass "helper" as an argument/.test(e.message));
        let counter = 0;
        const changes = () =>
          ex.submit(() => {
            counter += 1;
          });
        assert.throws(changes, /It changes "counter": each worker has its own copy of module variables/);
        assert.throws(changes, /SharedValue or SharedArray/);
        assert.equal(counter, 0);
        const account = {
          balance: 10,
          read() {
            return this.balance;
          },
        };
        assert.throws(() => ex.submit(account.read), /uses `this`, which a worker cannot give it/);
      });

      it('refuses a bound function with advice', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        assert.throws(() => ex.submit(square.bind(null), 2), /bound or built-in function/);
      });

      it('rejects an argument that cannot be cloned at submit, naming its position', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        assert.throws(
          () => ex.submit(add as (a: unknown, b: unknown) => number, 1, { handler: () => 0 }),
          /argument 2 of add\(\.\.\.\) cannot be sent to a worker: args\[1\]\.handler is a function/,
        );
      });

      it('fails only the task whose argument fails to clone beyond the submit-time check', async () => {
        // The submit-time walk looks at 100,000 values; a function past that is caught by the
        // transport. Warm-up tasks teach the pool that cube is tiny, then that worker retires, so
        // the next three travel as one batch to a new worker that has not seen cube yet.
        await using ex = backend.create({ maxWorkers: 1, maxTasksPerWorker: 3 });
        for (let i = 0; i < 3; i++) await ex.submit(cjs.cube, i);
        const deep: unknown[] = Array.from({ length: 150_000 }, (_, i) => i);
        deep.push(() => 0);
        const first = ex.submit(cjs.cube, 2);
        const bad = ex.submit(cjs.cube as (x: unknown) => number, deep);
        const after = ex.submit(cjs.cube, 3);
        assert.match(String(await rejection(bad)), /cannot be sent to a worker/);
        assert.deepEqual(await Promise.all([first, after]), [8, 27]);
      });

      it('fails the task (only) whose result cannot be sent back', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        const bad = ex.submit(returnsFunction);
        const good = ex.submit(square, 5);
        assert.match(String(await rejection(bad)), /result cannot be sent back/);
        assert.equal(await good, 25);
      });

      it('moves a transferred ArrayBuffer instead of copying it (threads) and still computes', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        const values = new Float64Array([1, 2, 3, 4]);
        const total = await ex.submitWith({ transfer: [values.buffer] }, sum, values);
        assert.equal(total, 10);
        if (backend.name === 'ThreadPoolExecutor') assert.equal(values.byteLength, 0, 'the buffer was moved');
      });
    });

    describe('errors keep their identity', () => {
      it('keeps built-in classes, name, message and the worker stack', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        const typeError = await rejection(ex.submit(throwKind, 'type'));
        assert.ok(typeError instanceof TypeError);
        assert.equal((typeError as Error).message, 'not a number');
        assert.match((typeError as Error).stack ?? '', /throwKind .*tasks\.ts/);
        assert.ok((await rejection(ex.submit(throwKind, 'range'))) instanceof RangeError);
        const plain = await rejection(ex.submit(fail, 'boom'));
        assert.ok(plain instanceof Error);
        assert.equal((plain as Error).message, 'boom');
      });

      it('keeps a custom error name, cause and own properties', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        const error = (await rejection(ex.submit(throwKind, 'custom'))) as Error & Record<string, unknown>;
        assert.ok(error instanceof Error);
        assert.equal(error.name, 'ValidationError');
        assert.equal(error.message, 'bad input');
        assert.equal(error.field, 'email');
        assert.equal(error.code, 'E_VALIDATION');
        assert.deepEqual(error.details, { line: 3 });
        assert.ok(error.cause instanceof Error);
        assert.equal((error.cause as Error).message, 'root cause');
      });

      it('gives an error of an exported custom class that class (instanceof works), as pickle does', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        const error = await rejection(ex.submit(throwKind, 'custom'));
        assert.ok(error instanceof ValidationError, `got ${Object.getPrototypeOf(error)?.constructor?.name}`);
        assert.equal(error.field, 'email');
        assert.match(error.stack ?? '', /tasks\.ts/, "the worker's stack");
        // in a map chunk too
        const mapped = await rejection(ex.map(throwKind, ['custom']).toArray());
        assert.ok(mapped instanceof ValidationError);
      });

      it("keeps skein's own error classes thrown inside a task", async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        const error = await rejection(ex.submit(throwKind, 'skein-timeout'));
        assert.ok(error instanceof TimeoutError, String(error));
      });

      it('keeps AggregateError.errors and non-Error throws', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        const aggregate = await rejection(ex.submit(throwKind, 'aggregate'));
        assert.ok(aggregate instanceof AggregateError);
        assert.ok(aggregate.errors[0] instanceof TypeError);
        assert.equal(await rejection(ex.submit(throwKind, 'string')), 'a plain string');
      });
    });

    describe('a worker that dies', () => {
      it('rejects only its running task with WorkerExitedError and is replaced', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        const before = await ex.submit(whoAmI);
        const dying = ex.submit(exitNow, 3);
        const queuedBehind = ex.submit(square, 6);
        const error = await rejection(dying);
        assert.ok(error instanceof WorkerExitedError, String(error));
        assert.equal(error.exitCode, 3);
        assert.equal(await queuedBehind, 36, 'the task queued behind it runs on the replacement');
        const afterDeath = await ex.submit(whoAmI);
        assert.notDeepEqual(afterDeath, before, 'a new worker took over');
      });

      if (backend.name === 'ProcessPoolExecutor') {
        it('reports SIGKILL when the process is killed mid-task', async () => {
          await using ex = backend.create({ maxWorkers: 1 });
          const { pid } = await ex.submit(whoAmI);
          const running = ex.submit(slowSquare, 2, 10_000);
          await sleep(100);
          process.kill(pid, 'SIGKILL');
          const error = await rejection(running);
          assert.ok(error instanceof WorkerExitedError, String(error));
          assert.equal(error.signal, 'SIGKILL');
          assert.equal(await ex.submit(square, 3), 9);
        });
      } else {
        it('reports out of memory when a thread exceeds resourceLimits', async () => {
          await using ex = backend.create({ maxWorkers: 1, resourceLimits: { maxOldGenerationSizeMb: 32 } });
          const { allocateForever } = await import('../fixtures/tasks.ts');
          const error = await rejection(ex.submit(allocateForever));
          assert.ok(error instanceof WorkerExitedError, String(error));
          assert.match(error.reason, /out of memory/);
          assert.equal(await ex.submit(square, 4), 16);
        });
      }

      it('runs a task again on a new worker when retries allow', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        const marker = join(scratch, `retry-${backend.name}`);
        assert.equal(await ex.submitWith({ retries: 1 }, exitOnce, marker), 'second try');
        assert.ok(existsSync(marker));
      });
    });

    describe('timeout and abort', () => {
      it('stops a runaway loop with TimeoutError and replaces the worker', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        const started = performance.now();
        const error = await rejection(ex.submitWith({ timeout: 200 }, spin));
        assert.ok(error instanceof TimeoutError, String(error));
        assert.ok(performance.now() - started >= 190, 'not before the timeout');
        assert.equal(await ex.submit(square, 7), 49, 'the pool goes on');
      });

      it('counts the timeout from the start of the task, not from submit', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        const first = ex.submit(slowSquare, 1, 300);
        const second = ex.submitWith({ timeout: 250 }, slowSquare, 2, 50);
        assert.equal(await first, 1);
        assert.equal(await second, 4, 'waited 300 ms in the queue, ran 50 ms: within its 250 ms');
      });

      it('aborts a queued task at once: it is cancelled and never runs', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        await ex.submit(square, 1); // a worker is up
        const blocker = ex.submit(slowSquare, 1, 200);
        const controller = new AbortController();
        const queued = ex.submitWith({ signal: controller.signal }, square, 3);
        controller.abort();
        const error = await rejection(queued);
        assert.ok(error instanceof CancelledError);
        assert.equal(queued.cancelled, true);
        assert.equal(await blocker, 1);
        assert.equal(ex.stats.completed, 2, 'the aborted task never ran');
      });

      it('aborts a running task: the signal inside the task fires, the future is cancelled', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        const controller = new AbortController();
        const running = ex.submitWith({ signal: controller.signal }, waitForAbort);
        await sleep(150);
        controller.abort(new Error('user gave up'));
        const error = await rejection(running);
        assert.ok(error instanceof CancelledError);
        assert.equal(((error as Error).cause as Error).message, 'user gave up');
        assert.equal(await ex.submit(square, 2), 4);
      });

      it('aborting a task handed to a worker that is still starting does not stop that worker', async () => {
        // A huge grace period: if the pool treated the task as running, it would hold the only
        // worker for a minute before killing it, and the next task would wait that long.
        {
          // Locate slowSquare first (a module's first lookup is asynchronous), so the submit
          // below is dispatched in the very next microtask.
          await using warm = backend.create({ maxWorkers: 1 });
          await warm.submit(slowSquare, 1, 0);
        }
        await using ex = backend.create({ maxWorkers: 1, abortGracePeriod: 60_000 });
        const controller = new AbortController();
        const never = ex.submitWith({ signal: controller.signal }, slowSquare, 1, 10_000);
        await Promise.resolve(); // dispatched to the worker, which has not started yet
        assert.equal(never.running, true);
        assert.equal(ex.stats.idle, 0);
        controller.abort();
        assert.ok((await rejection(never)) instanceof CancelledError);
        assert.equal(
          await timeout(10_000, () => ex.submit(square, 3)),
          9,
          'the same worker runs the next task at once',
        );
      });

      it('an already aborted signal cancels at submit', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        const f = ex.submitWith({ signal: AbortSignal.abort() }, square, 2);
        assert.equal(f.cancelled, true);
      });
    });

    describe('cancel', () => {
      it('cancels a queued future; a running one cannot be cancelled', async () => {
        await using ex = backend.create({ maxWorkers: 1 });
        await ex.submit(square, 1); // a worker is up
        const running = ex.submit(slowSquare, 1, 150);
        const queued = ex.submit(square, 2);
        await sleep(20);
        assert.equal(running.running, true);
        assert.equal(running.cancel(), false);
        assert.equal(queued.cancel(), true);
        assert.ok((await rejection(queued)) instanceof CancelledError);
        assert.equal(await running, 1);
        assert.equal(ex.stats.cancelled, 1);
        assert.equal(ex.stats.completed, 2);
      });
    });

    describe('initializer', () => {
      it('runs once per worker before its tasks', async () => {
        const { sleepSync } = await import('../fixtures/tasks.ts');
        await using ex = backend.create({ maxWorkers: 1, initializer: sleepSync, initArgs: [1] });
        assert.equal(await ex.submit(square, 3), 9);
      });

      it('finishes (even when async) before the worker runs any task', async () => {
        const { slowInitializer, wasInitialized } = await import('../fixtures/tasks.ts');
        await using ex = backend.create({ maxWorkers: 2, initializer: slowInitializer, initArgs: [150] });
        const seen = await Promise.all([
          ex.submit(wasInitialized),
          ex.submit(wasInitialized),
          ex.submit(wasInitialized),
        ]);
        assert.deepEqual(seen, [true, true, true]);
      });

      it('breaks the executor when it throws: pending and later tasks get BrokenExecutorError', async () => {
        const ex = backend.create({ maxWorkers: 2, initializer: badInitializer });
        const pending = [ex.submit(square, 1), ex.submit(square, 2)];
        for (const f of pending) {
          const error = await rejection(f);
          assert.ok(error instanceof BrokenExecutorError, String(error));
          assert.match(String((error as Error).cause), /initializer failed on purpose/);
        }
        assert.throws(() => ex.submit(square, 3), BrokenExecutorError);
        await ex.shutdown();
      });
    });

    describe('worker options', () => {
      it('minWorkers starts workers at once; idleTimeout reaps the others', async () => {
        await using ex = backend.create({ maxWorkers: 2, minWorkers: 1, idleTimeout: 300 });
        assert.equal(ex.stats.workers, 1, 'minWorkers are started by the constructor');
        // The peak, not the count at the end: a process may take longer to start than the first
        // worker stays idle, so the reaper can act before both tasks are done.
        let peak = 0;
        ex.on('progress', (stats: { workers: number }) => {
          peak = Math.max(peak, stats.workers);
        });
        await Promise.all([ex.submit(slowSquare, 1, 50), ex.submit(slowSquare, 2, 50)]);
        assert.equal(peak, 2, 'a second worker was started for the second task');
        const deadline = performance.now() + 10_000;
        while (ex.stats.workers > 1 && performance.now() < deadline) await sleep(20);
        assert.equal(ex.stats.workers, 1, 'the idle worker above minWorkers was reaped');
        assert.equal(await ex.submit(square, 3), 9);
      });

      it('passes env and execArgv to the workers', async () => {
        await using ex = backend.create({
          maxWorkers: 1,
          env: { ...process.env, SKEIN_TEST_VALUE: 'from the pool' },
          execArgv: ['--no-warnings'],
        });
        const seen = await ex.submit(environment, 'SKEIN_TEST_VALUE');
        assert.equal(seen.value, 'from the pool');
        assert.ok(seen.execArgv.includes('--no-warnings'), JSON.stringify(seen.execArgv));
      });
    });

    describe('maxTasksPerWorker', () => {
      it('replaces a worker after that many tasks', async () => {
        await using ex = backend.create({ maxWorkers: 1, maxTasksPerWorker: 2 });
        const ids = [];
        for (let i = 0; i < 4; i++) ids.push(await ex.submit(whoAmI));
        const key = (w: { pid: number; threadId: number }) => `${w.pid}/${w.threadId}`;
        assert.equal(key(ids[0] as never), key(ids[1] as never));
        assert.notEqual(key(ids[1] as never), key(ids[2] as never));
        assert.equal(key(ids[2] as never), key(ids[3] as never));
      });
    });

    describe('shutdown', () => {
      it('waits for running and queued work, then refuses new tasks', async () => {
        const ex = backend.create({ maxWorkers: 2 });
        const futures = [1, 2, 3, 4].map((x) => ex.submit(slowSquare, x, 30));
        await ex.shutdown();
        assert.ok(futures.every((f) => f.done));
        assert.deepEqual(await Promise.all(futures), [1, 4, 9, 16]);
        assert.throws(() => ex.submit(square, 1), ExecutorShutdownError);
        assert.equal(ex.stats.workers, 0);
      });

      it('cancelFutures cancels what has not started; the running task finishes', async () => {
        const ex = backend.create({ maxWorkers: 1 });
        await ex.submit(square, 1); // a worker is up
        const running = ex.submit(slowSquare, 3, 150);
        const queued = [ex.submit(square, 1), ex.submit(square, 2)];
        await sleep(20);
        await ex.shutdown({ cancelFutures: true });
        assert.equal(await running, 9);
        for (const f of queued) assert.ok((await rejection(f)) instanceof CancelledError);
      });

      it('with wait: false still finishes the work', async () => {
        const ex = backend.create({ maxWorkers: 1 });
        const f = ex.submit(slowSquare, 5, 50);
        await ex.shutdown({ wait: false });
        assert.equal(await f, 25);
      });
    });

    describe('stats and progress', () => {
      it('counts completed and failed tasks and emits progress', async () => {
        await using ex = backend.create({ maxWorkers: 2 });
        const events: number[] = [];
        ex.on('progress', (stats: { completed: number }) => events.push(stats.completed));
        await Promise.allSettled([ex.submit(square, 1), ex.submit(square, 2), ex.submit(fail, 'x')]);
        assert.equal(ex.stats.completed, 2);
        assert.equal(ex.stats.failed, 1);
        assert.equal(ex.stats.queued, 0);
        assert.ok(events.length >= 1);
        assert.equal(Math.max(...events), 2);
      });

      it('counts the items of a map, not its chunks', async () => {
        await using ex = backend.create({ maxWorkers: 2 });
        let last = 0;
        ex.on('progress', (stats) => {
          last = stats.completed;
        });
        const squares = await ex
          .map(
            square,
            Array.from({ length: 1000 }, (_, i) => i),
          )
          .toArray();
        assert.equal(squares.length, 1000);
        assert.equal(ex.stats.completed, 1000);
        assert.equal(last, 1000);
        // a chunk whose item fails: the items before it completed, that one failed
        await rejection(ex.map(throwKind, ['type'], { chunksize: 1 }).toArray());
        assert.equal(ex.stats.failed, 1);
      });
    });

    describe('map over several iterables', () => {
      it('zips them as Python does, stopping at the shortest, with options last', async () => {
        await using ex = backend.create({ maxWorkers: 2 });
        assert.deepEqual(await ex.map(add, [1, 2, 3], [10, 20, 30, 40]).toArray(), [11, 22, 33]);
        const unordered = await ex.map(add, [1, 2, 3], [10, 20, 30], { ordered: false, chunksize: 1 }).toArray();
        assert.deepEqual(
          unordered.sort((a, b) => a - b),
          [11, 22, 33],
        );
        const pow = (base: number, exponent: number) => base ** exponent; // self-contained: sent as source
        assert.deepEqual(await ex.map(pow, [2, 3], [10, 2]).toArray(), [1024, 9]);
        async function* slowly() {
          yield 5;
          yield 6;
        }
        const mixed: number[] = [];
        for await (const v of ex.map(add, slowly(), [1, 1, 1])) mixed.push(v);
        assert.deepEqual(mixed, [6, 7]);
      });

      it('says which argument is not iterable', () => {
        const ex = backend.create({ maxWorkers: 1 });
        assert.throws(() => ex.map(add, [1], 2 as never), /argument 3 is not iterable/);
        void ex.shutdown();
      });
    });
  });
}
