/**
 * Memory is bounded by the partitions in flight, not by the file: a group-by over a CSV several
 * times larger than the heap of the process and of its worker threads computes correctly (and the
 * same over JSON lines).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('../fixtures/data-memory-child.mjs', import.meta.url));
const HEAP_MB = 40;
const FILE_MB = 5 * HEAP_MB;

describe('Frame memory', () => {
  let dir: string;
  let path: string;
  let jsonlPath: string;
  const expected = new Map<string, { value: number; id: number }>();

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skein-data-memory-'));
    path = join(dir, 'big.csv');
    jsonlPath = join(dir, 'big.jsonl');
    // Written in chunks, counting the expected sums on the way: the reference never holds the file.
    const csv = openSync(path, 'w');
    const jsonl = openSync(jsonlPath, 'w');
    writeSync(csv, 'id,key,value,pad\n');
    let chunk = '';
    let lines = '';
    for (let i = 0, written = 0; written < FILE_MB * 1e6; i++) {
      const key = `k${(i * 7919) % 100}`;
      const value = (i % 1000) - 300;
      const entry = expected.get(key) ?? { value: 0, id: 0 };
      entry.value += value;
      entry.id++;
      expected.set(key, entry);
      chunk += `${i},${key},${value},"x, ${i % 10}"\n`;
      lines += `{"id":${i},"key":"${key}","value":${value},"pad":"x, ${i % 10}"}\n`;
      if (chunk.length > 1 << 16) {
        written += writeSync(csv, chunk);
        chunk = '';
      }
      if (lines.length > 1 << 16) {
        writeSync(jsonl, lines);
        lines = '';
      }
    }
    writeSync(csv, chunk);
    writeSync(jsonl, lines);
    closeSync(csv);
    closeSync(jsonl);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const format of ['csv', 'jsonl'] as const) {
    it(`a ${FILE_MB} MB ${format} file with a ${HEAP_MB} MB heap in the process and in each worker`, () => {
      const file = format === 'csv' ? path : jsonlPath;
      assert.ok(statSync(file).size > FILE_MB * 1e6);
      const run = spawnSync(
        process.execPath,
        [`--max-old-space-size=${HEAP_MB}`, CHILD, file, String(HEAP_MB), format],
        {
          encoding: 'utf8',
          timeout: 240_000,
        },
      );
      assert.equal(run.status, 0, run.stderr);
      const { rows, peakRss } = JSON.parse(run.stdout) as {
        rows: { key: string; value: number; id: number }[];
        peakRss: number;
      };
      const want = [...expected].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, e]) => ({ key, ...e }));
      assert.deepEqual(rows, want);
      // The whole process tree here is one process (worker threads): its resident memory stays below the file's size.
      assert.ok(peakRss < FILE_MB * 1e6, `peak RSS ${(peakRss / 1e6).toFixed(0)} MB for a ${FILE_MB} MB file`);
    });
  }
});
