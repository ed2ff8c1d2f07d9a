import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const skein = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('skein demo', () => {
  it('measures both workloads four ways and prints JSON with --json; progress goes to stderr', () => {
    const run = skein('demo', '--quick', '--json', '--workers', '2');
    assert.equal(run.status, 0, run.stderr);
    const { workers, rows } = JSON.parse(run.stdout) as {
      workers: number;
      rows: { workload: string; mode: string; wallMs: number; speedup: number }[];
    };
    assert.equal(workers, 2);
    const modes = ['sequential', 'event loop', 'threads', 'processes'];
    assert.deepEqual(
      rows.map((r) => `${r.workload}/${r.mode}`),
      ['CPU-bound', 'I/O-bound'].flatMap((w) => modes.map((m) => `${w}/${m}`)),
    );
    for (const row of rows) assert.ok(row.wallMs > 0 && Number.isFinite(row.speedup));
    assert.match(run.stderr, /CPU-bound: count primes/);
    // The one claim that holds on any machine: the event loop overlaps waiting.
    const io = Object.fromEntries(rows.filter((r) => r.workload === 'I/O-bound').map((r) => [r.mode, r.wallMs]));
    assert.ok((io['event loop'] as number) < (io.sequential as number) / 2, JSON.stringify(io));
  });

  it('prints a table with a verdict per workload', () => {
    const run = skein('demo', '--quick');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /\| workload +\| mode +\| wall time +\| speed-up +\| CPU use +\|/);
    assert.match(run.stdout, /^CPU-bound: \w.* wins/m);
    assert.match(run.stdout, /^I\/O-bound: \w.* wins/m);
  });
});

describe('skein command line', () => {
  it('rejects an unknown flag with exit code 2 and says which', () => {
    const run = skein('demo', '--fast');
    assert.equal(run.status, 2);
    assert.match(run.stderr, /Unknown option '--fast'/);
    assert.match(run.stderr, /usage: skein/);
  });

  it('rejects a bad --workers value', () => {
    const run = skein('demo', '--workers', 'many');
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--workers must be a whole number >= 1, got "many"/);
  });

  it('rejects an unknown command and prints help on --help', () => {
    assert.equal(skein('frobnicate').status, 2);
    const help = skein('--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /demo \[--quick\]/);
  });
});
