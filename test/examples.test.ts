/** Every example runs as a user would run it (`npx tsx examples/NAME.ts`) and prints what it should. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gpuInfo } from 'skein/gpu';

function runExample(name: string, env: Record<string, string> = {}) {
  const file = fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
  const run = spawnSync(process.execPath, ['--import', 'tsx', file], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  assert.equal(run.status, 0, `${name} failed:\n${run.stderr}`);
  return run.stdout;
}

describe('examples', () => {
  it('thread-pool-submit prints 0..4 from a worker', () => {
    assert.equal(runExample('thread-pool-submit.ts', { DELAY_MS: '10' }), '0\n1\n2\n3\n4\n');
  });

  it('thread-pool-map greets in order', () => {
    assert.equal(runExample('thread-pool-map.ts'), 'Hello, Alice!\nHello, Bob!\nHello, Charlie!\n');
  });

  it('process-pool-map squares on processes', () => {
    assert.equal(runExample('process-pool-map.ts'), '[ 1, 4, 9, 16 ]\n');
  });

  it('asyncio-gather overlaps three fetches in one event loop', () => {
    const out = runExample('asyncio-gather.ts', { DELAY_MS: '300' });
    const lines = out.trim().split('\n');
    assert.deepEqual(lines.slice(0, 3), [
      'Fetching data for task 0...',
      'Fetching data for task 1...',
      'Fetching data for task 2...',
    ]);
    assert.match(out, /\[ 'data 0', 'data 1', 'data 2' \]/);
    // All three started before any finished: that is the overlap (no clock needed to see it).
    assert.ok(lines.indexOf('Fetching data for task 2...') < lines.findIndex((l) => l.startsWith('Data fetched')));
  });

  it('thread-pool-downloads overlaps the downloads', () => {
    const out = runExample('thread-pool-downloads.ts');
    const pages = out.match(/^\/page\/\d: \d+ bytes$/gm) ?? [];
    assert.equal(pages.length, 8, out);
    // The overlap is observed by the server, not by a clock: 4 workers, so up to 4 at once.
    const most = Number(/at most (\d+) requests at once/.exec(out)?.[1]);
    assert.ok(most >= 2 && most <= 4, `the server saw ${most} requests at once`);
  });

  it('lock-counter ends at exactly 50,000', () => {
    assert.equal(runExample('lock-counter.ts'), 'Final counter value: 50000\n');
  });

  it('threading-thread prints 0..4 from a thread, then overlaps the three downloads', () => {
    const out = runExample('threading-thread.ts', { DELAY_MS: '300' });
    const lines = out.trim().split('\n');
    assert.deepEqual(lines.slice(0, 5), ['0', '1', '2', '3', '4']);
    // Every download started before any finished: they ran at the same time.
    const firstDone = lines.findIndex((l) => l.endsWith('downloaded.'));
    assert.equal(lines.slice(5, firstDone).filter((l) => l.startsWith('Downloading file')).length, 3, out);
    assert.equal(lines.filter((l) => l.endsWith('downloaded.')).length, 3);
    assert.ok(lines.includes('All downloads completed.'));
  });

  it('queue-pipeline hashes every word once on 3 threads, then shuts the queue', () => {
    const out = runExample('queue-pipeline.ts');
    assert.match(out, /^hashed 60 words on 3 threads \(60 jobs done\)$/m);
    let hash = 7;
    for (let i = 0; i < 200_000; i++) hash = (hash * 31 + 'word-0'.charCodeAt(i % 6)) | 0;
    assert.match(out, new RegExp(`^word-0 -> ${hash}$`, 'm'));
    assert.match(out, /^shut down: true QueueShutDown$/m);
  });

  it('barrier-phases computes what the same steps compute on one thread', () => {
    const size = 1000;
    let read: number[] = Array.from({ length: size }, (_, i) => (i === size / 2 ? size : 0));
    for (let step = 0; step < 200; step++) {
      read = read.map(
        (v, i) => ((read[Math.max(0, i - 1)] as number) + v + (read[Math.min(size - 1, i + 1)] as number)) / 3,
      );
    }
    const total = read.reduce((a, b) => a + b, 0);
    assert.equal(
      runExample('barrier-phases.ts'),
      `after 200 steps: middle ${read[size / 2]?.toFixed(3)}, total heat ${total.toFixed(3)}\n`,
    );
  });

  it('asyncio-primitives: semaphore cap, event, condition batch, priority and lifo order, bounded, rlock', () => {
    assert.equal(
      runExample('asyncio-primitives.ts'),
      [
        'downloaded [ 1, 2, 3, 4, 5 ] with at most 2 at once',
        'consumed batch [ 10, 20, 30 ]',
        "jobs in order [ 'urgent', 'normal', 'low' ]",
        "back through [ 'item', 'list', 'home' ]",
        'BoundedSemaphore released too many times (it holds at most 1 permit)',
        'rlock level 2',
        'rlock free true',
        '',
      ].join('\n'),
    );
  });

  it('asyncio-structured: a failing child stops its siblings; timeout; asCompleted; bounded mapConcurrent', () => {
    assert.equal(
      runExample('asyncio-structured.ts'),
      [
        "group failed with [ 'c failed' ] and stopped [ 'a', 'b' ]",
        'timeout: true',
        'in time: done',
        'finished in order [ 10, 20, 30 ]',
        'squares [ 1, 4, 9, 16, 25, 36 ] with at most 2 at once',
        '',
      ].join('\n'),
    );
  });
  it('dask-dataframe: readCsv().groupby().sum().compute() gives the sums per group', () => {
    const rows = 30_000;
    const out = runExample('dask-dataframe.ts', { ROWS: String(rows) });
    const expected = new Map<string, [number, number]>();
    for (let i = 0; i < rows; i++) {
      const key = ['apples', 'pears', 'plums'][i % 3] as string;
      const [amount, quantity] = expected.get(key) ?? [0, 0];
      expected.set(key, [amount + (i % 100) / 4, quantity + (i % 7)]);
    }
    const lines = out.trim().split('\n');
    assert.match(lines[0] as string, /^column +amount +quantity$/);
    assert.deepEqual(
      lines.slice(1, 4).map((line) => line.trim().split(/ +/)),
      [...expected].map(([key, [amount, quantity]]) => [key, String(Number(amount.toPrecision(8))), String(quantity)]),
    );
    assert.equal(lines[4], '[3 rows x 3 columns]');
  });

  it('multiprocessing-pool-map: Pool(4) as a context manager, then Pool(processes=4)', () => {
    assert.equal(runExample('multiprocessing-pool-map.ts'), '[ 1, 4, 9, 16, 25 ]\n[ 1, 4, 9, 16 ]\n');
  });

  it('multiprocessing-pool-context: every square computed in a worker, results in order', () => {
    const lines = runExample('multiprocessing-pool-context.ts').trim().split('\n');
    assert.deepEqual(
      lines.slice(0, 4).sort(),
      [1, 2, 3, 4].map((n) => `Computing square of ${n}`),
    );
    assert.equal(lines[4], 'Squares: [ 1, 4, 9, 16 ]');
  });

  it('multiprocessing-process prints 0..4 from a child process', () => {
    assert.equal(runExample('multiprocessing-process.ts', { DELAY_MS: '10' }), '0\n1\n2\n3\n4\nexit code 0\n');
  });

  it('multiprocessing-cpu-count runs square_numbers in one process per CPU', () => {
    const cpus = availableParallelism();
    assert.equal(
      runExample('multiprocessing-cpu-count.ts'),
      `Completed multiprocessing example.\n${cpus} processes, exit codes ${Array(cpus).fill(0).join(',')}\n`,
    );
  });

  it('gpu-square squares a CPU array and a device array alike (the device part only where an adapter is)', async () => {
    const squares = '[0 1 4 9 16 25 36 49 64 81]';
    const lines = runExample('gpu-square.ts').trim().split('\n');
    assert.equal(lines[0], `cpu: ${squares}`);
    if ((await gpuInfo()) === null) assert.match(lines[1] ?? '', /^gpu: skipped, no WebGPU adapter/);
    else assert.equal(lines[1], `gpu: ${squares}`);
  });

  it('dask-pipeline: load → clean → summarise per file, then combine, computed lazily', () => {
    assert.equal(
      runExample('dask-pipeline.ts'),
      [
        'graph: 13 nodes, nothing run yet (state pending)',
        'Lisbon: 1319 readings, mean 14.72, max 29.7',
        'Oslo: 1318 readings, mean 14.83, max 29.8',
        'Quito: 1319 readings, mean 14.95, max 29.9',
        'after compute: done',
        '',
      ].join('\n'),
    );
  });

  it('joblib-cache: the second parallel pass reads every result from the cache the workers filled', () => {
    const squares = '[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]';
    const cache = mkdtempSync(join(tmpdir(), 'skein-example-cache-'));
    try {
      assert.equal(
        runExample('joblib-cache.ts', { SKEIN_EXAMPLE_CACHE: cache }),
        `first pass: 0 of 10 already cached -> ${squares}\nsecond pass: 10 of 10 already cached -> ${squares}\n`,
      );
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
