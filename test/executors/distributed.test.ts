/**
 * DistributedExecutor and `skein worker` against a real Redis (redis-server, started here on a
 * free loopback port with append-only persistence) and real worker processes.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { deserialize, serialize } from 'node:v8';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { asCompleted, ThreadPoolExecutor, TimeoutError } from 'skein';
import { DistributedExecutor } from 'skein/distributed';
import { CuttableLine, redisAvailable, startWorker, stopWorker, TestRedis } from '../distributed-helpers.ts';
import { describeArrival as notServed } from '../fixtures/sync-tasks.ts';
import { add, failOnce, pidAfter, square, sum, throwKind } from '../fixtures/tasks.ts';
import { rejection, sleep } from '../helpers.ts';

const SERVED = ['test/fixtures/tasks.ts'];
// Short locks, so that a killed worker's job is seen stalled (and run again) within seconds.
const WORKER_FLAGS = ['--concurrency', '1', '--lock-duration', '2000', '--stalled-interval', '1000'];

describe('DistributedExecutor with 2 skein workers on a real Redis', () => {
  let redis: TestRedis;
  let workers: ChildProcess[] = [];
  let client: DistributedExecutor;

  before(async () => {
    assert.ok(redisAvailable(), 'redis-server is not installed: `apt-get install redis-server` (.ci/run does it)');
    redis = await TestRedis.start();
    workers = await Promise.all([
      startWorker(redis.url, SERVED, WORKER_FLAGS),
      startWorker(redis.url, SERVED, WORKER_FLAGS),
    ]);
    client = new DistributedExecutor({ connection: redis.url });
  });

  after(async () => {
    await client?.shutdown({ cancelFutures: true });
    await Promise.all(workers.map((w) => stopWorker(w, 'SIGKILL')));
    await redis?.stop();
  });

  it('submit, map and asCompleted give what a local executor gives', async () => {
    const local = new ThreadPoolExecutor({ maxWorkers: 2 });
    try {
      const items = Array.from({ length: 2000 }, (_, i) => i);
      assert.equal(await client.submit(add, 2, 3), await local.submit(add, 2, 3));
      assert.deepEqual(await client.map(square, items).toArray(), await local.map(square, items).toArray());
      const futures = [1, 2, 3, 4].map((n) => client.submit(square, n));
      const seen: number[] = [];
      for await (const future of asCompleted(futures)) seen.push(await future);
      assert.deepEqual(
        seen.sort((a, b) => a - b),
        [1, 4, 9, 16],
      );
      assert.equal(await client.submit(sum, new Float64Array([1.5, 2.5])), 4);
    } finally {
      await local.shutdown();
    }
  });

  it('runs on both workers', async () => {
    const pids = await Promise.all(Array.from({ length: 6 }, () => client.submit(pidAfter, 300)));
    assert.equal(new Set(pids).size, 2, `all ran on ${[...new Set(pids)]}`);
  });

  it('brings errors back with their class, message, cause and properties', async () => {
    assert.ok((await rejection(client.submit(throwKind, 'type'))) instanceof TypeError);
    const custom = (await rejection(client.submit(throwKind, 'custom'))) as Error & Record<string, unknown>;
    assert.equal(custom.name, 'ValidationError');
    assert.equal(custom.message, 'bad input');
    assert.equal((custom.cause as Error).message, 'root cause');
    assert.equal(custom.code, 'E_VALIDATION');
    assert.deepEqual(custom.details, { line: 3 });
  });

  it('applies a timeout on the worker, and retries', async () => {
    const error = await rejection(client.submitWith({ timeout: 100 }, pidAfter, 3000));
    assert.ok(error instanceof TimeoutError, String(error));
    // A task that fails once: without retries its failure is final; with one retry (after the
    // backoff) it succeeds. A task that always fails rejects with its last error.
    const dir = mkdtempSync(join(tmpdir(), 'skein-retry-'));
    try {
      const once = join(dir, 'once');
      assert.equal(((await rejection(client.submit(failOnce, once))) as Error).message, 'first try fails');
      const twice = join(dir, 'twice');
      assert.equal(await client.submitWith({ retries: 1 }, failOnce, twice), 'second try');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(((await rejection(client.submitWith({ retries: 1 }, throwKind, 'again'))) as Error).message, 'again');
  });

  it('refuses, with a clear error, a task the workers do not serve', async () => {
    // Not exported: no worker could import it, and no code travels. (The second time, the lookup
    // is answered from cache, synchronously: the failure still comes through the future.)
    const inline = (x: number) => x + 1;
    for (let i = 0; i < 2; i++) {
      assert.match(
        String(await rejection(client.submit(inline, 1))),
        /cannot run on a DistributedExecutor: a distributed task must be exported/,
      );
    }
    assert.match(
      String(await rejection(client.submit(notServed as unknown as () => void))),
      /does not serve module "test\/fixtures\/sync-tasks.ts".*start a worker with --module/,
    );
    // Jobs made by hand, as another client (or an attacker) could: the worker checks the version
    // and the export against its own modules, and never runs anything else.
    const version = createHash('sha256').update(readFileSync('test/fixtures/tasks.ts')).digest('hex').slice(0, 16);
    const queue = new Queue('skein', { connection: { host: '127.0.0.1', port: redis.port }, prefix: 'skein' });
    try {
      const failure = async (data: Record<string, unknown>): Promise<string> => {
        const job = await queue.add('by-hand', { a: serialize([1]).toString('base64'), c: 0, ...data });
        for (;;) {
          const reason = (await queue.getJob(job.id as string))?.failedReason;
          if (reason) return (deserialize(Buffer.from(reason.replace(/^skein-error:/, ''), 'base64')) as Error).message;
          await sleep(50);
        }
      };
      assert.match(
        await failure({ m: 'test/fixtures/tasks.ts', v: version, e: 'nope' }),
        /module "test\/fixtures\/tasks.ts" has no exported function "nope"/,
      );
      assert.match(
        await failure({ m: 'test/fixtures/tasks.ts', v: '0123456789abcdef', e: 'square' }),
        /differs between the client \(version 0123456789abcdef\) and this worker.*deploy the same code/,
      );
    } finally {
      await queue.close();
    }
    assert.throws(() => new DistributedExecutor({ connection: 'http://nope' }), /redis:\/\/ or rediss:\/\/ URL/);
  });

  it('refuses a 50 MB payload at submit, saying what to do', () => {
    const big = new Float64Array((50 * 1024 * 1024) / 8);
    assert.throws(
      () => client.submit(sum, big),
      /is \d+\.\d MiB once encoded, over the 16\.0 MiB limit.*pass its name/s,
    );
  });

  it('a worker SIGKILLed mid-task: its task still completes, on the other worker', async () => {
    const tasks = [client.submit(pidAfter, 2500), client.submit(pidAfter, 2500)];
    await sleep(800); // each worker (concurrency 1) has taken one
    const [victim] = workers;
    await stopWorker(victim as ChildProcess, 'SIGKILL');
    const pids = await Promise.all(tasks);
    const survivor = (workers[1] as ChildProcess).pid;
    assert.deepEqual(pids, [survivor, survivor]);
    workers[0] = await startWorker(redis.url, SERVED, WORKER_FLAGS);
  });

  it('Redis killed and restarted mid-run (append-only file): every task completes, exactly once for the client', async () => {
    let settled = 0;
    const count = (future: { addDoneCallback(cb: () => void): void }) => future.addDoneCallback(() => settled++);
    const before = Array.from({ length: 12 }, () => client.submit(pidAfter, 150)); // ~1 s of work on 2 workers
    before.forEach(count);
    await sleep(300);
    await redis.kill();
    // Submitted while Redis is down: the client holds them until it reconnects.
    const during = Array.from({ length: 10 }, (_, i) => client.submit(square, i));
    during.forEach(count);
    await sleep(500);
    await redis.resume();
    assert.deepEqual(
      await Promise.all(during),
      Array.from({ length: 10 }, (_, i) => i * i),
    );
    const pids = await Promise.all(before);
    assert.ok(pids.every((pid) => workers.some((w) => w.pid === pid)));
    assert.equal(settled, 22);
    assert.equal(await client.submit(square, 12), 144);
  });

  it('a client cut off from Redis while its tasks finish (and their events are trimmed) gets their results when the line is back', async () => {
    const line = await CuttableLine.to(redis.port);
    const cutOff = new DistributedExecutor({ connection: line.url });
    try {
      assert.equal(await cutOff.submit(square, 2), 4);
      const tasks = [cutOff.submit(pidAfter, 600), cutOff.submit(pidAfter, 600)];
      await sleep(200); // both running on the workers
      line.cut();
      await sleep(1500); // both finish while the client cannot hear it
      // Their events are gone too, as if more than the stream's 10,000 were sent meanwhile: the
      // client must ask Redis for the jobs, not wait for events to be replayed.
      const direct = new Redis(redis.port, '127.0.0.1');
      assert.ok((await direct.xtrim('skein:skein:events', 'MAXLEN', 0)) > 0, 'the events were there to trim');
      await direct.quit();
      assert.ok(!tasks.some((task) => task.done), 'the client heard nothing while cut off');
      line.restore();
      const pids = await Promise.all(tasks.map((task) => task.result(10_000))); // bounded: no hang if it never hears
      assert.ok(pids.every((pid) => workers.some((w) => w.pid === pid)));
      assert.equal(await cutOff.submit(square, 3), 9, 'and it goes on working');
    } finally {
      // Bounded too: shutdown waits for results that, if this test fails, never come.
      await Promise.race([cutOff.shutdown({ cancelFutures: true }), delay(5000, undefined, { ref: false })]);
      await line.close();
    }
  });

  it('cancels a job still waiting (cancel() or its signal), and starts higher priorities first', async () => {
    // Both workers taken, and freed at different times: the one freed first takes the waiting job
    // with the best priority and finishes it before the other is free. (Freed together, the two
    // jobs would run side by side and finish in either order.)
    const busy = [client.submit(pidAfter, 1000), client.submit(pidAfter, 2000)];
    await sleep(300);
    const controller = new AbortController();
    const aborted = client.submitWith({ signal: controller.signal }, square, 5);
    const cancelled = client.submit(square, 6);
    const order: string[] = [];
    const low = client.submitWith({ priority: 10 }, square, 7).then(() => order.push('low'));
    const high = client.submitWith({ priority: 1 }, square, 8).then(() => order.push('high'));
    await sleep(100);
    controller.abort(new Error('not needed'));
    assert.equal(cancelled.cancel(), true);
    assert.equal(((await rejection(aborted)) as Error).name, 'CancelledError');
    assert.equal(cancelled.cancelled, true);
    await Promise.all([...busy, low, high]);
    assert.deepEqual(order, ['high', 'low']);
    const progress: number[] = [];
    const onProgress = (stats: { completed: number }) => progress.push(stats.completed);
    client.on('progress', onProgress);
    await client.submit(square, 9);
    client.off('progress', onProgress);
    assert.equal(progress.length, 1);
    assert.equal(client.stats.queued + client.stats.running, 0);
  });

  it('a worker stopped with SIGTERM finishes its running job, then exits 0', async () => {
    const tasks = [client.submit(pidAfter, 1500), client.submit(pidAfter, 1500)];
    await sleep(500);
    const [first] = workers as [ChildProcess];
    assert.equal(await stopWorker(first, 'SIGTERM'), 0);
    const pids = await Promise.all(tasks);
    assert.ok(pids.includes(first.pid as number), 'its job finished there, not run again elsewhere');
    workers[0] = await startWorker(redis.url, SERVED, WORKER_FLAGS);
  });
});
