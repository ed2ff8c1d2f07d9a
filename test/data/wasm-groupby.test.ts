/**
 * The WebAssembly group-by kernel (wasm-groupby.ts, kernel/groupby.wat) against the JS fused
 * group-by it replaces (plain-groupby.ts), which the plain-rows tests hold to the reference: on the
 * same bytes both must give the same partial, to the bit (-0 and NaN included), or both give the
 * range up. Generated data with the hard cases: every number spelling (the kernel hands the ones it
 * does not convert to the JS readers), int32 limits, empty fields, blank lines, keys of every
 * length up to 16 bytes and longer, UTF-8 keys, many groups (its tables grow), batch boundaries.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ThreadPoolExecutor } from 'skein';
import { readCsv } from 'skein/data';
import { keyValues } from '../../dist/data/aggregate.js';
import { GROUPBY_WASM } from '../../dist/data/kernel/groupby-wasm.js';
import { reducePlainGroups } from '../../dist/data/plain-groupby.js';
import type { AggSpec, CsvSchema, GroupPartial } from '../../dist/data/types.js';
import { reduceWasmGroups, wasmGroupbyAvailable } from '../../dist/data/wasm-groupby.js';
import { assertRowsClose, random, referenceGroupby, type Value } from './reference.ts';

/** Float spellings: the plain decimals the kernel converts, and the rest it hands to JS. */
const FLOATS = [
  '0',
  '-0',
  '+7',
  '42',
  '3.5',
  '-2.25',
  '0.1',
  '5.',
  '.5',
  '-.5',
  '007',
  '123456789012345',
  '-1234567890.12345',
  '0.000000000000001',
  '9007199254740993',
  '0.1234567890123456789',
  '1e3',
  '-2.5E-3',
  '1e400',
  'inf',
  '-Infinity',
  'NaN',
  'NA',
  '',
  '49.06868',
];
/** Int32 spellings that parse (the limits, signs, leading zeros). */
const INTS = ['0', '-0', '+5', '-17', '007', '2147483647', '-2147483648', '00000000000042'];

function schemaOf(names: string[], dtypes: CsvSchema['dtypes']): CsvSchema {
  return { names, dtypes, delimiter: 44, header: true, headerLine: names };
}

const ALL_OPS: AggSpec[] = (['sum', 'mean', 'count', 'size', 'min', 'max', 'first', 'last'] as const).flatMap((op) => [
  { column: 'f', op, output: `f_${op}` },
  { column: 'i', op, output: `i_${op}` },
]);

/** Both paths on the same bytes: the same partial and rows, or both undefined when `expectGiveUp`. */
function assertSame(text: string, schema: CsvSchema, keys: string[], aggs: AggSpec[], expectGiveUp = false): void {
  const bytes = Buffer.from(text);
  const begin = bytes.indexOf(10) + 1;
  const viaJs = reducePlainGroups(bytes, begin, bytes.length, schema, keys, aggs);
  const viaWasm = reduceWasmGroups(bytes, begin, bytes.length, schema, keys, aggs);
  if (expectGiveUp) {
    assert.equal(viaWasm, undefined, 'the kernel should give this range up');
    return;
  }
  assert.ok(viaJs !== undefined, 'the JS path should take these rows');
  assert.ok(viaWasm !== undefined, 'the kernel should take these rows');
  assert.equal(viaWasm.rows, viaJs.rows);
  // Coded keys may be coded differently (a dictionary may hold a value only rows with a missing
  // key had): compared decoded.
  const decoded = (partial: GroupPartial) => ({ ...partial, keys: partial.keys.map(keyValues) });
  assert.deepStrictEqual(decoded(viaWasm.partial), decoded(viaJs.partial));
}

/** Rows of keys k1 (sometimes missing), k2; a float f of any spelling; an int32 i; a skipped note. */
function mixedCsv(rows: number, seed: number, key: (next: () => number) => string): string {
  const next = random(seed);
  const lines = ['k1,note,f,k2,i'];
  for (let r = 0; r < rows; r++) {
    const k1 = next() < 0.05 ? '' : key(next);
    const f = FLOATS[Math.floor(next() * FLOATS.length)] as string;
    const i =
      next() < 0.1 ? (INTS[Math.floor(next() * INTS.length)] as string) : String(Math.floor(next() * 2000) - 1000);
    lines.push(`${k1},a note that is longer than sixteen bytes ${r},${f},x${Math.floor(next() * 4)},${i}`);
    if (next() < 0.02) lines.push(''); // a blank line: skipped
  }
  return lines.join('\n');
}

