/**
 * Against pandas itself, when a Python with pandas is on this machine ($PYTHON, python3, or
 * Debian's /usr/bin/python3 with python3-pandas); skipped, saying so, when there is none.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ThreadPoolExecutor } from 'skein';
import { readCsv } from 'skein/data';
import { assertRowsClose, generateCsv } from './reference.ts';

function findPandas(): string | undefined {
  for (const python of [process.env.PYTHON, 'python3', '/usr/bin/python3']) {
    if (!python) continue;
    try {
      execFileSync(python, ['-c', 'import pandas'], { stdio: 'ignore' });
      return python;
    } catch {}
  }
  return undefined;
}

const PANDAS_SCRIPT = `
import json, sys
import pandas as pd
df = pd.read_csv(sys.argv[1], dtype={"key": "object", "note": "object"})
out = df.groupby(["key", "key2"]).agg(value=("value", "sum"), id=("id", "min"), note=("note", "count"), last=("value", "last")).reset_index()
print(json.dumps(out.to_dict(orient="records")))
`;

const python = findPandas();

describe('Frame against pandas', {
  skip: python ? false : 'no Python with pandas here (apt-get install python3-pandas)',
}, () => {
  let dir: string;
  let pool: ThreadPoolExecutor;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skein-pandas-'));
    pool = new ThreadPoolExecutor({ maxWorkers: 2 });
  });
  after(async () => {
    await pool.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('groupby over two keys with sum, min, count and last equals pandas', async () => {
    const path = join(dir, 'data.csv');
    writeFileSync(path, generateCsv(5000, { seed: 31, groups: 12 }));
    const expected = JSON.parse(
      execFileSync(python as string, ['-c', PANDAS_SCRIPT, path], { encoding: 'utf8' }),
    ) as Record<string, number | string>[];
    const result = await readCsv(path, { blocksize: 3000 })
      .assign({ last: (row) => row.value ?? null })
      .groupby(['key', 'key2'])
      .agg({ value: 'sum', id: 'min', note: 'count', last: 'last' })
      .compute({ executor: pool });
    assert.ok(expected.length > 50);
    assertRowsClose(result.toRows(), expected);
  });
});
