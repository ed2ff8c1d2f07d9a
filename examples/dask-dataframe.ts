// Ported from the seed article's Dask example:
//
//   import dask.dataframe as dd
//   df = dd.read_csv('data.csv')
//   result = df.groupby('column').sum().compute()
//   print(result)
//
// The CSV is generated first (ROWS rows, default 200,000), so the example runs anywhere. readCsv
// cuts the file into byte ranges; each is parsed in a worker thread straight into typed columns and
// summed per group there; only the per-group sums come back, and are combined 8 at a time.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCsv } from 'skein/data';

const rows = Number(process.env.ROWS ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), 'dask-dataframe-'));
const path = join(dir, 'data.csv');
const lines = ['column,amount,quantity'];
for (let i = 0; i < rows; i++) lines.push(`${['apples', 'pears', 'plums'][i % 3]},${(i % 100) / 4},${i % 7}`);
writeFileSync(path, `${lines.join('\n')}\n`);

try {
  const df = readCsv(path, { blocksize: '1MB' });
  const result = await df.groupby('column').sum().compute();
  result.print();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