const MIXED = schemaOf(['k1', 'note', 'f', 'k2', 'i'], ['string', 'string', 'float64', 'string', 'int32']);

describe('the WebAssembly group-by kernel', { skip: !wasmGroupbyAvailable() && 'no WebAssembly SIMD here' }, () => {
  it('is the assembly of groupby.wat (run scripts/build-data-kernel.mjs after editing it)', () => {
    const assembled = spawnSync(process.execPath, ['scripts/build-data-kernel.mjs', '--print'], { encoding: 'utf8' });
    assert.equal(assembled.status, 0, assembled.stderr);
    assert.equal(assembled.stdout.trim(), GROUPBY_WASM);
  });

  it('gives the JS path partial for every op, number spelling and key length (1 to 16 bytes), 1 to 3 keys', () => {
    const text = mixedCsv(12_000, 3, (next) => 'abcdefghijklmnop'.slice(0, 1 + Math.floor(next() * 16)));
    for (const keys of [['k1'], ['k1', 'k2'], ['k2', 'k1'], ['k2', 'k1', 'note']]) {
      const withLongKey = keys.includes('note');
      assertSame(text, MIXED, keys, ALL_OPS, withLongKey);
      // With no newline at the end, and a last row that is one the kernel hands to JS.
      assertSame(`${text}\nq,n,1e5,x1,-0`, MIXED, keys, ALL_OPS, withLongKey);
    }
  });

  it('decodes UTF-8 keys, and gives up a range with a key over 16 bytes (the JS path takes it)', () => {
    const keys = ['é', '日本', '日本語キー' /* 15 bytes */, 'ü', 'ab'];
    const text = mixedCsv(3000, 4, (next) => keys[Math.floor(next() * keys.length)] as string);
    assertSame(text, MIXED, ['k1'], ALL_OPS);
    const long = text.replace('\nab,', '\nabcdefghijklmnopq,'); // 17 bytes
    assert.notEqual(long, text);
    assertSame(long, MIXED, ['k1'], ALL_OPS, true);
    assert.ok(reducePlainGroups(Buffer.from(long), 14, long.length, MIXED, ['k1'], ALL_OPS) !== undefined);
  });

  it('grows its tables: 40,000 groups over 2 keys, in first-seen order', () => {
    const next = random(7);
    const lines = ['a,b,f,i'];
    for (let r = 0; r < 60_000; r++) {
      lines.push(`a${Math.floor(next() * 200)},b${Math.floor(next() * 200)},${(next() * 100).toFixed(3)},${r}`);
    }
    const schema = schemaOf(['a', 'b', 'f', 'i'], ['string', 'string', 'float64', 'int32']);
    assertSame(`${lines.join('\n')}\n`, schema, ['a', 'b'], ALL_OPS);
    assertSame(`${lines.join('\n')}\n`, schema, ['b'], ALL_OPS);
  });

  it('moves from the dense pair table to hashed codes when the pairs are too sparse for it', () => {
    const next = random(8);
    const lines = ['a,b,f,i'];
    for (let r = 0; r < 20_000; r++) {
      // 6,000 x 6,000 possible pairs: a dense table would need 2^26 entries.
      lines.push(`a${Math.floor(next() * 6000)},b${Math.floor(next() * 6000)},${r % 97}.5,${r}`);
    }
    const schema = schemaOf(['a', 'b', 'f', 'i'], ['string', 'string', 'float64', 'int32']);
    assertSame(`${lines.join('\n')}\n`, schema, ['a', 'b'], ALL_OPS);
    assertSame(`${lines.join('\n')}\n`, schema, ['b', 'a'], ALL_OPS);
  });

  it('gives up where the JS path does: a bad value, a wrong row width, an int32 out of range', () => {
    const good = mixedCsv(5000, 5, (next) => `k${Math.floor(next() * 9)}`);
    const rows = good.split('\n');
    for (const bad of ['k1,n,oops,x1,1', 'k1,n,1,x1', 'k1,n,1,x1,1,extra', 'k1,n,1,x1,2147483648', 'k1,n,1,x1,']) {
      const text = [...rows.slice(0, 4500), bad, ...rows.slice(4500)].join('\n');
      assertSame(text, MIXED, ['k1'], ALL_OPS, true);
      assert.equal(reducePlainGroups(Buffer.from(text), 15, text.length, MIXED, ['k1'], ALL_OPS), undefined);
    }
  });
});

