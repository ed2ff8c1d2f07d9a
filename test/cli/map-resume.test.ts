/** `skein map --resume` and `--retry-failed`, and Ctrl-C in the middle of a run (the built CLI, real files). */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  assertOneOkRecordPerLine,
  readRecords,
  runMap,
  runs,
  startMap,
  TASKS,
  tempDir,
  writeLines,
} from './map-helpers.ts';

describe('skein map --resume', () => {
  let dir: string;
  let remove: () => void;
  before(() => {
    ({ dir, remove } = tempDir());
  });
  after(() => remove());

  it('after Ctrl-C mid-run (exit 130, finished records written), finishes with one ok record per line, running only the rest', async () => {
    const input = join(dir, 'slow.jsonl');
    const output = join(dir, 'slow.out.jsonl');
    const runsFile = join(dir, 'slow.runs');
    const n = 400;
    writeLines(
      input,
      Array.from({ length: n }, (_, i) => ({ n: i + 1, ms: 20 })),
    );
    const args = [`${TASKS}#countedSleep`, '-i', input, '-o', output, '-w', '2'];
    const first = startMap(args, { env: { MAP_RUNS_FILE: runsFile } });
    while (runs(runsFile).length < 60) await delay(50);
    await delay(300); // longer than the writer's flush interval
    assert.ok(readRecords(output).length > 0, 'records reach the file while the run goes on');
    first.child.kill('SIGINT');
    const interruptedAt = Date.now();
    const stopped = await first.done;
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.ok(Date.now() - interruptedAt < 10_000, 'Ctrl-C stops the run promptly');
    assert.match(stopped.stderr, /--resume/);
    const written = readRecords(output); // every line of it is a whole record
    assert.ok(written.length >= 50 && written.length < n, `${written.length} records before Ctrl-C`);
    assert.ok(written.every((r) => r.ok));
    const runsBefore = runs(runsFile).length;

    const second = await runMap([...args, '--resume'], { env: { MAP_RUNS_FILE: runsFile } });
    assert.equal(second.code, 0, second.stderr);
    assertOneOkRecordPerLine(readRecords(output), n);
    const runsAfter = runs(runsFile).length - runsBefore;
    assert.equal(runsAfter, n - written.length, 'the second run ran exactly the lines with no record');
  });

  it('a second Ctrl-C exits at once (130), without waiting for the running lines to be stopped', async () => {
    const input = join(dir, 'spin.jsonl');
    const runsFile = join(dir, 'spin.runs');
    writeLines(input, ['spin', 'spin', 'spin', 'spin']);
    const run = startMap([`${TASKS}#spinOn`, '-i', input, '-o', join(dir, 'spin.out.jsonl'), '-w', '2'], {
      env: { MAP_RUNS_FILE: runsFile },
    });
    let stderr = '';
    run.child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    const giveUp = Date.now() + 30_000;
    const waitFor = async (what: string, ready: () => boolean) => {
      while (!ready()) {
        assert.ok(Date.now() < giveUp && run.child.exitCode === null, `waiting for ${what}; stderr: ${stderr}`);
        await delay(5);
      }
    };
    await waitFor('both workers to spin', () => runs(runsFile).length >= 2);
    run.child.kill('SIGINT');
    // The first Ctrl-C is being handled (it waits for the spinning lines to be stopped) ...
    await waitFor('the first Ctrl-C to be handled', () => stderr.includes('again to quit at once'));
    run.child.kill('SIGINT');
    const secondAt = Date.now();
    const stopped = await run.done;
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.ok(Date.now() - secondAt < 5000, 'the second Ctrl-C exits promptly');
    // ... and the second one cut it short: no summary of a run that finished stopping.
    assert.doesNotMatch(stopped.stderr, /records in/);
  });

  it('drops a record torn by a kill mid-write and runs its line again', async () => {
    const input = join(dir, 'torn.jsonl');
    const output = join(dir, 'torn.out.jsonl');
    const runsFile = join(dir, 'torn.runs');
    writeLines(
      input,
      Array.from({ length: 50 }, (_, i) => ({ n: i + 1, ms: 0 })),
    );
    const args = [`${TASKS}#countedSleep`, '-i', input, '-o', output, '-w', '2', '-q', '--keep-order'];
    assert.equal((await runMap(args)).code, 0);
    const lines = readFileSync(output, 'utf8').split('\n');
    // 47 whole records, then half of the 48th, with no newline: what a kill mid-write leaves.
    writeFileSync(output, `${lines.slice(0, 47).join('\n')}\n${(lines[47] as string).slice(0, 10)}`);
    const resumed = await runMap([...args, '--resume'], { env: { MAP_RUNS_FILE: runsFile } });
    assert.equal(resumed.code, 0, resumed.stderr);
    assertOneOkRecordPerLine(readRecords(output), 50);
    assert.deepEqual(runs(runsFile).sort(), [48, 49, 50]);
  });

  it('refuses an input that changed since the output was started (exit 2)', async () => {
    const input = join(dir, 'changing.jsonl');
    const output = join(dir, 'changing.out.jsonl');
    writeLines(input, [1, 2, 3]);
    const args = [`${TASKS}#increment`, '-i', input, '-o', output, '-q'];
    assert.equal((await runMap(args)).code, 0);
    appendFileSync(input, '4\n');
    const grown = await runMap([...args, '--resume']);
    assert.equal(grown.code, 2);
    assert.match(grown.stderr, /the input changed since that output was started \(its size went from 6 to 8 bytes\)/);
    writeLines(input, [7, 2, 3]); // the same size, another first line
    const edited = await runMap([...args, '--resume']);
    assert.equal(edited.code, 2);
    assert.match(edited.stderr, /its first MiB differs/);
    assert.equal(readRecords(output).length, 3, 'a refused resume leaves the output alone');
  });

  it('keeps failure records and exits 1 on --resume; --retry-failed runs those lines again', async () => {
    const input = join(dir, 'flaky.jsonl');
    const output = join(dir, 'flaky.out.jsonl');
    const runsFile = join(dir, 'flaky.runs');
    const markers = join(dir, 'flaky-markers');
    mkdirSync(markers);
    writeLines(
      input,
      Array.from({ length: 30 }, (_, i) => i),
    );
    const env = { MAP_RUNS_FILE: runsFile, MAP_MARKERS_DIR: markers };
    const args = [`${TASKS}#failOnce`, '-i', input, '-o', output, '-q', '-w', '2'];
    assert.equal((await runMap(args, { env })).code, 1);
    assert.equal(readRecords(output).filter((r) => !r.ok).length, 30);

    const resumed = await runMap([...args, '--resume'], { env });
    assert.equal(resumed.code, 1, 'the output still holds failures');
    assert.match(resumed.stderr, /0 ok, 0 failed \(and 30 failed in an earlier run\)/);
    assert.equal(runs(runsFile).length, 30, '--resume alone runs no line again');

    const retried = await runMap([...args, '--retry-failed'], { env });
    assert.equal(retried.code, 0, retried.stderr);
    assertOneOkRecordPerLine(readRecords(output), 30);
    assert.equal(runs(runsFile).length, 60);
  });

  it('starts afresh when there is no output yet', async () => {
    const input = join(dir, 'fresh.jsonl');
    const output = join(dir, 'fresh.out.jsonl');
    writeLines(input, [1, 2, 3]);
    const run = await runMap([`${TASKS}#increment`, '-i', input, '-o', output, '-q', '--resume']);
    assert.equal(run.code, 0, run.stderr);
    assertOneOkRecordPerLine(readRecords(output), 3);
  });

  it('refuses to resume into a file that is not skein map output', async () => {
    const input = join(dir, 'other.jsonl');
    const output = join(dir, 'other.out.jsonl');
    writeLines(input, [1, 2, 3]);
    const args = [`${TASKS}#increment`, '-i', input, '-o', output, '-q'];
    assert.equal((await runMap(args)).code, 0);
    writeFileSync(output, '{"something":"else"}\n');
    const run = await runMap([...args, '--resume']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /line 1 is not a skein map record/);
  });
});
