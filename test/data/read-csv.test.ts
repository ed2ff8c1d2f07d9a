/**
 * readCsv: byte ranges cut anywhere (inside quoted fields, between CR and LF) give exactly the
 * rows an independent whole-text parse gives; the schema; the options; bad input named precisely.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ThreadPoolExecutor } from 'skein';
import { CsvParseError, DataSourceError, readCsv } from 'skein/data';
import { rejection } from '../helpers.ts';
import { assertRowsClose, generateCsv, parseCsvText, typedRows } from './reference.ts';

const NUMERIC = ['id', 'key2', 'value'];

describe('readCsv', () => {
  let dir: string;
  let pool: ThreadPoolExecutor;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skein-data-'));
    pool = new ThreadPoolExecutor({ maxWorkers: 2 });
  });
  after(async () => {
    await pool.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives exactly the rows of a whole-text parse, with quoted commas, quotes and newlines, at any blocksize', async () => {
    const text = generateCsv(400, { seed: 3 });
    const path = file('quoted.csv', text);
    const expected = typedRows(parseCsvText(text), NUMERIC);
    // Tiny blocks: most ranges start inside a quoted field or in the middle of a row.
    for (const blocksize of [7, 13, 64, 1000, 1 << 20]) {
      const result = await readCsv(path, { blocksize }).compute({ executor: pool });
      assert.deepEqual(result.names, ['id', 'key', 'key2', 'value', 'note']);
      assertRowsClose(result.toRows(), expected);
    }
  });

  it('reads CRLF line ends and a byte order mark', async () => {
    const text = generateCsv(200, { seed: 4, crlf: true });
    const path = file('crlf.csv', `\uFEFF${text}`);
    const result = await readCsv(path, { blocksize: 50 }).compute({ executor: pool });
    assert.equal(result.names[0], 'id');
    assertRowsClose(result.toRows(), typedRows(parseCsvText(text), NUMERIC));
  });

  it('infers float64 for numeric columns and string otherwise; dtypes overrides', async () => {
    const path = file('types.csv', 'a,b,c\n1,x,3\n2,,4\n');
    const result = await readCsv(path).compute({ executor: pool });
    const columns = result.toColumns();
    assert.ok(columns.a instanceof Float64Array);
    assert.deepEqual(columns.b, ['x', null]);
    const typed = await readCsv(path, { dtypes: { a: 'int32', c: 'string' } }).compute({ executor: pool });
    assert.ok(typed.toColumns().a instanceof Int32Array);
    assert.deepEqual(typed.toColumns().c, ['3', '4']);
  });

  it('reads only the columns asked for, header or not, and another delimiter', async () => {
    const path = file('semi.csv', '1;a;2.5\n2;b;3.5\n');
    const result = await readCsv(path, {
      header: false,
      delimiter: ';',
      names: ['n', 's', 'x'],
      columns: ['x', 'n'],
    }).compute({ executor: pool });
    assert.deepEqual(result.toRows(), [
      { x: 2.5, n: 1 },
      { x: 3.5, n: 2 },
    ]);
    const unnamed = await readCsv(path, { header: false, delimiter: ';' }).compute({ executor: pool });
    assert.deepEqual(unnamed.names, ['column0', 'column1', 'column2']);
  });

  it('reads a glob of files, in sorted order, as one frame', async () => {
    const a = generateCsv(50, { seed: 5 });
    const b = generateCsv(70, { seed: 6 });
    file('part-1.csv', a);
    file('part-2.csv', b);
    const result = await readCsv(join(dir, 'part-*.csv'), { blocksize: 100 }).compute({ executor: pool });
    assertRowsClose(result.toRows(), [...typedRows(parseCsvText(a), NUMERIC), ...typedRows(parseCsvText(b), NUMERIC)]);
  });

  it('decodes UTF-8 text, quoted or not, and doubled quotes', async () => {
    const path = file('text.csv', 'name,n\n"a""b",1\nnaïve,2\n"naïve",3\n😀 ok,4\n"",5\n');
    const result = await readCsv(path, { blocksize: 5 }).compute({ executor: pool });
    assert.deepEqual(result.toColumns().name, ['a"b', 'naïve', 'naïve', '😀 ok', null]);
    const counted = await readCsv(path).groupby('name').size().compute({ executor: pool });
    assert.deepEqual(counted.toRows(), [
      { name: 'a"b', size: 1 },
      { name: 'naïve', size: 2 },
      { name: '😀 ok', size: 1 },
    ]);
  });

  it('parses numbers exactly as Number() does', async () => {
    const values = [
      '0.1',
      '-2.5e-3',
      '1e22',
      '123456789012345678',
      '3.141592653589793238',
      '.5',
      '+7',
      '1E+5',
      '-0',
      'inf',
      'NaN',
    ];
    const path = file('numbers.csv', `x\n${values.join('\n')}\n`);
    const got = (await readCsv(path, { dtypes: { x: 'float64' } }).compute({ executor: pool })).toColumns()
      .x as Float64Array;
    const want = values.map((v) => (v === 'inf' ? Number.POSITIVE_INFINITY : Number(v)));
    assert.deepEqual([...got], want);
  });

  describe('bad input', () => {
    it('a value that is not a number names the file, line and column', async () => {
      const path = file('bad-value.csv', 'a,b\n1,2\n3,4\n"x\ny",5\n6,seven\n');
      const error = await rejection(
        readCsv(path, { dtypes: { a: 'string', b: 'float64' }, blocksize: 9 }).compute({ executor: pool }),
      );
      assert.ok(error instanceof CsvParseError, String(error));
      assert.equal(error.line, 6);
      assert.equal(error.column, 2);
      assert.match(error.message, /bad-value\.csv line 6, column 2 \("b"\): "seven" is not a number/);
      assert.match(error.message, /dtypes: \{ "b": 'string' \}/);
    });

    it("an int32 column's missing or fractional value points to float64, and that advice works", async () => {
      const path = file('bad-int.csv', 'k,n\na,1\nb,\nc,2.5\n');
      const missing = await rejection(readCsv(path, { dtypes: { n: 'int32' } }).compute({ executor: pool }));
      assert.ok(missing instanceof CsvParseError, String(missing));
      assert.equal(missing.line, 3);
      assert.match(missing.message, /line 3, column 2 \("n"\): a missing value is not an int32 integer/);
      assert.match(missing.message, /dtypes: \{ "n": 'float64' \}/);
      const collected = await readCsv(path, { dtypes: { n: 'int32' }, onBadLines: 'collect' }).compute({
        executor: pool,
      });
      assert.match(collected.badLines[1]?.reason ?? '', /"2\.5" is not an int32 integer.*'float64'/);
      // Following the advice: the column reads, the missing value as NaN (pandas' float64 for such a column).
      const followed = await readCsv(path, { dtypes: { n: 'float64' } })
        .sum()
        .compute({ executor: pool });
      assert.deepEqual(followed.toRows(), [{ n: 3.5 }]);
    });

    it('a row with the wrong number of fields names its line', async () => {
      const path = file('bad-width.csv', 'a,b\n1,2\n3,4,5\n6,7\n');
      const error = await rejection(readCsv(path).compute({ executor: pool }));
      assert.ok(error instanceof CsvParseError);
      assert.equal(error.line, 3);
      assert.match(error.message, /line 3, column 3: expected 2 fields, found 3/);
    });

    it("onBadLines 'skip' drops bad rows; 'collect' also reports them with their lines", async () => {
      const path = file('bad-many.csv', 'a,b\n1,2\n3,x\n4\n5,6\n"7\n",8,9\n10,11\n');
      const skipped = await readCsv(path, {
        onBadLines: 'skip',
        dtypes: { a: 'float64', b: 'float64' },
        blocksize: 6,
      }).compute({
        executor: pool,
      });
      assert.deepEqual(skipped.toColumns().a, Float64Array.from([1, 5, 10]));
      assert.equal(skipped.badLines.length, 0);
      const collected = await readCsv(path, {
        onBadLines: 'collect',
        dtypes: { a: 'float64', b: 'float64' },
        blocksize: 6,
      }).compute({
        executor: pool,
      });
      assert.deepEqual(collected.toColumns().b, Float64Array.from([2, 6, 11]));
      assert.deepEqual(
        collected.badLines.map((b) => [b.line, b.column, b.text]),
        [
          [3, 2, '3,x'],
          [4, 2, '4'],
          [6, 3, '"7\n",8,9'],
        ],
      );
    });

    it('a header that names a column twice is refused with advice that works (names: [...])', async () => {
      const path = file('dup-header.csv', 'k,k,v\na,b,1\n');
      assert.throws(() => readCsv(path), /the column name "k" appears twice.*names: \[/);
      const renamed = await readCsv(path, { names: ['k', 'k2', 'v'] }).compute({ executor: pool });
      assert.deepEqual(renamed.toRows(), [{ k: 'a', k2: 'b', v: 1 }]);
    });

    it('a missing file, a missing folder and an empty glob name the path', () => {
      assert.throws(
        () => readCsv(join(dir, 'nope.csv')),
        (e: Error) => e instanceof DataSourceError && e.message.includes('nope.csv: no such file'),
      );
      assert.throws(() => readCsv(join(dir, 'nothing-*.csv')), /nothing-\*\.csv: the glob matches no file/);
      assert.throws(() => readCsv(join(dir, 'no-folder', '*.csv')), /the folder .*no-folder does not exist/);
      assert.throws(() => readCsv([]), /non-empty array/);
    });

    it('bad options say what was wrong', () => {
      const path = file('ok.csv', 'a\n1\n');
      assert.throws(() => readCsv(path, { blocksize: '12 parsecs' }), /blocksize must be .* got "12 parsecs"/);
      assert.throws(() => readCsv(path, { delimiter: ',,' }), /delimiter must be one ASCII character/);
      assert.throws(
        () => readCsv(path, { dtypes: { a: 'int64' as 'int32' } }),
        /dtypes\.a must be one of float64, int32, string/,
      );
      assert.throws(() => readCsv(path, { dtypes: { z: 'float64' } }), /dtypes names "z", which is not a column/);
      assert.throws(() => readCsv(path, { columns: ['z'] }), /select: no column "z"/);
    });
  });
});
