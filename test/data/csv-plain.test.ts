/**
 * The fast paths for rows with no quote and no CR (csv-plain.ts, plain-groupby.ts): the same
 * values, rows, groups and errors as the general parser gives, for every number spelling, blank
 * lines, a last row without a newline, missing values, and rows they must hand back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ThreadPoolExecutor } from 'skein';
import { CsvParseError, readCsv } from 'skein/data';
import { readFloatField } from '../../dist/data/csv-plain.js';
import { rejection } from '../helpers.ts';
import { assertRowsClose, random, referenceGroupby, type Value } from './reference.ts';

/** Number spellings the fast path converts itself, and the ones it hands to the full reader. */
const SPELLINGS = [
  '0',
  '-0',
  '+7',
  '42',
  '3.5',
  '-2.25',
  '0.1',
  '0.3',
  '5.',
  '.5',
  '007',
  '123456789012345',
  '1234567890.12345',
  '0.000000000000001',
  '9007199254740993',
  '1234567890123456789',
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
  '99.99999',
];

/** The value pandas reads for a spelling (its default missing-value words; `inf` as infinity). */
function expectedNumber(spelling: string): number {
  if (spelling === '' || spelling === 'NA' || spelling === 'NaN') return Number.NaN;
  if (spelling === 'inf') return Number.POSITIVE_INFINITY;
  return Number(spelling);
}

/** A plain CSV (no quote, no CR): text keys k1 (some missing), k2; float f; int32 i; a skipped note. */
function plainCsv(rows: number, seed: number, finite = false): { text: string; records: Record<string, Value>[] } {
  const next = random(seed);
  // Infinities make sums NaN or infinite, which the reference's tolerance cannot compare.
  const spellings = finite
    ? SPELLINGS.filter((s) => Number.isFinite(expectedNumber(s)) || s === '' || s === 'NA' || s === 'NaN')
    : SPELLINGS;
  const lines = ['k1,note,f,k2,i'];
  const records: Record<string, Value>[] = [];
  for (let r = 0; r < rows; r++) {
    const k1 = next() < 0.05 ? '' : `key${Math.floor(next() * 30)}`;
    const k2 = `x${Math.floor(next() * 4)}`;
    const f = spellings[Math.floor(next() * spellings.length)] as string;
    const i = Math.floor(next() * 2000) - 1000;
    lines.push(`${k1},note ${r},${f},${k2},${i}`);
    if (next() < 0.02) lines.push(''); // a blank line: skipped
    records.push({ k1: k1 === '' ? null : k1, k2, f: expectedNumber(f), i });
  }
  return { text: lines.join('\n'), records };
}

describe('readFloatField', () => {
  it('gives exactly the double Number() gives, for every spelling', () => {
    for (const spelling of SPELLINGS) {
      const bytes = Buffer.from(`${spelling},`);
      const value = readFloatField(bytes, 0, 44);
      const expected = expectedNumber(spelling);
      assert.ok(Object.is(value, expected), `"${spelling}": got ${value}, expected ${expected}`);
    }
  });

  it('agrees with Number() on random plain decimals of up to 15 digits', () => {
    const next = random(9);
    for (let n = 0; n < 100_000; n++) {
      const digits = 1 + Math.floor(next() * 15);
      let text = '';
      for (let d = 0; d < digits; d++) text += String(Math.floor(next() * 10));
      const point = Math.floor(next() * (digits + 1));
      const spelled = `${next() < 0.3 ? '-' : ''}${text.slice(0, point)}.${text.slice(point)}`;
      const value = readFloatField(Buffer.from(`${spelled}\n`), 0, 44);
      assert.ok(Object.is(value, Number(spelled)), `"${spelled}": got ${value}, expected ${Number(spelled)}`);
    }
  });
});

