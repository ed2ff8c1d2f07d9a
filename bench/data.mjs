// The data rows of `npm run bench` (issue 13): the same generated CSV (>= 10M rows in a full run)
// grouped by one key (100 groups) and by two keys (10,000 groups), summing v1, by skein/data,
// Dask DataFrame (Debian's python3-dask + python3-pandas, threaded scheduler) and DuckDB
// (@duckdb/node-api, the native reference). WORKERS threads each. Every run is a fresh process,
// whose peak RSS (the whole process tree) is reported in the row's note.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNNER = new URL('./data-run.mjs', import.meta.url).pathname;
const DASK = new URL('./data_dask.py', import.meta.url).pathname;
const BLOCKSIZE = '16MB';

/** A Python that imports dask.dataframe: $PYTHON, python3, then Debian's /usr/bin/python3. */
function findPython() {
  for (const candidate of [process.env.PYTHON, 'python3', '/usr/bin/python3']) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ['-c', 'import dask.dataframe, pandas'], { stdio: 'ignore' });
      return candidate;
    } catch {}
  }
  return undefined;
}

/** db-benchmark's shape: id1, id2 strings of 100 values each, v1 an integer 1-5, v3 a decimal. */
export function generate(path, rows) {
  const fd = openSync(path, 'w');
  writeSync(fd, 'id1,id2,v1,v3\n');
  let chunk = '';
  let seed = 42;
  const next = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 8; // the low bits of an LCG repeat with a short period
  };
  const ids = Array.from({ length: 100 }, (_, i) => `id${String(i + 1).padStart(3, '0')}`);
  let total = 0;
  const pairs = new Set();
  for (let i = 0; i < rows; i++) {
    const v1 = (next() % 5) + 1;
    const id1 = next() % 100;
    const id2 = next() % 100;
    total += v1;
    pairs.add(id1 * 100 + id2);
    chunk += `${ids[id1]},${ids[id2]},${v1},${((next() % 10_000_000) / 100_000).toFixed(5)}\n`;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
  return {
    total,
    groups: { 'one-key': new Set([...pairs].map((p) => Math.floor(p / 100))).size, 'two-keys': pairs.size },
  };
}

export async function dataFrames({ measure, log }, rows, workers) {
  const python = findPython();
  const dir = mkdtempSync(join(tmpdir(), 'skein-bench-data-'));
  const path = join(dir, 'data.csv');
  try {
    const t0 = performance.now();
    const { total, groups: expectedGroups } = generate(path, rows);
    const mb = statSync(path).size / 1e6;
    log(
      `generated ${rows.toLocaleString('en')} rows (${mb.toFixed(0)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const results = [];
    for (const [query, label] of [
      ['one-key', 'groupby-sum, 1 key (100 groups)'],
      ['two-keys', 'groupby-sum, 2 keys (10,000 groups)'],
    ]) {
      const groups = expectedGroups[query];
      const peakRss = new Map();
      const system = (name, command, args) => ({
        name,
        once: () => {
          const out = JSON.parse(execFileSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 20 }));
          if (out.groups !== groups || Math.abs(out.total - total) > 1e-6 * total) {
            throw new Error(
              `${name}: wrong result (${out.groups} groups, total ${out.total}; expected ${groups}, ${total})`,
            );
          }
          peakRss.set(name, Math.max(peakRss.get(name) ?? 0, out.maxRssKb / 1024));
          return rows / (out.ms / 1000);
        },
      });
      const result = await measure(
        `Data: ${label}, ${rows.toLocaleString('en')}-row CSV (${mb.toFixed(0)} MB), ${workers} workers`,
        'rows/s',
        'higher',
        [
          system('skein readCsv().groupby().agg() (threads)', process.execPath, [
            RUNNER,
            'skein',
            path,
            query,
            workers,
            BLOCKSIZE,
          ]),
          ...(python
            ? [system(`Dask DataFrame (threads, ${python})`, python, [DASK, path, query, workers, BLOCKSIZE])]
            : []),
          system('DuckDB (native reference)', process.execPath, [RUNNER, 'duckdb', path, query, workers, BLOCKSIZE]),
        ],
      );
      if (result) {
        result.note = `Peak RSS of the whole process tree: ${[...peakRss].map(([n, mib]) => `${n.split(' (')[0]} ${mib.toFixed(0)} MiB`).join(', ')}. Read, parse and aggregate timed together (skein: its WebAssembly group-by kernel; SKEIN_DATA_WASM=0 gives its JS loop), blocksize ${BLOCKSIZE} for skein and Dask; each run a fresh process.${python ? '' : ' No Python with dask and pandas found: Dask skipped.'}`;
        results.push(result);
      }
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
