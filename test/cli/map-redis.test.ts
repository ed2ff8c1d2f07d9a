/**
 * `skein map --backend redis`: the built CLI against a real Redis (redis-server, started here on a
 * free loopback port) and two real `skein worker` processes serving the task module.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { redisAvailable, startWorker, stopWorker, TestRedis } from '../distributed-helpers.ts';
import { records, runMap, runs, TASKS, tempDir, writeLines } from './map-helpers.ts';

describe('skein map --backend redis with 2 skein workers on a real Redis', () => {
  let redis: TestRedis;
  let workers: ChildProcess[] = [];
  let dir: string;
  let remove: () => void;

  before(async () => {
    assert.ok(redisAvailable(), 'redis-server is not installed: `apt-get install redis-server` (.ci/run does it)');
    ({ dir, remove } = tempDir());
    mkdirSync(join(dir, 'markers'));
    // The workers inherit these: where failOnce keeps its markers and countRun its counts.
    process.env.MAP_MARKERS_DIR = join(dir, 'markers');
    process.env.MAP_RUNS_FILE = join(dir, 'runs');
    redis = await TestRedis.start();
    workers = await Promise.all([
      startWorker(redis.url, [TASKS], ['--concurrency', '2']),
      startWorker(redis.url, [TASKS], ['--concurrency', '2']),
    ]);
  });

  after(async () => {
    await Promise.all(workers.map((w) => stopWorker(w, 'SIGKILL')));
    await redis?.stop();
    remove?.();
  });

  it('maps every line on the workers, with parse and task failures in their records', async () => {
    const input = join(dir, 'mixed.jsonl');
    const values = Array.from({ length: 200 }, (_, i) => ({ id: `r${i}`, x: i, bad: i % 50 === 7 }));
    writeFileSync(input, `${values.map((v) => JSON.stringify(v)).join('\n')}\n{oops\n`);
    const run = await runMap(
      [
        `${TASKS}#doubleX`,
        '-i',
        input,
        '-o',
        '-',
        '-q',
        '--backend',
        'redis',
        '--connection',
        redis.url,
        '--id-field',
        'id',
      ],
      { timeoutMs: 120_000 },
    );
    assert.equal(run.code, 1, run.stderr);
    const all = records(run.stdout);
    assert.deepEqual(
      all.map((r) => r.line).sort((a, b) => a - b),
      Array.from({ length: 201 }, (_, i) => i + 1),
    );
    for (const record of all.filter((r) => r.line <= 200)) {
      const x = record.line - 1;
      assert.equal(record.id, `r${x}`);
      if (x % 50 === 7) {
        assert.equal(record.error?.kind, 'task');
        assert.equal(record.error?.name, 'RangeError');
      } else {
        assert.equal(record.result, x * 2);
      }
    }
    assert.equal(all.find((r) => r.line === 201)?.error?.kind, 'parse');
  });

  it('--retries runs a failed line again on the workers', async () => {
    const input = join(dir, 'flaky.jsonl');
    writeLines(
      input,
      Array.from({ length: 10 }, (_, i) => 1000 + i),
    );
    const run = await runMap(
      [
        `${TASKS}#failOnce`,
        '-i',
        input,
        '-o',
        '-',
        '-q',
        '--backend',
        'redis',
        '--connection',
        redis.url,
        '--retries',
        '1',
      ],
      { timeoutMs: 120_000 },
    );
    assert.equal(run.code, 0, run.stderr);
    const all = records(run.stdout);
    assert.equal(all.length, 10);
    assert.ok(all.every((r) => r.ok));
    assert.equal(runs(join(dir, 'runs')).filter((v) => (v as number) >= 1000).length, 20);
  });

  it('--queue and --prefix reach workers started with the same', async () => {
    const worker = await startWorker(redis.url, [TASKS], ['--queue', 'map-queue', '--prefix', 'map-prefix']);
    try {
      const input = join(dir, 'queue.jsonl');
      writeLines(input, [1, 2, 3]);
      const run = await runMap(
        [
          `${TASKS}#pidOf`,
          '-i',
          input,
          '-o',
          '-',
          '-q',
          '--keep-order',
          '--backend',
          'redis',
          '--connection',
          redis.url,
          '--queue',
          'map-queue',
          '--prefix',
          'map-prefix',
        ],
        { timeoutMs: 120_000 },
      );
      assert.equal(run.code, 0, run.stderr);
      // Only that worker serves this queue and prefix: the lines cannot have run anywhere else.
      assert.deepEqual(
        records(run.stdout).map((r) => r.result),
        [worker.pid, worker.pid, worker.pid],
      );
    } finally {
      await stopWorker(worker, 'SIGKILL');
    }
  });

  it('--timeout stops a line that spins on a worker, kind "timeout"', async () => {
    const input = join(dir, 'spin.jsonl');
    writeLines(input, [1, 'spin', 3]);
    const run = await runMap(
      [
        `${TASKS}#spinOn`,
        '-i',
        input,
        '-o',
        '-',
        '-q',
        '--backend',
        'redis',
        '--connection',
        redis.url,
        '--timeout',
        '500',
      ],
      { timeoutMs: 120_000 },
    );
    assert.equal(run.code, 1, run.stderr);
    const all = records(run.stdout);
    assert.equal(all.length, 3);
    assert.equal(all.find((r) => r.line === 2)?.error?.kind, 'timeout');
    assert.equal(all.filter((r) => r.ok).length, 2);
  });
});
