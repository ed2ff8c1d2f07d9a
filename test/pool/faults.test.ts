/**
 * Reliability under the faults real programs hit (issue 9), on both backends: a worker dying in
 * the middle of a batch, re-sent transferred buffers, a late crash, hostile thrown values, an
 * out-of-memory child, a task that never settles at shutdown, and a SIGKILLed parent.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CancelledError, ProcessPoolExecutor, ThreadPoolExecutor, TimeoutError, WorkerExitedError } from 'skein';
import {
  busyFor,
  exhaustHeap,
  exitAfter,
  leaveThrowingTimer,
  leaveUnhandledRejection,
  logNumberOrExit,
  logOrExit,
  neverSettles,
  sumBytes,
  throwHostile,
  waitAWhile,
  whoAmIFirst,
} from '../fixtures/fault-tasks.ts';
import { BACKENDS, rejection, sleep } from '../helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'skein-faults-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let logs = 0;
const newLog = () => {
  const path = join(scratch, `log-${++logs}`);
  writeFileSync(path, '');
  return path;
};
/** How many times each index was logged. */
function runsPerIndex(log: string): Map<number, number> {
  const runs = new Map<number, number>();
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (line) runs.set(Number(line), (runs.get(Number(line)) ?? 0) + 1);
  }
  return runs;
}

/** Rejects if `promise` takes longer than `ms`: a hang fails the test instead of stalling the suite. */
function within<T>(ms: number, what: string, promise: PromiseLike<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([Promise.resolve(promise), expired]).finally(() => clearTimeout(timer));
}

