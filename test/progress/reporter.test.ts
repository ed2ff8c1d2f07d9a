/** ProgressReporter: a bar on a TTY, a line every few seconds otherwise, or a callback. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { ProgressReporter, type ProgressSnapshot, progressReporter } from 'skein';

/** The terminal code that erases to the end of the line. */
const ERASE = '\x1b[K';

/** A stream that keeps what is written, and says it is a terminal or not. */
function capture(isTTY: boolean): Writable & { isTTY: boolean; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as Writable & { isTTY: boolean; text: () => string };
  stream.isTTY = isTTY;
  stream.text = () => chunks.join('');
  return stream;
}

describe('ProgressReporter', () => {
  it('on a TTY redraws one bar in place, at most ~10 times a second, with done/total, failed, rate and ETA', () => {
    const stream = capture(true);
    const reporter = new ProgressReporter({ label: 'compute', total: 1000, stream });
    for (let i = 0; i < 500; i++) reporter.tick(1, i === 0 ? 1 : 0);
    const drawn = stream.text();
    assert.equal(drawn.split('\r').length - 1, 1, 'a burst of ticks draws once');
    assert.ok(drawn.endsWith(ERASE), 'the rest of the line is erased');
    assert.match(
      drawn.slice(0, -ERASE.length),
      /^\rcompute \[#*\.+\] 1\/1,000 \(0%\) 1 failed [\d,.]+\/s ETA \d+:\d\d elapsed 0:00$/,
    );
    reporter.finish();
    assert.match(stream.text(), /\rcompute \[#{12}\.{12}\] 500\/1,000 \(50%\) 1 failed .*\n$/);
  });

  it('not on a TTY: a plain line every intervalMs, and a last line on finish', async () => {
    const stream = capture(false);
    const reporter = new ProgressReporter({ label: 'map', stream, intervalMs: 40 });
    reporter.tick(3);
    await new Promise((resolve) => setTimeout(resolve, 150));
    reporter.setTotal(10);
    reporter.tick(7);
    reporter.finish();
    const lines = stream.text().trimEnd().split('\n');
    assert.ok(lines.length >= 3, `expected periodic lines, got ${JSON.stringify(lines)}`);
    assert.match(lines[0] as string, /^map 3 done [\d.]+\/s elapsed 0:00$/);
    assert.match(lines.at(-1) as string, /^map 10\/10 \(100%\) [\d.,]+\/s elapsed 0:00$/);
    assert.ok(!stream.text().includes('\r') && !stream.text().includes(ERASE), 'no terminal control codes');
    const count = lines.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(stream.text().trimEnd().split('\n').length, count, 'finish() stopped the timer');
  });

  it('calls a callback, throttled, and always once at the end with the totals', () => {
    const seen: ProgressSnapshot[] = [];
    const reporter = progressReporter((p) => seen.push(p), 'parallel', 100);
    for (let i = 0; i < 100; i++) reporter?.tick(1, i % 10 === 0 ? 1 : 0);
    assert.ok(seen.length < 10, `${seen.length} calls for 100 ticks in a burst`);
    reporter?.finish();
    reporter?.finish();
    assert.deepEqual({ ...seen.at(-1), elapsedMs: 0 }, { done: 100, total: 100, failed: 10, elapsedMs: 0 });
    assert.equal(seen.filter((p) => p.done === 100).length, 1, 'finish is idempotent');
  });

  it('progressReporter: true draws on stderr, false and undefined give none, anything else is refused', () => {
    assert.ok(progressReporter(true, 'x') instanceof ProgressReporter);
    progressReporter(true, 'x')?.finish();
    assert.equal(progressReporter(false, 'x'), undefined);
    assert.equal(progressReporter(undefined, 'x'), undefined);
    assert.throws(() => progressReporter('yes' as never, 'x'), /progress must be true, false or a function/);
    assert.throws(() => new ProgressReporter({ label: 'x', total: -1 }), /total must be an integer >= 0/);
  });

  it('a reporter never finished does not keep the process alive', () => {
    const script = `import('skein').then(({ ProgressReporter }) => { const r = new ProgressReporter({ label: 'x', total: 5, stream: process.stdout }); r.tick(); });`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 0, run.stderr);
  });
});
