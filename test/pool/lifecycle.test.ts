import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../fixtures/exits-by-itself.ts', import.meta.url));

function runScript(mode: string) {
  const started = performance.now();
  const child = spawnSync(process.execPath, ['--import', 'tsx', script, mode], { encoding: 'utf8', timeout: 30_000 });
  return { ...child, ms: performance.now() - started };
}

describe('process lifetime', () => {
  it('exits on its own after shutdown(): no worker, timer or handle left', () => {
    const run = runScript('shutdown');
    assert.equal(run.signal, null, `killed by the test's timeout: something kept it alive\n${run.stderr}`);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /fulfilled,fulfilled,rejected,rejected\nend of script/);
  });

  it('exits on its own with idle pools that were never shut down (idle workers do not hold it)', () => {
    const run = runScript('idle');
    assert.equal(run.signal, null, `killed by the test's timeout: idle workers kept it alive\n${run.stderr}`);
    assert.equal(run.status, 0, run.stderr);
    assert.ok(run.ms < 20_000, `took ${run.ms} ms: it waited for the 60 s idle timeout`);
  });
});