describe('plain rows', () => {
  let dir: string;
  let pool: ThreadPoolExecutor;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const dtypes = { k1: 'string', note: 'string', f: 'float64', k2: 'string', i: 'int32' } as const;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skein-plain-'));
    pool = new ThreadPoolExecutor({ maxWorkers: 2 });
  });
  after(async () => {
    await pool.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('parses every value as the reference does, at any blocksize, with no newline at the end', async () => {
    const { text, records } = plainCsv(3000, 1);
    const path = file('plain.csv', text);
    for (const blocksize of [9, 100, 4096, 1 << 20]) {
      const result = await readCsv(path, { blocksize, dtypes, columns: ['k1', 'f', 'k2', 'i'] }).compute({
        executor: pool,
      });
      const rows = result.toRows();
      assert.equal(rows.length, records.length);
      rows.forEach((row, r) => {
        const want = records[r] as Record<string, Value>;
        assert.equal(row.k1, want.k1, `row ${r}`);
        assert.equal(row.k2, want.k2, `row ${r}`);
        assert.equal(row.i, want.i, `row ${r}`);
        assert.ok(Object.is(row.f, want.f), `row ${r}: f ${String(row.f)}, expected ${String(want.f)}`);
      });
    }
  });

  it('fused into a group-by: every op over 1 and 2 text keys equals the reference, at any blocksize', async () => {
    const { text, records } = plainCsv(5000, 2, true);
    const path = file('groups.csv', `${text}\n`);
    for (const keys of [['k1'], ['k1', 'k2']]) {
      for (const blocksize of [37, 5000, 1 << 20]) {
        const frame = readCsv(path, { blocksize, dtypes });
        const result = await frame
          .groupby(keys)
          .agg({ f: ['sum', 'mean', 'count', 'min', 'max', 'first', 'last'], i: ['sum', 'size'] })
          .compute({ executor: pool });
        for (const op of ['sum', 'mean', 'count', 'min', 'max', 'first', 'last'] as const) {
          const expected = referenceGroupby(records, keys, { f: op }).map((row) => ({
            ...Object.fromEntries(keys.map((k) => [k, row[k] as Value])),
            [`f_${op}`]: row.f as Value,
          }));
          assertRowsClose(result.toRows(), expected);
        }
        const sizes = referenceGroupby(records, keys, { i: 'sum' });
        const rows = result.toRows();
        assert.deepEqual(
          rows.map((row) => row.i_sum),
          sizes.map((row) => row.i),
        );
        assert.deepEqual(
          rows.map((row) => row.i_size),
          referenceGroupby(records, keys, { i: 'size' }).map((row) => row.size),
        );
      }
    }
  });

  it('fused into a group-by with many distinct pairs and with 3 keys: the same groups as the reference', async () => {
    const next = random(5);
    const lines = ['a,b,c,v'];
    const records: Record<string, Value>[] = [];
    for (let r = 0; r < 6000; r++) {
      // 3000 x 3000 possible pairs: too many for the dense pair table, so its hash table is used.
      const row = { a: `a${Math.floor(next() * 3000)}`, b: `b${Math.floor(next() * 3000)}`, c: `c${r % 3}`, v: r };
      lines.push(`${row.a},${row.b},${row.c},${row.v}`);
      records.push(row);
    }
    const path = file('pairs.csv', `${lines.join('\n')}\n`);
    for (const keys of [
      ['a', 'b'],
      ['c', 'a', 'b'],
      ['c', 'b'],
    ]) {
      for (const blocksize of [20_000, 1 << 20]) {
        const result = await readCsv(path, { blocksize }).groupby(keys).agg({ v: 'sum' }).compute({ executor: pool });
        assertRowsClose(result.toRows(), referenceGroupby(records, keys, { v: 'sum' }));
      }
    }
  });

  it('hands a bad row to the general parser: the error names its line and column, skip and collect work', async () => {
    const lines = ['k,v'];
    for (let r = 0; r < 500; r++) lines.push(`g${r % 7},${r}`);
    lines[301] = 'g1,oops';
    lines[402] = 'g2,1,2';
    const path = file('bad.csv', `${lines.join('\n')}\n`);
    const dtypes = { v: 'float64' } as const;
    const error = await rejection(
      readCsv(path, { blocksize: 1000, dtypes }).groupby('k').sum().compute({ executor: pool }),
    );
    assert.ok(error instanceof CsvParseError);
    assert.match(error.message, /bad\.csv line 302, column 2 \("v"\): "oops" is not a number/);
    const collected = await readCsv(path, { blocksize: 1000, dtypes, onBadLines: 'collect' })
      .groupby('k')
      .agg({ v: 'count' })
      .compute({ executor: pool });
    assert.deepEqual(
      collected.badLines.map((b) => [b.line, b.text]),
      [
        [302, 'g1,oops'],
        [403, 'g2,1,2'],
      ],
    );
    const total = collected.toRows().reduce((n, row) => n + (row.v as number), 0);
    assert.equal(total, 498);
  });
});
