import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const skein = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });

interface Row {
  workload: string;
  mode: string;
  wallMs: number;
  samplesMs: number[];
  minMs: number;
  maxMs: number;
  speedup: number;
}
interface Report {
  workers: number;
  runs: number;
  rows: Row[];
  machine: { cores: number; loadAverage: number };
  verdicts: { workload: string; winner: string; clear: boolean; text: string }[];
  notes: string[];
}

const MODES = ['sequential', 'event loop', 'threads', 'processes'];

/** The mode with the lowest median for the workload, computed here from the measured runs. */
function measuredWinner(rows: Row[], workload: string): string {
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2
      ? (s[(s.length - 1) / 2] as number)
      : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
  };
  const mine = rows.filter((r) => r.workload === workload).map((r) => ({ mode: r.mode, median: median(r.samplesMs) }));
  return mine.reduce((a, b) => (b.median < a.median ? b : a)).mode;
}

/** The verdict names `winner` as the winner and no other mode as one. */
function assertNamesWinner(text: string, winner: string): void {
  assert.ok(text.startsWith(`${winner} wins`), `verdict should name ${winner} as the winner: ${text}`);
  for (const mode of MODES.filter((m) => m !== winner)) {
    assert.ok(!text.includes(`${mode} wins`), `verdict names ${mode} as a winner too: ${text}`);
  }
}

describe('skein demo', () => {
  it('measures both workloads four ways, several runs each; each verdict names the measured winner (--json)', () => {
    const started = performance.now();
    const run = skein('demo', '--quick', '--json', '--workers', '2');
    const elapsedMs = performance.now() - started;
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout) as Report;
    assert.equal(report.workers, 2);
    assert.equal(report.runs, 3);
    assert.deepEqual(
      report.rows.map((r) => `${r.workload}/${r.mode}`),
      ['CPU-bound', 'I/O-bound'].flatMap((w) => MODES.map((m) => `${w}/${m}`)),
    );
    for (const row of report.rows) {
      assert.equal(row.samplesMs.length, 3);
      assert.ok(row.samplesMs.every((ms) => ms > 0));
      assert.ok(row.minMs <= row.wallMs && row.wallMs <= row.maxMs, JSON.stringify(row));
      assert.ok(Number.isFinite(row.speedup));
    }
    for (const workload of ['CPU-bound', 'I/O-bound']) {
      const verdict = report.verdicts.find((v) => v.workload === workload);
      assert.ok(verdict, `no verdict for ${workload}`);
      const winner = measuredWinner(report.rows, workload);
      assert.equal(verdict.winner, winner);
      assertNamesWinner(verdict.text, winner);
    }
    assert.ok(report.machine.cores >= 1 && report.machine.loadAverage >= 0);
    assert.match(run.stderr, /CPU-bound: count primes/);
    assert.match(run.stderr, /run 3 of 3/);
    // The one claim that holds on any machine: the event loop overlaps waiting.
    const io = Object.fromEntries(report.rows.filter((r) => r.workload === 'I/O-bound').map((r) => [r.mode, r.wallMs]));
    assert.ok((io['event loop'] as number) < (io.sequential as number) / 2, JSON.stringify(io));
    // --quick stays short (~10 s on an idle 2-core machine; the bound allows for a loaded one).
    assert.ok(elapsedMs < 60_000, `demo --quick took ${elapsedMs} ms`);
  });

  it('prints a table of medians and ranges, and verdicts that name the winner of the table', () => {
    const run = skein('demo', '--quick', '--runs', '2', '--workers', '2');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /\| workload +\| mode +\| wall time \(median\) +\| range +\| speed-up +\| CPU use +\|/);
    assert.match(run.stdout, /2 runs per mode, interleaved/);
    assert.match(run.stdout, /load average \d+\.\d\d before the runs/);
    for (const workload of ['CPU-bound', 'I/O-bound']) {
      const medians = [...run.stdout.matchAll(/^\| (\S+) +\| (.+?)(?: \(2\))? +\| (\d+) ms +\|/gm)]
        .filter((m) => m[1] === workload)
        .map((m) => ({ mode: m[2] as string, ms: Number(m[3]) }));
      assert.equal(medians.length, 4, run.stdout);
      const fastest = Math.min(...medians.map((m) => m.ms));
      const line = run.stdout.split('\n').find((l) => l.startsWith(`${workload}: `));
      assert.ok(line, run.stdout);
      const named = line.slice(workload.length + 2).match(/^(.+?) wins/)?.[1];
      // The table rounds to whole ms, so a tie there may name either of the tied modes.
      assert.ok(
        medians.some((m) => m.mode === named && m.ms === fastest),
        `${workload} verdict names ${named}, the table's fastest is ${fastest} ms:\n${run.stdout}`,
      );
    }
  });
});

