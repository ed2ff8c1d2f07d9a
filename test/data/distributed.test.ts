/**
 * The same frame on a DistributedExecutor: real Redis, real `skein worker` processes serving
 * skein's data tasks (dist/data/tasks.js) and reading the same files by path.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCsv, readJsonl } from 'skein/data';
import { DistributedExecutor } from 'skein/distributed';
import { runPartitionByAddress } from '../../dist/data/distributed-tasks.js';
import { redisAvailable, startWorker, stopWorker, TestRedis } from '../distributed-helpers.ts';
import { doubleValues, isPositive } from '../fixtures/data-rows.ts';
import { rejection } from '../helpers.ts';
import {
  assertRowsClose,
  generateCsv,
  generateJsonl,
  parseCsvText,
  parseJsonlText,
  referenceGroupby,
  typedRows,
} from './reference.ts';

describe('Frame on a DistributedExecutor with 2 skein workers on a real Redis', () => {
  let redis: TestRedis;
  let workers: ChildProcess[] = [];
  let client: DistributedExecutor;
  let dir: string;

  before(async () => {
    assert.ok(redisAvailable(), 'redis-server is not installed: `apt-get install redis-server` (.ci/run does it)');
    redis = await TestRedis.start();
    const served = ['dist/data/distributed-tasks.js'];
    workers = await Promise.all([
      startWorker(redis.url, served, ['--concurrency', '1']),
      startWorker(redis.url, served, ['--concurrency', '1']),
    ]);
    client = new DistributedExecutor({ connection: redis.url });
    dir = mkdtempSync(join(tmpdir(), 'skein-data-redis-'));
  });

  after(async () => {
    await client?.shutdown({ cancelFutures: true });
    await Promise.all(workers.map((w) => stopWorker(w, 'SIGKILL')));
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('computes the group-by a local pool computes, row functions included', async () => {
    const text = generateCsv(2000, { seed: 21 });
    const path = join(dir, 'data.csv');
    writeFileSync(path, text);
    const rows = typedRows(parseCsvText(text), ['id', 'key2', 'value']);
    const result = await readCsv(path, { blocksize: 5000 })
      .filter(isPositive)
      .groupby(['key', 'key2'])
      .agg({ value: 'sum', note: 'first', id: 'count' })
      .compute({ executor: client, splitEvery: 4 });
    assertRowsClose(
      result.toRows(),
      referenceGroupby(
        rows.filter((r) => isPositive(r)),
        ['key', 'key2'],
        { value: 'sum', note: 'first', id: 'count' },
      ),
    );
  });

  it('reads JSON lines, maps partitions and describes on skein workers as on a local pool', async () => {
    const text = generateJsonl(1500, { seed: 22 });
    const path = join(dir, 'data.jsonl');
    writeFileSync(path, text);
    const names = ['id', 'key', 'key2', 'value', 'note'];
    const rows = parseJsonlText(text, ['id', 'key2', 'value'], names);
    const grouped = await readJsonl(path, { blocksize: 4000 })
      .mapPartitions(doubleValues, { columns: [...names, 'rank'] })
      .groupby('key')
      .agg({ value: 'sum', id: 'count' })
      .compute({ executor: client, splitEvery: 4 });
    const doubled = rows.map((row) => ({ ...row, value: (row.value as number) * 2 }));
    assertRowsClose(grouped.toRows(), referenceGroupby(doubled, ['key'], { value: 'sum', id: 'count' }));
    const described = await readJsonl(path, { blocksize: 4000 })
      .select(['id', 'value'])
      .describe()
      .compute({ executor: client, splitEvery: 4 });
    const local = await readJsonl(path).select(['id', 'value']).describe().compute();
    assertRowsClose(described.toRows(), local.toRows());
  });

  it('refuses a row function sent as source: no code travels through Redis', async () => {
    const path = join(dir, 'small.csv');
    writeFileSync(path, 'a\n1\n');
    await assert.rejects(
      readCsv(path)
        .filter((row) => row.a === 1)
        .compute({ executor: client }),
      /must be exported from a module file \(no code travels through Redis\)/,
    );
  });

  it('a job written straight to Redis cannot make a worker run source or import a path outside the project', async () => {
    const path = join(dir, 'small.csv');
    writeFileSync(path, 'a\n1\n');
    const job = (fn: unknown) => ({
      range: { file: path, start: 0, end: 4, fileSize: 4, first: true },
      startInQuotes: false,
      schema: { names: ['a'], dtypes: ['float64'], delimiter: 44, header: true, headerLine: ['a'] },
      read: [0],
      steps: [{ kind: 'filter', fn }],
      terminal: { kind: 'collect' },
      onBadLines: 'error',
    });
    // The client refuses these; a forged job reaches the worker anyway, and the worker refuses it.
    const refused = async (fn: unknown) =>
      String(await rejection(client.submit(runPartitionByAddress, job(fn) as never)));
    assert.match(
      await refused({ kind: 'source', source: '() => true' }),
      /only as module addresses \(no code travels through Redis\)/,
    );
    assert.match(await refused({ kind: 'module', url: 'file:///etc/x.js', path: ['f'] }), /only as module addresses/);
    assert.match(
      await refused({ kind: 'address', module: '../etc/x.js', version: '0', export: 'f' }),
      /must be a path inside the project/,
    );
    const stale = { kind: 'address', module: 'test/fixtures/data-rows.ts', version: 'bad', export: 'isPositive' };
    assert.match(await refused(stale), /differs between the client \(version bad\) and this worker/);
  });
});
