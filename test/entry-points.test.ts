/**
 * The entry points: `skein` is the core and loads no heavy dependency; `skein/distributed` is the
 * only one that loads BullMQ and ioredis; both work from CommonJS (require of an ES module).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const refuseHeavy = fileURLToPath(new URL('./fixtures/refuse-heavy.mjs', import.meta.url));
const HEAVY = 'bullmq,ioredis,webgpu,@duckdb/node-api,apache-arrow';

function importWithHeavyRefused(entry: string, paths = '') {
  return spawnSync(
    process.execPath,
    [
      '--import',
      refuseHeavy,
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(entry)}); console.log('loaded');`,
    ],
    { encoding: 'utf8', env: { ...process.env, SKEIN_REFUSE: HEAVY, SKEIN_REFUSE_PATHS: paths }, timeout: 30_000 },
  );
}

describe('entry points', () => {
  it("import 'skein' loads no BullMQ, ioredis, GPU binding or data library", () => {
    const run = importWithHeavyRefused('skein');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /loaded/);
  });

  it("import 'skein/distributed' does load BullMQ (so the check above can fail)", () => {
    const run = importWithHeavyRefused('skein/distributed');
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /heavy dependency loaded: (bullmq|ioredis)/);
  });

  it("import 'skein' loads no CSV code; import 'skein/data' does (so the check can fail)", () => {
    const core = importWithHeavyRefused('skein', '/dist/data');
    assert.equal(core.status, 0, core.stderr);
    const data = importWithHeavyRefused('skein/data', '/dist/data/csv-parse');
    assert.notEqual(data.status, 0);
    assert.match(data.stderr, /heavy module loaded: .*dist\/data\/csv-parse\.js/);
    const light = importWithHeavyRefused('skein/data');
    assert.equal(light.status, 0, light.stderr);
  });

  it("require('skein') and require('skein/distributed') work from CommonJS", () => {
    const run = spawnSync(
      process.execPath,
      [
        '-e',
        "const s = require('skein'); const d = require('skein/distributed'); console.log(typeof s.ThreadPoolExecutor, typeof d.DistributedExecutor)",
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'function function');
  });
});
