/** Every example runs as a user would run it (`npx tsx examples/NAME.ts`) and prints what it should. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

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
});
