/**
 * A DistributedExecutor and a `skein worker` whose Redis is not there, or goes away: errors that
 * say so within `connectTimeout`, a shutdown that always resolves, a process that exits by itself,
 * a worker that says so once every few seconds, and both taking up again when Redis is back.
 * Real redis-server processes, real worker processes, real ports where nothing listens.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { deserialize } from 'node:v8';
import { Queue } from 'bullmq';
import { ConnectionError, DistributedExecutor } from 'skein/distributed';
import { freePort, spawnWorker, startWorker, stopWorker, TestRedis, waitFor } from '../distributed-helpers.ts';
import { pidAfter, square } from '../fixtures/tasks.ts';
import { rejection, sleep } from '../helpers.ts';

const SERVED = ['test/fixtures/tasks.ts'];
const WORKER_FLAGS = ['--concurrency', '1', '--lock-duration', '2000', '--stalled-interval', '1000'];
const PASSWORD = 's3cret-pw';

/** `promise`, or a clear failure once `ms` have passed: a test of "nothing hangs" must not hang itself. */
async function within<T>(ms: number, what: string | (() => string), promise: PromiseLike<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${typeof what === 'string' ? what : what()}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Cleanups that run even when an assertion failed half-way. */
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

function track<T>(value: T, cleanup: (value: T) => Promise<unknown>): T {
  cleanups.push(() => cleanup(value));
  return value;
}

const closeClient = (client: DistributedExecutor) =>
  within(10_000, 'cleanup shutdown', client.shutdown({ cancelFutures: true }));

describe('DistributedExecutor when Redis cannot be reached', () => {
  it('submit and map reject with a ConnectionError naming the URL, its password masked, within connectTimeout', async () => {
    const port = await freePort();
    const client = track(
      new DistributedExecutor({ connection: `redis://:${PASSWORD}@127.0.0.1:${port}/2`, connectTimeout: 700 }),
      closeClient,
    );
    const started = performance.now();
    const error = await within(5000, 'submit settles', rejection(client.submit(square, 3)));
    const ms = performance.now() - started;
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.name, 'ConnectionError');
    assert.equal(error.url, `redis://:***@127.0.0.1:${port}/2`);
    assert.ok(error.message.includes(`redis://:***@127.0.0.1:${port}/2`), error.message);
    assert.ok(
      !error.message.includes(PASSWORD) && !String(error.stack).includes(PASSWORD),
      'the password is not shown',
    );
    assert.match(error.message, /within 700 ms \(connectTimeout\).*ECONNREFUSED.*was not sent/s);
    assert.ok(ms >= 600 && ms < 4000, `rejected after ${Math.round(ms)} ms`);
    const mapError = await within(5000, 'map settles', rejection(client.map(square, [1, 2, 3]).toArray()));
    assert.ok(mapError instanceof ConnectionError, String(mapError));
    await within(3000, 'shutdown resolves', client.shutdown());
  });

  it('masks the password of ioredis options too', async () => {
    const port = await freePort();
    const client = track(
      new DistributedExecutor({
        connection: { host: '127.0.0.1', port, username: 'app', password: PASSWORD, db: 3 },
        connectTimeout: 300,
      }),
      closeClient,
    );
    const error = await within(5000, 'submit settles', rejection(client.submit(square, 3)));
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.url, `redis://app:***@127.0.0.1:${port}/3`);
    assert.ok(!error.message.includes(PASSWORD), error.message);
  });

  for (const mode of ['wait', 'cancel'] as const) {
    it(`shutdown(${mode === 'cancel' ? '{ cancelFutures: true }' : ''}) resolves, and the process then exits by itself`, async () => {
      const port = await freePort();
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/fixtures/unreachable-client.ts', `redis://:${PASSWORD}@127.0.0.1:${port}`, mode],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      let shutdownSeenAt = 0;
      child.stdout.on('data', (chunk) => {
        output += chunk;
        if (!shutdownSeenAt && output.includes('"shutdown"')) shutdownSeenAt = performance.now();
      });
      child.stderr.on('data', (chunk) => {
        output += chunk;
      });
      const code = await within(
        15_000,
        () => `the client process exits (output so far: ${output})`,
        new Promise<number | null>((resolve) => child.once('exit', resolve)),
      ).catch((error) => {
        child.kill('SIGKILL');
        throw error;
      });
      const exitedMsAfterShutdown = performance.now() - shutdownSeenAt;
      assert.equal(code, 0, output);
      const lines = output
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { event: string; name?: string; ms: number });
      const settled = lines.find((line) => line.event === 'settled');
      const shutdown = lines.find((line) => line.event === 'shutdown');
      assert.ok(settled && shutdown, output);
      if (mode === 'wait') {
        assert.equal(settled.name, 'ConnectionError', output);
        assert.ok(settled.ms >= 400 && settled.ms < 4000, output);
      } else {
        assert.equal(settled.name, 'CancelledError', output);
      }
      assert.ok(shutdown.ms - (mode === 'wait' ? settled.ms : 0) < 3000, `shutdown took too long: ${output}`);
      assert.ok(exitedMsAfterShutdown < 4000, `exited ${Math.round(exitedMsAfterShutdown)} ms after its shutdown`);
    });
  }

  it('refuses a connectTimeout that is not a positive number of milliseconds', () => {
    for (const connectTimeout of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '10' as unknown as number]) {
      assert.throws(
        () => new DistributedExecutor({ connection: 'redis://127.0.0.1:6379', connectTimeout }),
        /connectTimeout must be a positive, finite number of milliseconds/,
      );
    }
  });

  it('takes up once Redis is there: a task submitted then runs', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const client = track(new DistributedExecutor({ connection: url, connectTimeout: 700 }), closeClient);
    assert.ok((await within(5000, 'submit settles', rejection(client.submit(square, 3)))) instanceof ConnectionError);
    const redis = track(await TestRedis.start(port), (r) => r.stop());
    track(await startWorker(redis.url, SERVED, WORKER_FLAGS), (w) => stopWorker(w, 'SIGKILL'));
    // Tasks submitted before the client has reconnected may still fail, each within
    // connectTimeout; one soon succeeds.
    const deadline = performance.now() + 15_000;
    for (;;) {
      try {
        assert.equal(await within(5000, 'submit settles', client.submit(square, 4)), 16);
        break;
      } catch (error) {
        if (!(error instanceof ConnectionError) || performance.now() > deadline) throw error;
      }
    }
    await within(10_000, 'shutdown resolves', client.shutdown());
  });
});

