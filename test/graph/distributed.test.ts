/**
 * The same graph and the same parallel loop on a DistributedExecutor: a real Redis and two real
 * `skein worker` processes serving the graph's task module (as test/executors/distributed.test.ts
 * sets them up). Each node is one job; values go through Redis.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compute, delayed, parallel } from 'skein';
import { DistributedExecutor } from 'skein/distributed';
import { redisAvailable, startWorker, stopWorker, TestRedis } from '../distributed-helpers.ts';
import { failWith, inc, recordAdd, recordRun, square, sumShape } from '../fixtures/graph-tasks.ts';
import { rejection } from '../helpers.ts';

describe('graphs on a DistributedExecutor (real Redis, 2 skein workers)', () => {
  let redis: TestRedis;
  let workers: ChildProcess[] = [];
  let client: DistributedExecutor;
  const dir = mkdtempSync(join(tmpdir(), 'skein-graph-redis-'));

  before(async () => {
    assert.ok(redisAvailable(), 'redis-server is not installed: `apt-get install redis-server` (.ci/run does it)');
    redis = await TestRedis.start();
    workers = await Promise.all(
      [0, 1].map(() => startWorker(redis.url, ['test/fixtures/graph-tasks.ts'], ['--concurrency', '2'])),
    );
    client = new DistributedExecutor({ connection: redis.url });
  });

  after(async () => {
    await client?.shutdown({ cancelFutures: true });
    await Promise.all(workers.map((w) => stopWorker(w, 'SIGKILL')));
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('computes the diamond with its shared input run once, and nested nodes', async () => {
    const file = join(dir, 'runs.log');
    writeFileSync(file, '');
    const a = delayed(recordRun)(file, 'a', 1);
    const b = delayed(recordAdd)(file, 'b', a, 10);
    const c = delayed(recordAdd)(file, 'c', a, 100);
    const d = delayed(recordAdd)(file, 'd', b, c);
    const x = delayed(inc)(1);
    const [dv, sv] = await compute(d, delayed(sumShape)({ a: x, list: [x, 3], label: 'r' }), { executor: client });
    assert.equal(dv, 112);
    assert.equal(sv, 'r=7');
    assert.deepEqual(readFileSync(file, 'utf8').split('\n').filter(Boolean).sort(), ['a', 'b', 'c', 'd']);
    assert.equal(d.state, 'done');
  });

  it('a failing node rejects with its error and its users never run', async () => {
    const file = join(dir, 'fail.log');
    writeFileSync(file, '');
    const bad = delayed(failWith)('broken on a worker');
    const user = delayed(recordAdd)(file, 'user', bad, 1);
    const error = await rejection(compute(user, { executor: client }));
    assert.ok(error instanceof RangeError);
    assert.equal(error.message, 'broken on a worker');
    assert.equal(readFileSync(file, 'utf8'), '');
    assert.equal(user.state, 'cancelled');
  });

  it('parallel runs on it too, one job per call', async () => {
    const results = await parallel(
      Array.from({ length: 50 }, (_, i) => delayed(square)(i)),
      { backend: client, preDispatch: 16 },
    );
    assert.deepEqual(
      results,
      Array.from({ length: 50 }, (_, i) => i * i),
    );
  });
});