for (const backend of BACKENDS) {
  describe(`${backend.name} under faults`, () => {
    it('a worker dying mid-batch fails only the task that was running; no task runs twice', async () => {
      const log = newLog();
      const n = 2000;
      const killAt = 1000;
      await using ex = backend.create({ maxWorkers: 2 });
      const futures = Array.from({ length: n }, (_, i) => ex.submit(logOrExit, log, i, killAt));
      const outcomes = await within(60_000, 'the batch', Promise.allSettled(futures));
      const failed = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [i] : []));
      assert.deepEqual(failed, [killAt], 'only the task that called process.exit fails');
      const reason = (outcomes[killAt] as PromiseRejectedResult).reason;
      assert.ok(reason instanceof WorkerExitedError, String(reason));
      assert.equal(reason.exitCode, 3);
      for (let i = 0; i < n; i++)
        if (i !== killAt) assert.equal((outcomes[i] as PromiseFulfilledResult<number>).value, i);
      const runs = runsPerIndex(log);
      const twice = [...runs].filter(([, count]) => count !== 1);
      assert.deepEqual(twice, [], 'every task ran exactly once (the killer included)');
      assert.equal(runs.size, n);
    });

    it('a retried task whose worker died mid-batch runs again; the others still run once', async () => {
      const log = newLog();
      await using ex = backend.create({ maxWorkers: 1 });
      await ex.submit(logOrExit, log, -1, -2); // known to be tiny: later ones travel in one batch
      const futures = [0, 1, 2, 3].map((i) => ex.submitWith({ retries: i === 2 ? 1 : 0 }, logOrExit, log, i, 2));
      const outcomes = await within(30_000, 'the batch', Promise.allSettled(futures));
      // Task 2 exits its worker each time it runs: with one retry it runs twice, then fails.
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
      );
      const runs = runsPerIndex(log);
      assert.deepEqual(
        [0, 1, 2, 3].map((i) => runs.get(i)),
        [1, 1, 2, 1],
      );
    });

    it('numeric map chunks re-sent after a worker death arrive intact, and nothing hangs', async () => {
      const log = newLog();
      const killAt = 5000;
      const ex = backend.create({
        maxWorkers: 2,
        env: { ...process.env, SKEIN_FAULT_LOG: log, SKEIN_FAULT_KILL_AT: String(killAt) },
      });
      const seen: number[] = [];
      const failure = await within(
        60_000,
        'the map',
        (async () => {
          try {
            for await (const v of ex.map(
              logNumberOrExit,
              Array.from({ length: 10_000 }, (_, i) => i),
              { chunksize: 64 },
            ))
              seen.push(v);
          } catch (error) {
            return error;
          }
          return undefined;
        })(),
      );
      assert.ok(failure instanceof WorkerExitedError, `expected WorkerExitedError, got ${String(failure)}`);
      assert.equal(seen.length, 4992, 'the results before the failed chunk (4992..5055) were all yielded');
      assert.ok(seen.every((v, i) => v === i * 2));
      await within(30_000, 'shutdown', ex.shutdown());
      // The chunks after it that were already in flight ran once each (those queued in the dead
      // worker ran elsewhere, with their numbers); the rest of the killer's own chunk never ran.
      const runs = runsPerIndex(log);
      assert.ok(runs.size >= 64, `only ${runs.size} items after the failure ran`);
      assert.deepEqual(
        [...runs].filter(([, count]) => count !== 1),
        [],
      );
      assert.deepEqual(
        [...runs.keys()].filter((i) => i <= 5055),
        [],
      );
    });

    it('a task with `transfer` whose worker died before starting it fails clearly instead of hanging', async () => {
      const ex = backend.create({ maxWorkers: 1 });
      // Both functions known to be tiny, so tasks submitted while the first one waits are sent
      // to the one worker behind it, and are queued there when it exits.
      for (let i = 0; i < 5; i++) {
        await ex.submit(exitAfter, -1);
        await ex.submit(sumBytes, new Uint8Array([1]));
      }
      const killer = ex.submit(exitAfter, 500);
      await sleep(100);
      const bytes = new Uint8Array([1, 2, 3]);
      const moved = ex.submitWith({ transfer: [bytes.buffer] }, sumBytes, bytes);
      const copied = ex.submit(sumBytes, new Uint8Array([4, 5]));
      await new Promise((resolve) => setImmediate(resolve)); // dispatch runs in a microtask
      assert.equal(ex.stats.queued, 0, 'both were handed to the busy worker');
      assert.ok((await rejection(killer)) instanceof WorkerExitedError);
      const error = await within(20_000, 'the transferred task', rejection(moved));
      if (backend.name === 'ThreadPoolExecutor') {
        assert.ok(error instanceof TypeError, String(error));
        assert.match((error as Error).message, /transfer.*cannot be sent again.*without `transfer`/s);
      }
      assert.equal(await copied, 9, 'a task without transfer is simply run elsewhere');
      await within(20_000, 'shutdown', ex.shutdown());
    });

    it('a late crash fails the running task with the uncaught error as its cause', async () => {
      await using ex = backend.create({ maxWorkers: 1 });
      // Submitted together: the second is running (for 5 s) when the first one's timer throws.
      const [left, running] = [ex.submit(leaveThrowingTimer, 300), ex.submit(waitAWhile, 5000)];
      assert.equal(await left, 'returned');
      const error = await rejection(running);
      assert.ok(error instanceof WorkerExitedError, String(error));
      assert.match(error.message, /uncaught RangeError: thrown by a timer the earlier task left behind/);
      assert.match(error.message, /outside any task's call/);
      const cause = error.cause as Error;
      assert.ok(cause instanceof RangeError, `cause: ${String(cause)}`);
      assert.match(cause.stack ?? '', /fault-tasks\.ts:\d+/, "the worker's stack");
      // The pool goes on with a new worker.
      assert.equal(await ex.submit(waitAWhile, 1), 'waited');
    });

    it('an unhandled rejection left behind is named the same way', async () => {
      await using ex = backend.create({ maxWorkers: 1 });
      const [left, running] = [ex.submit(leaveUnhandledRejection, 300), ex.submit(waitAWhile, 5000)];
      assert.equal(await left, 'returned');
      const error = await rejection(running);
      assert.ok(error instanceof WorkerExitedError, String(error));
      assert.match(error.message, /uncaught TypeError: an unhandled rejection left behind/);
      assert.ok(error.cause instanceof TypeError);
    });

    it('hostile thrown values never crash the worker or fail a batch-mate', async () => {
      await using ex = backend.create({ maxWorkers: 1 });
      const first = await ex.submit(whoAmIFirst);
      for (const kind of ['getter', 'message-getter', 'proxy', 'prop-getter']) {
        const [hostile, mate] = await Promise.allSettled([ex.submit(throwHostile, kind), ex.submit(whoAmIFirst)]);
        assert.equal(hostile.status, 'rejected', kind);
        assert.equal(
          mate.status,
          'fulfilled',
          `${kind}: the task beside it failed: ${String((mate as PromiseRejectedResult).reason)}`,
        );
      }
      assert.equal(await ex.submit(whoAmIFirst), first, 'the same worker is still there');
      const bad = (await rejection(ex.submit(throwHostile, 'message-getter'))) as Error;
      assert.ok(bad instanceof Error);
      assert.match(bad.message, /message could not be read.*message getter says no/);
      const prop = (await rejection(ex.submit(throwHostile, 'prop-getter'))) as Error & { detail: unknown };
      assert.ok(prop instanceof TypeError);
      assert.equal(prop.message, 'has a bad property');
      assert.match(String(prop.detail), /unreadable: Error: detail getter says no/);
    });

    it('shutdown({ timeout }) stops a task that never settles and always resolves', async () => {
      const ex = backend.create({ maxWorkers: 1 });
      const stuck = ex.submit(neverSettles);
      const queued = ex.submit(waitAWhile, 1);
      await sleep(200);
      const started = performance.now();
      await within(15_000, 'shutdown({ timeout })', ex.shutdown({ timeout: 300 }));
      assert.ok(performance.now() - started >= 250, 'it waited for the work first');
      const error = await rejection(stuck);
      assert.ok(error instanceof TimeoutError, String(error));
      assert.match((error as Error).message, /shutdown\(\{ timeout: 300 \}\)/);
      assert.ok((await rejection(queued)) instanceof CancelledError);
      assert.equal(ex.stats.workers, 0);
    });
  });
}