describe('DistributedExecutor when Redis goes away after connecting', () => {
  it('a task submitted meanwhile fails after connectTimeout and is never sent; one already sent completes once Redis is back', async () => {
    const redis = track(await TestRedis.start(), (r) => r.stop());
    const worker = track(await startWorker(redis.url, SERVED, WORKER_FLAGS), (w) => stopWorker(w, 'SIGKILL'));
    const client = track(new DistributedExecutor({ connection: redis.url, connectTimeout: 1000 }), closeClient);
    assert.equal(await within(10_000, 'a first task', client.submit(square, 2)), 4);
    const sent = client.submit(pidAfter, 2500);
    await sleep(500); // running on the worker
    await redis.kill();
    // Let the client see the line drop: a task sent in the instant before counts as sent (ioredis
    // sends it again once Redis is back; its job id makes that harmless), like one sent before.
    await sleep(200);
    const unsent = await within(
      6000,
      'the task submitted while Redis is down settles',
      rejection(client.submit(square, 5)),
    );
    assert.ok(unsent instanceof ConnectionError, String(unsent));
    assert.match(unsent.message, /was not sent/);
    assert.equal(sent.done, false, 'a task already in Redis waits for Redis to come back (at least once)');
    await redis.resume();
    assert.equal(await within(20_000, 'the sent task completes', sent), worker.pid);
    assert.equal(await within(10_000, 'a task after the outage', client.submit(square, 6)), 36);
    // The task refused while Redis was down is nowhere in Redis, now that the client is back.
    const queue = new Queue('skein', { connection: { host: '127.0.0.1', port: redis.port }, prefix: 'skein' });
    try {
      const jobs = await queue.getJobs(['wait', 'active', 'completed', 'failed', 'delayed', 'prioritized']);
      const args = jobs.map((job) => deserialize(Buffer.from((job.data as { a: string }).a, 'base64')) as unknown[]);
      assert.ok(args.some((a) => a[0] === 6) && !args.some((a) => a[0] === 5), JSON.stringify(args));
    } finally {
      await queue.close();
    }
  });

  it('shutdown() with a task in flight resolves once Redis has been gone for connectTimeout; the task fails saying why', async () => {
    const redis = track(await TestRedis.start(), (r) => r.stop());
    track(await startWorker(redis.url, SERVED, WORKER_FLAGS), (w) => stopWorker(w, 'SIGKILL'));
    const client = track(new DistributedExecutor({ connection: redis.url, connectTimeout: 1000 }), closeClient);
    const inFlight = client.submit(pidAfter, 3000);
    await waitFor(() => inFlight.running, 'the task to start on the worker');
    await redis.kill();
    const started = performance.now();
    await within(8000, 'shutdown resolves while Redis is down', client.shutdown());
    const ms = performance.now() - started;
    assert.ok(ms >= 900, `shutdown gave Redis its connectTimeout to come back (resolved after ${Math.round(ms)} ms)`);
    const error = await rejection(inFlight);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.match(error.message, /may still run on a worker/);
  });
});

