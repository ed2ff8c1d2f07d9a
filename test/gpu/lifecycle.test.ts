/**
 * What skein/gpu does to the process: `import 'skein'` loads none of it; after GPU use the
 * process exits by itself; Dawn's instance survives garbage collection while its device lives.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { noAdapterReason } from './inputs.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

function loadedModules(...args: string[]): { urls: string[]; dawn: boolean } {
  const run = spawnSync(process.execPath, [fixture('loaded-modules.mjs'), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout.trim().split('\n').at(-1) as string);
}

const isGpuCode = (url: string) => /\/dist\/gpu[./]|\/node_modules\/webgpu\//.test(url);

describe("import 'skein'", () => {
  it('loads no GPU code: no skein/gpu module, no webgpu, no dawn.node', () => {
    const core = loadedModules('skein');
    assert.ok(
      core.urls.some((url) => url.endsWith('/dist/index.js')),
      'the hook saw skein itself',
    );
    assert.deepEqual(core.urls.filter(isGpuCode), []);
    assert.equal(core.dawn, false);
  });

  it('while skein/gpu, once used, does load them (so the check above can fail)', () => {
    const gpu = loadedModules('skein/gpu', 'use');
    assert.ok(gpu.urls.some((url) => url.includes('/node_modules/webgpu/')));
    assert.equal(gpu.dawn, true);
  });

  it('and importing skein/gpu alone does not load the binding yet', () => {
    const gpu = loadedModules('skein/gpu');
    assert.ok(gpu.urls.some((url) => url.endsWith('/dist/gpu.js')));
    assert.equal(gpu.dawn, false);
  });
});

const skip = await noAdapterReason();

describe('after GPU use', { skip }, () => {
  it('the process exits by itself, promptly', () => {
    const started = performance.now();
    const run = spawnSync(process.execPath, ['--import', 'tsx', fixture('gpu-exits-by-itself.ts')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(
      run.signal,
      null,
      `killed after ${Math.round(performance.now() - started)} ms: it did not exit by itself`,
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'same\nend of script\n');
    assert.ok(performance.now() - started < 30_000);
  });

  it('30 dispatches with gc() between each neither crash nor go wrong (Dawn instance kept alive)', () => {
    const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fixture('gpu-gc-stress.ts')], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(run.signal, null, `killed (${run.signal}): crashed or hung\n${run.stderr}`);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), '30 of 30 right');
  });
});
