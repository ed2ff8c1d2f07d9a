/**
 * readJsonl: byte ranges cut anywhere (inside a line, inside a multi-byte character, between CR
 * and LF) give exactly the rows an independent whole-text parse gives; the schema; the options;
 * bad lines named by file, line and field; the process pool.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProcessPoolExecutor, ThreadPoolExecutor } from 'skein';
import { DataSourceError, JsonlParseError, readJsonl } from 'skein/data';
import { isPositive } from '../fixtures/data-rows.ts';
import { rejection } from '../helpers.ts';
import { assertRowsClose, generateJsonl, parseJsonlText, referenceGroupby } from './reference.ts';

const NAMES = ['id', 'key', 'key2', 'value', 'note'];
const NUMERIC = ['id', 'key2', 'value'];

describe('readJsonl', () => {
  let dir: string;
  let pool: ThreadPoolExecutor;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skein-jsonl-'));
    pool = new ThreadPoolExecutor({ maxWorkers: 2 });
  });
  after(async () => {
    await pool.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives exactly the rows of a whole-text parse at any blocksize, escapes and multi-byte characters included', async () => {
    const text = generateJsonl(400, { seed: 3 });
    const path = file('rows.jsonl', text);
    const expected = parseJsonlText(text, NUMERIC, NAMES);
    // Tiny blocks: most ranges start in the middle of a line, some inside a multi-byte character.
    for (const blocksize of [7, 13, 64, 1000, 1 << 20]) {
      const result = await readJsonl(path, { blocksize }).compute({ executor: pool });
      assert.deepEqual(result.names, NAMES);
      assertRowsClose(result.toRows(), expected);
    }
  });

  it('every blocksize from 1 to 24 over short lines: ranges that end at, before and after a newline', async () => {
    const values = Array.from({ length: 60 }, (_, i) => (i * 37) % 1000);
    const path = file('short.jsonl', values.map((a) => `{"a":${a}}\n`).join(''));
    for (let blocksize = 1; blocksize <= 24; blocksize++) {
      const result = await readJsonl(path, { blocksize }).compute({ executor: pool });
      assert.deepEqual([...(result.toColumns().a as Float64Array)], values, `blocksize ${blocksize}`);
    }
  });

  it('reads CRLF line ends, a byte order mark, blank lines and several files of a glob in order', async () => {
    const a = generateJsonl(150, { seed: 4, crlf: true });
    const b = generateJsonl(80, { seed: 5 });
    file('part-1.jsonl', `\uFEFF${a}`);
    file('part-2.jsonl', b);
    const result = await readJsonl(join(dir, 'part-*.jsonl'), { blocksize: 50 }).compute({ executor: pool });
    assertRowsClose(result.toRows(), [
      ...parseJsonlText(a.replaceAll('\r\n', '\n'), NUMERIC, NAMES),
      ...parseJsonlText(b, NUMERIC, NAMES),
    ]);
  });

  it('infers float64 for number (and boolean) fields and string otherwise, keeping other JSON values as text', async () => {
    const path = file(
      'types.jsonl',
      '{"a":1,"b":"x","c":true,"d":{"e":1}}\n{"a":null,"c":false,"d":[1,2],"f":"late"}\n',
    );
    const frame = readJsonl(path);
    assert.deepEqual(frame.columns, ['a', 'b', 'c', 'd', 'f']);
    const columns = (await frame.compute({ executor: pool })).toColumns();
    assert.ok(columns.a instanceof Float64Array);
    assert.deepEqual([...columns.a], [1, Number.NaN]);
    assert.deepEqual(columns.b, ['x', null]);
    assert.deepEqual([...(columns.c as Float64Array)], [1, 0]);
    assert.deepEqual(columns.d, ['{"e":1}', '[1,2]']);
    assert.deepEqual(columns.f, [null, 'late']);
  });

  it('columns reads exactly the named fields, in order, and dtypes overrides the inference', async () => {
    const path = file('cols.jsonl', '{"a":1,"b":2}\n{"a":3,"b":4,"z":7}\n');
    const result = await readJsonl(path, { columns: ['z', 'a'], dtypes: { a: 'int32', z: 'float64' } }).compute({
      executor: pool,
    });
    assert.deepEqual(result.names, ['z', 'a']);
    const { z, a } = result.toColumns();
    assert.ok(a instanceof Int32Array);
    assert.deepEqual([...(a as Int32Array)], [1, 3]);
    assert.deepEqual([...(z as Float64Array)], [Number.NaN, 7]);
  });

  it('groups as the reference does, filter with an exported row function included, many small partitions as one', async () => {
    const text = generateJsonl(3000, { seed: 8, groups: 9 });
    const path = file('groups.jsonl', text);
    const rows = parseJsonlText(text, NUMERIC, NAMES).filter((row) => isPositive(row));
    const expected = referenceGroupby(rows, ['key', 'key2'], { value: 'sum', id: 'count', note: 'last' });
    for (const blocksize of [997, 1 << 20]) {
      const result = await readJsonl(path, { blocksize })
        .filter(isPositive)
        .groupby(['key', 'key2'])
        .agg({ value: 'sum', id: 'count', note: 'last' })
        .compute({ executor: pool, splitEvery: 3 });
      assertRowsClose(result.toRows(), expected);
    }
  });

  it('head gives the first rows', async () => {
    const text = generateJsonl(500, { seed: 9 });
    const path = file('head.jsonl', text);
    const result = await readJsonl(path, { blocksize: 100 }).head(4, { executor: pool });
    assertRowsClose(result.toRows(), parseJsonlText(text, NUMERIC, NAMES).slice(0, 4));
  });

  it('computes the same on a process pool', async () => {
    const text = generateJsonl(1500, { seed: 10 });
    const path = file('process.jsonl', text);
    const processes = new ProcessPoolExecutor({ maxWorkers: 2 });
    try {
      const result = await readJsonl(path, { blocksize: 2000 })
        .groupby('key')
        .agg({ value: 'mean', key2: 'max' })
        .compute({ executor: processes });
      const expected = referenceGroupby(parseJsonlText(text, NUMERIC, NAMES), ['key'], { value: 'mean', key2: 'max' });
      assertRowsClose(result.toRows(), expected);
    } finally {
      await processes.shutdown();
    }
  });
});

describe('readJsonl bad input', () => {
  let dir: string;
  let pool: ThreadPoolExecutor;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skein-jsonl-bad-'));
    pool = new ThreadPoolExecutor({ maxWorkers: 2 });
  });
  after(async () => {
    await pool.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  // Lines 1-40 good; line 23 is not JSON, line 31 has a string where a number goes, line 37 is an array.
  const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ n: i + 1, s: `r${i + 1}` }));
  lines[22] = '{"n": 23, "s": "r23"';
  lines[30] = '{"n": "thirty-one", "s": "r31"}';
  lines[36] = '[37, "r37"]';
  const text = `${lines.join('\n')}\n`;

  it('a value that does not fit its dtype throws naming file, line and field, at any blocksize', async () => {
    const path = file(
      'dtype.jsonl',
      `${lines
        .slice(0, 30)
        .join('\n')
        .replace(lines[22] as string, '{"n":23}')}\n${lines[30]}\n`,
    );
    for (const blocksize of [9, 100, 1 << 20]) {
      const error = await rejection(
        readJsonl(path, { blocksize, dtypes: { n: 'float64' } }).compute({ executor: pool }),
      );
      assert.ok(error instanceof JsonlParseError, String(error));
      assert.equal(error.line, 31);
      assert.equal(error.field, 'n');
      assert.equal(error.file, path);
      assert.match(error.message, /dtype\.jsonl line 31, field "n": the string "thirty-one" is not a number/);
      assert.match(error.message, /dtypes: \{ "n": 'string' \}/);
    }
  });

  it('a line that is not JSON throws naming its line', async () => {
    const path = file('syntax.jsonl', text);
    const error = await rejection(readJsonl(path, { blocksize: 64 }).compute({ executor: pool }));
    assert.ok(error instanceof JsonlParseError, String(error));
    assert.equal(error.line, 23);
    assert.equal(error.field, undefined);
    assert.match(error.message, /line 23: not valid JSON/);
  });

  it("onBadLines 'skip' drops the bad lines and 'collect' lists them with line and field", async () => {
    const path = file('collect.jsonl', text);
    const good = [...Array(40).keys()].map((i) => i + 1).filter((n) => ![23, 31, 37].includes(n));
    const skipped = await readJsonl(path, { blocksize: 50, onBadLines: 'skip', dtypes: { n: 'float64' } }).compute({
      executor: pool,
    });
    assert.deepEqual([...(skipped.toColumns().n as Float64Array)], good);
    assert.equal(skipped.badLines.length, 0);
    const collected = await readJsonl(path, { blocksize: 50, onBadLines: 'collect', dtypes: { n: 'float64' } }).compute(
      { executor: pool },
    );
    assert.deepEqual([...(collected.toColumns().n as Float64Array)], good);
    assert.deepEqual(
      collected.badLines.map((b) => [b.line, b.field, b.column, b.text]),
      [
        [23, undefined, undefined, lines[22]],
        [31, 'n', 1, lines[30]],
        [37, undefined, undefined, lines[36]],
      ],
    );
    assert.match(collected.badLines[2]?.reason ?? '', /one JSON object, not an array/);
  });

  it('an int32 column refuses a missing value or a fraction, naming the line', async () => {
    const path = file('int.jsonl', '{"a":1}\n{"a":2.5}\n');
    const error = await rejection(readJsonl(path, { dtypes: { a: 'int32' } }).compute({ executor: pool }));
    assert.match(String(error), /int\.jsonl line 2, field "a": number 2\.5 is not an int32/);
  });

  it('a missing file, an empty glob, bad options and a file without objects are named', () => {
    assert.throws(
      () => readJsonl(join(dir, 'nope.jsonl')),
      (e: unknown) => e instanceof DataSourceError && /nope\.jsonl: no such file/.test(e.message),
    );
    assert.throws(() => readJsonl(join(dir, 'none-*.jsonl')), /the glob matches no file/);
    assert.throws(() => readJsonl([]), /readJsonl needs a path/);
    assert.throws(
      () => readJsonl(file('ok.jsonl', '{"a":1}\n'), { onBadLines: 'ignore' as 'skip' }),
      /onBadLines must be/,
    );
    assert.throws(() => readJsonl(file('ok2.jsonl', '{"a":1}\n'), { dtypes: { b: 'float64' } }), /dtypes names "b"/);
    assert.throws(() => readJsonl(file('arrays.jsonl', '[1]\n[2]\n')), /no JSON object with fields/);
  });
});
