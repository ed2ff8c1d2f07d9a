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
import { readCsv, readJsonl } from 'skein/data';
import { assertRowsClose, generateCsv, generateJsonl } from './reference.ts';

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

const PANDAS_DESCRIBE = `
import json, sys
import pandas as pd
df = pd.read_csv(sys.argv[1], dtype={"key": "object", "note": "object"})
ps = [0.25, 0.5, 0.75]
out = {"describe": df[["id", "key2", "value"]].describe(percentiles=ps).to_dict()}
# The exact percentiles 0.1% of the ranks either side, for the sketch's tolerance.
out["low"] = {c: [float(df[c].quantile(max(0, p - 0.001))) for p in ps] for c in ["id", "key2", "value"]}
out["high"] = {c: [float(df[c].quantile(min(1, p + 0.001))) for p in ps] for c in ["id", "key2", "value"]}
print(json.dumps(out))
`;

const PANDAS_JSONL = `
import json, sys
import pandas as pd
df = pd.read_json(sys.argv[1], lines=True, dtype={"key": "object"})
out = df.groupby(["key", "key2"]).agg(value=("value", "sum"), id=("id", "count"), top=("value", "max")).reset_index()
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

  it('describe equals pandas: exactly up to 4,096 values, percentiles within 0.1% of the ranks beyond', async () => {
    for (const rows of [3000, 20_000]) {
      const path = join(dir, `describe-${rows}.csv`);
      writeFileSync(path, generateCsv(rows, { seed: 33 }));
      const expected = JSON.parse(
        execFileSync(python as string, ['-c', PANDAS_DESCRIBE, path], { encoding: 'utf8' }),
      ) as {
        describe: Record<string, Record<string, number>>;
        low: Record<string, number[]>;
        high: Record<string, number[]>;
      };
      const result = await readCsv(path, { blocksize: 7000 })
        .select(['id', 'key2', 'value'])
        .describe()
        .compute({ executor: pool, splitEvery: 4 });
      const columns = result.toColumns();
      const names = columns.statistic as string[];
      for (const column of ['id', 'key2', 'value']) {
        const values = columns[column] as Float64Array;
        names.forEach((stat, i) => {
          const got = values[i] as number;
          const want = expected.describe[column]?.[stat] as number;
          const p = ['25%', '50%', '75%'].indexOf(stat);
          if (p >= 0 && rows > 4096) {
            const low = expected.low[column]?.[p] as number;
            const high = expected.high[column]?.[p] as number;
            assert.ok(
              got >= low && got <= high,
              `${rows} rows, ${column} ${stat}: ${got} not within [${low}, ${high}]`,
            );
          } else {
            const close = Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want));
            assert.ok(close, `${rows} rows, ${column} ${stat}: pandas says ${want}, skein ${got}`);
          }
        });
      }
    }
  });

  it('readJsonl then a groupby equals pandas read_json(lines=True)', async () => {
    const path = join(dir, 'data.jsonl');
    writeFileSync(path, generateJsonl(4000, { seed: 34, groups: 11 }));
    const expected = JSON.parse(
      execFileSync(python as string, ['-c', PANDAS_JSONL, path], { encoding: 'utf8' }),
    ) as Record<string, number | string>[];
    const result = await readJsonl(path, { blocksize: 5000 })
      .assign({ top: (row) => row.value ?? null })
      .groupby(['key', 'key2'])
      .agg({ value: 'sum', id: 'count', top: 'max' })
      .compute({ executor: pool });
    assert.ok(expected.length > 50);
    assertRowsClose(result.toRows(), expected);
  });
});