describe('ProcessPoolExecutor, process-only faults', () => {
  it('names an out-of-memory death and the heap limit', async () => {
    await using ex = new ProcessPoolExecutor({ maxWorkers: 1, resourceLimits: { maxOldGenerationSizeMb: 48 } });
    await ex.submit(whoAmIFirst); // ready: its heap limit is known
    const error = await within(60_000, 'the OOM task', rejection(ex.submit(exhaustHeap)));
    assert.ok(error instanceof WorkerExitedError, String(error));
    assert.match(error.reason, /^out of memory \(heap limit \d+ MB\)$/);
  });

  it('a busy child does not outlive its SIGKILLed parent', async () => {
    const script = fileURLToPath(new URL('../fixtures/orphan-parent.ts', import.meta.url));
    const parent = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const childPid = await within(
      30_000,
      'the parent starting its child',
      new Promise<number>((resolve) => {
        parent.stdout.on('data', (chunk) => {
          out += String(chunk);
          const match = /child (\d+)/.exec(out);
          if (match) resolve(Number(match[1]));
        });
      }),
    );
    await sleep(300); // the child is now in its 120 s CPU-bound task
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    assert.ok(alive(childPid));
    parent.kill('SIGKILL');
    const deadline = performance.now() + 5000;
    while (alive(childPid) && performance.now() < deadline) await sleep(100);
    const survived = alive(childPid);
    if (survived) process.kill(childPid, 'SIGKILL'); // leave nothing behind, then fail
    assert.equal(survived, false, 'the busy child was still running 5 s after its parent died');
  });
});

// keep ThreadPoolExecutor and busyFor referenced for the type checker's unused-import rule
void ThreadPoolExecutor;
void busyFor;