describe('skein worker when Redis cannot be reached', () => {
  it('says so once every few seconds, naming the URL with its password masked, and serves once Redis is there', async () => {
    const port = await freePort();
    const url = `redis://:${PASSWORD}@127.0.0.1:${port}`;
    const worker = track(spawnWorker(url, SERVED, WORKER_FLAGS), (w) => stopWorker(w, 'SIGKILL'));
    await sleep(7000);
    const lines = worker.log().trim().split('\n');
    assert.ok(lines.length >= 1 && lines.length <= 3, `${lines.length} lines in 7 s:\n${worker.log()}`);
    for (const line of lines) {
      assert.match(
        line,
        new RegExp(`^skein worker: cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port} `),
      );
      assert.match(line, /ECONNREFUSED.*retrying/);
    }
    assert.ok(!worker.log().includes(PASSWORD), 'the password is not shown');
    assert.equal(worker.exitCode, null, 'it waits for Redis rather than exiting');
    const redis = track(await TestRedis.start(port, PASSWORD), (r) => r.stop());
    await waitFor(() => worker.log().includes('serving'), 'the worker to serve once Redis is up', 15_000);
    const client = track(new DistributedExecutor({ connection: url }), closeClient);
    assert.equal(await within(10_000, 'a task on that worker', client.submit(pidAfter, 0)), worker.pid);
    assert.ok(redis.port === port);
  });

  it('stops on SIGTERM while Redis is away, within seconds, saying so', async () => {
    const redis = track(await TestRedis.start(), (r) => r.stop());
    const worker = track(await startWorker(redis.url, SERVED, WORKER_FLAGS), (w) => stopWorker(w, 'SIGKILL'));
    await redis.kill();
    await sleep(500);
    const started = performance.now();
    const code = await within(15_000, () => `the worker exits (log: ${worker.log()})`, stopWorker(worker, 'SIGTERM'));
    const ms = performance.now() - started;
    assert.equal(code, 0, worker.log());
    assert.match(worker.log(), /has been away for 5 s: stopping without it .*run again elsewhere/);
    assert.ok(ms < 12_000, `exited ${Math.round(ms)} ms after SIGTERM`);
  });
});
