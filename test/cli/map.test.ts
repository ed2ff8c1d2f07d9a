/**
 * `skein map`, run as users run it: the built CLI in a child process, over real files, on real
 * worker threads and processes. Resume and interruption: map-resume.test.ts; Redis:
 * map-redis.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  assertOneOkRecordPerLine,
  readRecords,
  records,
  runMap,
  runs,
  TASKS,
  tempDir,
  writeLines,
} from './map-helpers.ts';

describe('skein map', () => {
  let dir: string;
  let remove: () => void;
  before(() => {
    ({ dir, remove } = tempDir());
  });
  after(() => remove());

  it('maps 10,000 lines, one ok record per line with the right result, and exits 0', async () => {
    const input = join(dir, 'numbers.jsonl');
    const output = join(dir, 'numbers.out.jsonl');
    writeLines(
      input,
      Array.from({ length: 10_000 }, (_, i) => i * 3),
    );
    const run = await runMap([`${TASKS}#increment`, '--input', input, '--output', output, '--workers', '2']);
    assert.equal(run.code, 0, run.stderr);
    const all = readRecords(output);
    assertOneOkRecordPerLine(all, 10_000);
    for (const record of all) assert.equal(record.result, (record.line - 1) * 3 + 1);
    assert.match(run.stderr, /10,000 ok, 0 failed/);
    assert.match(run.stderr, /skein map 10,000\/10,000 \(100%\)/, 'the final progress line, with the total');
    assert.ok(existsSync(`${output}.skein-map.json`), 'the sidecar that --resume checks is written');
  });

  it('gives lines that are not JSON kind "parse" and a throwing task kind "task", and exits 1', async () => {
    const input = join(dir, 'mixed.jsonl');
    const output = join(dir, 'mixed.out.jsonl');
    const long = { x: 1, bad: true, padding: 'p'.repeat(5000) };
    writeFileSync(
      input,
      [
        '{"id":"a","x":1}',
        '{"id":"b","x":2,"bad":true}',
        'not json',
        '',
        '{"id":"c","x":3}\r', // a CRLF line
        JSON.stringify(long),
      ]
        .map((line) => `${line}\n`)
        .join(''),
    );
    const run = await runMap([`${TASKS}#doubleX`, '-i', input, '-o', output, '--id-field', 'id', '-w', '2']);
    assert.equal(run.code, 1, run.stderr);
    const byLine = new Map(readRecords(output).map((r) => [r.line, r]));
    assert.deepEqual(byLine.get(1), { line: 1, ok: true, id: 'a', result: 2 });
    assert.deepEqual(byLine.get(5), { line: 5, ok: true, id: 'c', result: 6 });
    assert.deepEqual(byLine.get(2), {
      line: 2,
      ok: false,
      id: 'b',
      error: { name: 'RangeError', message: 'bad input {"id":"b","x":2,"bad":true}', kind: 'task' },
      input: { id: 'b', x: 2, bad: true },
    });
    assert.equal(byLine.get(3)?.error?.kind, 'parse');
    assert.equal(byLine.get(3)?.error?.name, 'SyntaxError');
    assert.equal(byLine.get(3)?.input, 'not json');
    assert.equal(byLine.get(4)?.error?.kind, 'parse', 'an empty line is not a JSON value');
    const truncated = byLine.get(6);
    assert.equal(truncated?.error?.kind, 'task');
    assert.equal(truncated?.inputTruncated, true);
    assert.equal(typeof truncated?.input, 'string');
    assert.ok(String(truncated?.input).length <= 1000, 'a long input is cut in the error record');
    assert.match(run.stderr, /2 ok, 4 failed/);
  });

  it('a result JSON cannot hold fails its line, kind "task"', async () => {
    const input = join(dir, 'bigint.jsonl');
    writeLines(input, [1, 2]);
    const run = await runMap([`${TASKS}#bigint`, '-i', input, '-o', '-', '-q']);
    assert.equal(run.code, 1);
    for (const record of records(run.stdout)) {
      assert.equal(record.ok, false);
      assert.equal(record.error?.kind, 'task');
      assert.match(record.error?.message ?? '', /BigInt/);
    }
  });

  it('runs async tasks', async () => {
    const input = join(dir, 'async.jsonl');
    writeLines(input, [1, 2, 3, 4]);
    const run = await runMap([`${TASKS}#asyncSquare`, '-i', input, '-o', '-', '-q', '--keep-order']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      records(run.stdout).map((r) => r.result),
      [1, 4, 9, 16],
    );
    assert.doesNotMatch(run.stderr, /4\/4|elapsed/, '--quiet draws no progress');
  });

  it('writes in completion order by default, and in input order with --keep-order', async () => {
    const input = join(dir, 'order.jsonl');
    // Line 1 takes 600 ms; the others a few ms each, on the other worker.
    writeLines(input, [{ n: 1, ms: 600 }, ...Array.from({ length: 40 }, (_, i) => ({ n: i + 2, ms: 2 }))]);
    const free = await runMap([`${TASKS}#countedSleep`, '-i', input, '-o', '-', '-q', '-w', '2']);
    assert.equal(free.code, 0, free.stderr);
    const freeLines = records(free.stdout).map((r) => r.line);
    assert.notEqual(freeLines[0], 1, 'without --keep-order the slow first line is not written first');
    const kept = await runMap([`${TASKS}#countedSleep`, '-i', input, '-o', '-', '-q', '-w', '2', '--keep-order']);
    assert.equal(kept.code, 0, kept.stderr);
    assert.deepEqual(
      records(kept.stdout).map((r) => r.line),
      Array.from({ length: 41 }, (_, i) => i + 1),
    );
  });

  for (const backend of ['threads', 'processes']) {
    it(`--backend ${backend}: a worker that dies fails only its line, kind "worker-exit"`, async () => {
      const input = join(dir, `exit-${backend}.jsonl`);
      const runsFile = join(dir, `exit-${backend}.runs`);
      const values = [
        ...Array.from({ length: 30 }, (_, i) => i),
        'exit',
        ...Array.from({ length: 30 }, (_, i) => 100 + i),
      ];
      writeLines(input, values);
      const run = await runMap(
        [`${TASKS}#exitOn`, '-i', input, '-o', '-', '-q', '-w', '2', '--backend', backend, '--chunk-size', '1'],
        { env: { MAP_RUNS_FILE: runsFile } },
      );
      assert.equal(run.code, 1, run.stderr);
      const all = records(run.stdout);
      assert.equal(all.length, values.length);
      const failed = all.filter((r) => !r.ok);
      assert.equal(failed.length, 1);
      assert.equal(failed[0]?.line, 31);
      assert.equal(failed[0]?.error?.kind, 'worker-exit');
      assert.equal(failed[0]?.error?.name, 'WorkerExitedError');
      // With one line per task, nothing ran twice.
      assert.equal(runs(runsFile).length, values.length);
    });
  }

  // A batch (chunk) is one task: the lines it finished before its worker died must keep their
  // records (the chunk's journal), the lines after the dying one must run elsewhere, once.
  const deaths: [backend: string, how: string][] = [
    ['threads', 'exit'],
    ['processes', 'exit'],
    ['processes', 'kill'],
  ];
  for (const [backend, how] of deaths) {
    it(`--backend ${backend}: a worker that dies (${how === 'exit' ? 'process.exit' : 'SIGKILL'}) in the middle of a batch of lines fails only its line, and no line runs twice`, async () => {
      const input = join(dir, `batch-${backend}-${how}.jsonl`);
      const runsFile = join(dir, `batch-${backend}-${how}.runs`);
      // Batches of 100 lines: the dying line is the 51st of the second batch.
      const values: unknown[] = Array.from({ length: 400 }, (_, i) => i);
      values[150] = how;
      writeLines(input, values);
      const run = await runMap(
        [`${TASKS}#exitOn`, '-i', input, '-o', '-', '-q', '-w', '2', '--backend', backend, '--chunk-size', '100'],
        { env: { MAP_RUNS_FILE: runsFile } },
      );
      assert.equal(run.code, 1, run.stderr);
      const all = records(run.stdout);
      assert.deepEqual(
        all.map((r) => r.line).sort((a, b) => a - b),
        Array.from({ length: values.length }, (_, i) => i + 1),
        'one record per line',
      );
      assert.deepEqual(
        all.filter((r) => !r.ok).map((r) => [r.line, r.error?.kind]),
        [[151, 'worker-exit']],
      );
      for (const r of all.filter((r) => r.ok)) assert.equal(r.result, values[r.line - 1]);
      const counted = runs(runsFile).map(String).sort();
      assert.deepEqual(counted, values.map(String).sort(), 'every line ran exactly once');
    });
  }

  it('a worker that dies in a measured (automatic) batch of many lines fails only that line, and no line runs twice', async () => {
    const input = join(dir, 'exit-chunked.jsonl');
    const runsFile = join(dir, 'exit-chunked.runs');
    const values = [
      ...Array.from({ length: 2000 }, (_, i) => i),
      'exit',
      ...Array.from({ length: 2000 }, (_, i) => -i - 1),
    ];
    writeLines(input, values);
    const run = await runMap([`${TASKS}#exitOn`, '-i', input, '-o', '-', '-q', '-w', '2'], {
      env: { MAP_RUNS_FILE: runsFile },
    });
    assert.equal(run.code, 1, run.stderr);
    const all = records(run.stdout);
    assert.deepEqual(
      all.map((r) => r.line).sort((a, b) => a - b),
      Array.from({ length: values.length }, (_, i) => i + 1),
    );
    assert.deepEqual(
      all.filter((r) => !r.ok).map((r) => [r.line, r.error?.kind]),
      [[2001, 'worker-exit']],
    );
    assert.equal(runs(runsFile).length, values.length, 'every line ran exactly once');
  });

  it('--timeout in a batch of lines: only the spinning line times out, and no line runs twice', async () => {
    const input = join(dir, 'spin-batch.jsonl');
    const runsFile = join(dir, 'spin-batch.runs');
    const values: unknown[] = Array.from({ length: 60 }, (_, i) => i);
    values[25] = 'spin';
    writeLines(input, values);
    const run = await runMap(
      [`${TASKS}#spinOn`, '-i', input, '-o', '-', '-q', '-w', '2', '--chunk-size', '20', '--timeout', '1000'],
      { env: { MAP_RUNS_FILE: runsFile } },
    );
    assert.equal(run.code, 1, run.stderr);
    const all = records(run.stdout);
    assert.equal(all.length, 60);
    assert.deepEqual(
      all.filter((r) => !r.ok).map((r) => [r.line, r.error?.kind]),
      [[26, 'timeout']],
    );
    assert.equal(runs(runsFile).length, 60, 'every line ran exactly once');
  });

  it('--timeout stops a task that spins, kind "timeout", and the other lines finish', async () => {
    const input = join(dir, 'spin.jsonl');
    writeLines(input, [1, 'spin', 3, 4, 5, 6]);
    const started = Date.now();
    const run = await runMap([`${TASKS}#spinOn`, '-i', input, '-o', '-', '-q', '-w', '2', '--timeout', '1000']);
    assert.equal(run.code, 1, run.stderr);
    const all = records(run.stdout);
    assert.equal(all.length, 6);
    const spun = all.find((r) => r.line === 2);
    assert.equal(spun?.error?.kind, 'timeout');
    assert.match(spun?.error?.message ?? '', /--timeout 1000 ms/);
    assert.equal(all.filter((r) => r.ok).length, 5);
    assert.ok(Date.now() - started < 30_000);
  });

  it('--retries runs a failed line again; without it the line fails', async () => {
    const values = Array.from({ length: 20 }, (_, i) => i);
    for (const retries of [0, 1]) {
      const markers = join(dir, `markers-${retries}`);
      const runsFile = join(dir, `retries-${retries}.runs`);
      const input = join(dir, `retries-${retries}.jsonl`);
      writeLines(input, values);
      mkdirSync(markers);
      const run = await runMap(
        [`${TASKS}#failOnce`, '-i', input, '-o', '-', '-q', '-w', '2', '--retries', String(retries)],
        { env: { MAP_MARKERS_DIR: markers, MAP_RUNS_FILE: runsFile } },
      );
      const all = records(run.stdout);
      if (retries === 0) {
        assert.equal(run.code, 1);
        assert.equal(all.filter((r) => !r.ok).length, 20);
        assert.equal(runs(runsFile).length, 20);
      } else {
        assert.equal(run.code, 0, run.stderr);
        assertOneOkRecordPerLine(all, 20);
        assert.equal(runs(runsFile).length, 40, 'each line ran twice: once failing, once retried');
      }
    }
  });

  it('--max-errors N stops starting lines after N failures, exit 1', async () => {
    const input = join(dir, 'many-bad.jsonl');
    writeLines(
      input,
      Array.from({ length: 3000 }, (_, i) => ({ x: i, bad: i >= 10 })),
    );
    const run = await runMap([
      `${TASKS}#doubleX`,
      '-i',
      input,
      '-o',
      '-',
      '-q',
      '-w',
      '2',
      '--max-errors',
      '5',
      '--chunk-size',
      '1',
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /stopped by --max-errors/);
    const all = records(run.stdout);
    assert.ok(all.length < 3000, `it stopped early (${all.length} records)`);
    assert.ok(all.filter((r) => !r.ok).length >= 5);
    const percent = await runMap([`${TASKS}#doubleX`, '-i', input, '-o', '-', '-q', '-w', '2', '--max-errors', '50%']);
    assert.equal(percent.code, 1);
    assert.ok(records(percent.stdout).length < 3000);
  });

  it('reads stdin and writes only records to stdout, even when the task prints', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => `${i}\n`).join('');
    const run = await runMap([`${TASKS}#noisy`, '--input', '-', '--output', '-', '-w', '2', '--keep-order'], {
      stdin: lines,
    });
    assert.equal(run.code, 0, run.stderr);
    const all = records(run.stdout); // throws if anything but records reached stdout
    assert.deepEqual(
      all.map((r) => r.result),
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.match(run.stderr, /noise from/, "the task's output went to stderr");
  });

  it('--help documents every flag', async () => {
    const run = await runMap(['--help']);
    assert.equal(run.code, 0);
    for (const flag of [
      '--input',
      '--output',
      '--workers',
      '--backend',
      '--connection',
      '--retries',
      '--timeout',
      '--resume',
      '--retry-failed',
      '--keep-order',
      '--max-errors',
      '--id-field',
      '--chunk-size',
      '--quiet',
      'exit status',
    ]) {
      assert.ok(run.stdout.includes(flag), `--help mentions ${flag}`);
    }
  });

  describe('usage and I/O errors exit 2 with a message that names the problem', () => {
    const cases: [string, string[], RegExp][] = [
      ['no task', ['--input', 'x', '--output', '-'], /give the task as MODULE#EXPORT/],
      ['no --input', [`${TASKS}#increment`, '--output', '-'], /--input FILE is required/],
      ['an unknown flag', [`${TASKS}#increment`, '-i', '-', '-o', '-', '--fast'], /Unknown option '--fast'/],
      [
        'a bad --workers',
        [`${TASKS}#increment`, '-i', '-', '-o', '-', '-w', 'many'],
        /--workers must be a whole number/,
      ],
      ['a bad --max-errors', [`${TASKS}#increment`, '-i', '-', '-o', '-', '--max-errors', '200%'], /--max-errors/],
      ['a bad --backend', [`${TASKS}#increment`, '-i', '-', '-o', '-', '--backend', 'gpu'], /--backend must be/],
      [
        'redis without --connection',
        [`${TASKS}#increment`, '-i', '-', '-o', '-', '--backend', 'redis'],
        /--connection/,
      ],
      [
        'an unreachable Redis',
        [`${TASKS}#increment`, '-i', '-', '-o', '-', '--backend', 'redis', '--connection', 'redis://127.0.0.1:1'],
        /cannot reach Redis at redis:\/\/127.0.0.1:1/,
      ],
      ['--resume to stdout', [`${TASKS}#increment`, '-i', '-', '-o', '-', '--resume'], /--resume needs --output/],
      ['a missing module', ['./no/such/tasks.js#f', '-i', '-', '-o', '-'], /cannot find the task module/],
      ['a missing export', [`${TASKS}#nope`, '-i', '-', '-o', '-'], /has no export "nope".*increment/],
      ['an export that is no function', [`${TASKS}#notAFunction`, '-i', '-', '-o', '-'], /is a number, not a function/],
      ['an unreadable input', [`${TASKS}#increment`, '-i', '/no/such/input.jsonl', '-o', '-'], /cannot read the input/],
      ['an unwritable output', [`${TASKS}#increment`, '-i', '-', '-o', '/no/such/dir/out.jsonl'], /cannot write/],
    ];
    for (const [what, args, message] of cases) {
      it(what, async () => {
        const run = await runMap(args, { stdin: '1\n' });
        assert.equal(run.code, 2, run.stderr);
        assert.match(run.stderr, message);
        assert.equal(run.stdout, '');
      });
    }
  });
});
