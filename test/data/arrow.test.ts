/**
 * DataResult.toArrow / toArrowIpc: Arrow types and values (missing numbers as nulls), IPC bytes
 * that read back, and apache-arrow loaded only when asked for (it is an optional peer).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { ThreadPoolExecutor } from 'skein';
import { readCsv } from 'skein/data';

const refuseHeavy = fileURLToPath(new URL('../fixtures/refuse-heavy.mjs', import.meta.url));
const lazyArrow = fileURLToPath(new URL('../fixtures/lazy-arrow.mjs', import.meta.url));

describe('DataResult.toArrow', () => {
  let dir: string;
  let path: string;
  let pool: ThreadPoolExecutor;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skein-arrow-'));
    path = join(dir, 'data.csv');
    writeFileSync(path, 'n,i,s\n1.5,1,a\n,2,\n-3,3,"c, d"\n');
    pool = new ThreadPoolExecutor({ maxWorkers: 2 });
  });
  after(async () => {
    await pool.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives an Arrow Table: Float64 (NaN as null), Int32 and Utf8 columns with their values', async () => {
    const result = await readCsv(path, { dtypes: { i: 'int32' }, blocksize: 8 }).compute({ executor: pool });
    const table = await result.toArrow();
    assert.equal(table.numRows, 3);
    assert.deepEqual(
      table.schema.fields.map((f) => [f.name, String(f.type)]),
      [
        ['n', 'Float64'],
        ['i', 'Int32'],
        ['s', 'Utf8'],
      ],
    );
    assert.deepEqual(table.getChild('n')?.toArray().length, 3);
    assert.equal(table.getChild('n')?.nullCount, 1);
    assert.deepEqual(
      [0, 1, 2].map((r) => table.getChild('n')?.get(r)),
      [1.5, null, -3],
    );
    assert.deepEqual([...((table.getChild('i')?.toArray() ?? []) as Int32Array)], [1, 2, 3]);
    assert.deepEqual(
      [0, 1, 2].map((r) => table.getChild('s')?.get(r)),
      ['a', null, 'c, d'],
    );
  });

  it('gives IPC bytes (stream and file formats) that read back as the same table', async () => {
    const result = await readCsv(path).groupby('s').agg({ n: 'sum' }).compute({ executor: pool });
    for (const format of ['stream', 'file'] as const) {
      const back = tableFromIPC(await result.toArrowIpc(format));
      assert.deepEqual(
        back.toArray().map((row) => row.toJSON()),
        result.toRows(),
      );
    }
    await assert.rejects(result.toArrowIpc('csv' as 'file'), /format must be 'stream' or 'file'/);
  });

  it("loads apache-arrow only when toArrow is called (import 'skein/data' and compute do not)", () => {
    const run = spawnSync(process.execPath, ['--import', refuseHeavy, lazyArrow, path], {
      encoding: 'utf8',
      env: { ...process.env, SKEIN_REFUSE: 'apache-arrow' },
      timeout: 30_000,
    });
    assert.match(run.stdout, /computed 3/, run.stderr);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /heavy dependency loaded: apache-arrow/);
    // Where apache-arrow cannot be loaded, the error says how to install it.
    assert.match(
      run.stderr,
      /toArrow\(\) needs the optional package apache-arrow: install it with `npm install apache-arrow`/,
    );
  });
});
