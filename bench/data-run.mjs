// One query of the data rows of `npm run bench`, run once in a fresh process so that its peak RSS
// is its own: skein/data on a thread pool, or DuckDB (the native reference), each with WORKERS
// threads. Prints JSON { ms, groups, total, maxRssKb }.
//
//   node bench/data-run.mjs skein|duckdb PATH one-key|two-keys WORKERS BLOCKSIZE
const [system, path, query, workersText, blocksize] = process.argv.slice(2);
const workers = Number(workersText);
const keys = query === 'one-key' ? ['id1'] : ['id1', 'id2'];
let groups;
let total;
// Modules load before the clock starts, as Python's imports do in data_dask.py.
const modules =
  system === 'skein' ? [await import('skein'), await import('skein/data')] : [await import('@duckdb/node-api')];
const t0 = performance.now();
if (system === 'skein') {
  const [{ ThreadPoolExecutor }, { readCsv }] = modules;
  const executor = new ThreadPoolExecutor({ maxWorkers: workers });
  const result = await readCsv(path, { blocksize, dtypes: { v1: 'float64', v3: 'float64' } })
    .groupby(keys)
    .agg({ v1: 'sum' })
    .compute({ executor });
  await executor.shutdown();
  groups = result.length;
  total = (result.toColumns().v1 ?? []).reduce((a, b) => a + b, 0);
} else {
  const [{ DuckDBInstance }] = modules;
  const db = await DuckDBInstance.create(':memory:', { threads: String(workers) });
  const connection = await db.connect();
  const reader = await connection.runAndReadAll(
    `SELECT ${keys.join(', ')}, sum(v1) AS v1 FROM read_csv('${path.replaceAll("'", "''")}') GROUP BY ${keys.join(', ')}`,
  );
  const rows = reader.getRowObjects();
  groups = rows.length;
  total = rows.reduce((a, r) => a + Number(r.v1), 0);
  connection.closeSync();
}
const ms = performance.now() - t0;
process.stdout.write(`${JSON.stringify({ ms, groups, total, maxRssKb: process.resourceUsage().maxRSS })}\n`);