describe('readCsv group-by through the kernel', () => {
  let dir: string;
  let pool: ThreadPoolExecutor;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skein-wasm-groupby-'));
    pool = new ThreadPoolExecutor({ maxWorkers: 2 });
  });
  after(async () => {
    await pool.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('equals the reference at tiny blocksizes (range ends inside numbers and keys)', async () => {
    const next = random(11);
    const lines = ['id1,id2,v1,v3'];
    const records: Record<string, Value>[] = [];
    for (let r = 0; r < 1000; r++) {
      const row = {
        id1: `id${Math.floor(next() * 12)}`,
        id2: next() < 0.03 ? '' : `longer-key-${Math.floor(next() * 5)}`,
        v1: Math.floor(next() * 11) - 5,
        v3: Math.round((next() - 0.5) * 1e7) / 1e5,
      };
      lines.push(`${row.id1},${row.id2},${row.v1},${row.v3}`);
      records.push({ ...row, id2: row.id2 === '' ? null : row.id2 });
    }
    const path = join(dir, 'ranges.csv');
    writeFileSync(path, lines.join('\n'));
    for (const keys of [['id1'], ['id1', 'id2']]) {
      for (const blocksize of [7, 13, 1000, 1 << 20]) {
        const result = await readCsv(path, { blocksize, dtypes: { v1: 'int32', v3: 'float64' } })
          .groupby(keys)
          .agg({ v1: 'sum', v3: 'max' })
          .compute({ executor: pool });
        assertRowsClose(result.toRows(), referenceGroupby(records, keys, { v1: 'sum', v3: 'max' }));
      }
    }
  });

  it('combines coded-key partials (plain ranges) with plain ones (quoted ranges, the general parser)', async () => {
    const next = random(13);
    const lines = ['a,b,note,v'];
    const records: Record<string, Value>[] = [];
    for (let r = 0; r < 3000; r++) {
      const row = { a: `a${Math.floor(next() * 9)}`, b: `b${Math.floor(next() * 7)}`, v: r % 17 };
      // Every 400 rows a block of quoted notes: the ranges over them take the general parser.
      const note = Math.floor(r / 400) % 2 === 1 ? '"with, comma"' : 'plain';
      lines.push(`${row.a},${row.b},${note},${row.v}`);
      records.push(row);
    }
    const path = join(dir, 'mixed.csv');
    writeFileSync(path, `${lines.join('\n')}\n`);
    for (const blocksize of [500, 3000, 1 << 20]) {
      for (const splitEvery of [2, 8]) {
        const result = await readCsv(path, { blocksize })
          .groupby(['a', 'b'])
          .agg({ v: ['sum', 'first'] })
          .compute({ executor: pool, splitEvery });
        const sums = referenceGroupby(records, ['a', 'b'], { v: 'sum' });
        const firsts = referenceGroupby(records, ['a', 'b'], { v: 'first' });
        assert.deepEqual(
          result.toRows(),
          sums.map((row, g) => ({ a: row.a, b: row.b, v_sum: row.v, v_first: firsts[g]?.v })),
        );
      }
    }
  });

  it('equals the reference where ranges go back to JS: keys over 16 bytes, numbers the kernel hands over', async () => {
    const next = random(12);
    const lines = ['key,v'];
    const records: Record<string, Value>[] = [];
    for (let r = 0; r < 4000; r++) {
      // Some ranges hold only short keys (the kernel), others a long one (read again, the JS loop).
      const key = r % 1000 === 999 ? 'a-key-longer-than-sixteen-bytes' : `k${Math.floor(next() * 7)}`;
      const spelled = r % 50 === 0 ? `${r}e-2` : `${r % 13}.25`;
      lines.push(`${key},${spelled}`);
      records.push({ key, v: Number(spelled) });
    }
    const path = join(dir, 'long-keys.csv');
    writeFileSync(path, `${lines.join('\n')}\n`);
    for (const blocksize of [1 << 20, 2000]) {
      // A fresh worker: its kernel's memory grows under the first range read into it, which the
      // kernel then gives up (the long key), so that range is read again for the JS loop.
      const fresh = new ThreadPoolExecutor({ maxWorkers: 1 });
      try {
        const result = await readCsv(path, { blocksize }).groupby('key').agg({ v: 'sum' }).compute({ executor: fresh });
        assertRowsClose(result.toRows(), referenceGroupby(records, ['key'], { v: 'sum' }));
      } finally {
        await fresh.shutdown();
      }
    }
  });
});