describe('skein command line', () => {
  const version = (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;

  it('lists every command on --help, with no arguments and with -h', () => {
    for (const args of [['--help'], [], ['-h']]) {
      const help = skein(...args);
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, /usage: skein <command> \[options\]/);
      assert.match(help.stdout, /^ +demo +measure concurrency against parallelism/m);
      assert.match(help.stdout, /^ +worker +run DistributedExecutor tasks from Redis/m);
      assert.match(help.stdout, /--version/);
    }
  });

  it('prints the version of package.json on --version and -V', () => {
    for (const flag of ['--version', '-V']) {
      const run = skein(flag);
      assert.equal(run.status, 0);
      assert.equal(run.stdout.trim(), version);
    }
  });

  it('describes every option of demo and worker on <command> --help and help <command>', () => {
    const expected = {
      demo: ['--quick', '--json', '--workers N', '--runs N', '--help'],
      worker: [
        '--connection URL',
        '--module PATH',
        '--concurrency N',
        '--backend KIND',
        '--workers N',
        '--queue NAME',
        '--prefix P',
        '--lock-duration MS',
        '--stalled-interval MS',
        '--help',
      ],
    };
    for (const [command, options] of Object.entries(expected)) {
      for (const args of [
        [command, '--help'],
        ['help', command],
        [command, '-h'],
      ]) {
        const help = skein(...args);
        assert.equal(help.status, 0, help.stderr);
        assert.match(help.stdout, new RegExp(`^usage: skein ${command}`));
        for (const option of options) {
          // each option on its own line, followed by a description
          assert.match(help.stdout, new RegExp(`^ +(-\\w, )?${option} +\\w`, 'm'), `${command}: ${option}`);
        }
      }
    }
    assert.match(skein('worker', '--help').stdout, /--connection URL +the Redis .*\(required\)/s);
  });

  it('rejects an unknown flag with exit code 2, says which, and points at --help', () => {
    const run = skein('demo', '--fast');
    assert.equal(run.status, 2);
    assert.match(run.stderr, /Unknown option '--fast'/);
    assert.match(run.stderr, /usage: skein demo/);
    assert.match(run.stderr, /skein demo --help/);
  });

  it('rejects a bad --workers value', () => {
    const run = skein('demo', '--workers', 'many');
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--workers must be a whole number >= 1, got "many"/);
  });

  it('refuses skein worker without its required options, naming the missing one, before connecting', () => {
    const none = skein('worker');
    assert.equal(none.status, 2);
    assert.match(none.stderr, /--connection URL is required/);
    const noModule = skein('worker', '--connection', 'redis://127.0.0.1:1');
    assert.equal(noModule.status, 2);
    assert.match(noModule.stderr, /--module PATH is required/);
    const badBackend = skein('worker', '--connection', 'redis://127.0.0.1:1', '--module', 'x.js', '--backend', 'gpu');
    assert.equal(badBackend.status, 2);
    assert.match(badBackend.stderr, /--backend must be threads, processes or inline, got "gpu"/);
  });

  it('rejects an unknown command, naming the commands, also after help', () => {
    for (const args of [['frobnicate'], ['help', 'frobnicate']]) {
      const run = skein(...args);
      assert.equal(run.status, 2);
      assert.match(run.stderr, /unknown command "frobnicate" \(the commands: demo, worker, map\)/);
    }
    assert.match(skein('help').stdout, /usage: skein <command> \[options\]/);
  });
});
