/**
 * Memory: on-disk results. The cached functions live in module files written to a temporary
 * folder by the tests, so that a test can edit a module and see its entries invalidated.
 * Each module counts its runs in a file (a process that imports it again starts from zero).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Memory } from 'skein';
import { stableHash } from '../../src/graph/stable-hash.ts';

const root = mkdtempSync(join(tmpdir(), 'skein-memory-'));
after(() => rmSync(root, { recursive: true, force: true }));

let made = 0;
/** Writes a module whose `compute(x)` appends to its run log and returns `body`'s value. */
function writeModule(name: string, body = 'x * 2', extraImports = ''): { file: string; runs: () => number } {
  const file = join(root, name);
  const log = join(root, `${name}.runs`);
  writeFileSync(
    file,
    `import { appendFileSync } from 'node:fs';\n${extraImports}\n` +
      `export function compute(x, label) { appendFileSync(${JSON.stringify(log)}, 'run\\n'); return ${body}; }\n` +
      `export function other(x) { appendFileSync(${JSON.stringify(log)}, 'other\\n'); return -x; }\n`,
  );
  writeFileSync(log, '');
  return {
    file,
    runs: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l === 'run').length,
  };
}

/** Imports `file` as a fresh module instance (a query string makes Node load the file again). */
async function load(file: string): Promise<{
  compute: (x: unknown, label?: string) => unknown;
  other: (x: number) => number;
}> {
  return import(`${pathToFileURL(file).href}?v=${made++}`);
}

function entries(dir: string): string[] {
  try {
    return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.entry'));
  } catch {
    return []; // not created yet
  }
}

describe('Memory', () => {
  it('computes on a miss, reads on a hit, also from a new instance on the same folder', async () => {
    const { file, runs } = writeModule('hits.mjs');
    const mod = await load(file);
    const dir = join(root, 'cache-hits');
    const cached = new Memory(dir).cache(mod.compute);
    assert.equal(await cached(21), 42);
    assert.equal(await cached(21), 42);
    assert.equal(runs(), 1);
    assert.equal(await cached(5), 10);
    assert.equal(runs(), 2);
    const again = new Memory(dir).cache(mod.compute); // a restart: nothing kept in memory
    assert.equal(await again(21), 42);
    assert.equal(runs(), 2);
    assert.equal(await again.check(21), true);
    assert.equal(await again.check(22), false);
  });

  it('keys arguments by content: key order does not matter, Map/Set/typed arrays/Date do', async () => {
    const { file, runs } = writeModule('shapes.mjs', 'JSON.stringify(x)?.length ?? 0');
    const cached = new Memory(join(root, 'cache-shapes')).cache((await load(file)).compute);
    await cached({ a: 1, b: [1, 2] });
    await cached({ b: [1, 2], a: 1 });
    assert.equal(runs(), 1, 'the same object with its keys in another order is a hit');
    await cached(new Map([[1, 'x']]));
    await cached(new Map([[1, 'y']]));
    await cached(new Set([1, 2]));
    await cached(new Set([2, 1]));
    await cached(new Float64Array([1, 2]));
    await cached(new Float32Array([1, 2]));
    await cached(new Date(0));
    await cached(new Date(1));
    assert.equal(runs(), 1 + 2 + 1 + 2 + 2);
  });

  it('ignore leaves an argument out of the key, by name or position', async () => {
    const { file, runs } = writeModule('ignore.mjs');
    const mod = await load(file);
    const memory = new Memory(join(root, 'cache-ignore'));
    const byName = memory.cache(mod.compute, { ignore: ['label'] });
    await byName(1, 'first');
    await byName(1, 'second');
    assert.equal(runs(), 1);
    const byPosition = memory.cache(mod.compute, { ignore: [1] });
    await byPosition(1, 'third');
    assert.equal(runs(), 1);
    assert.throws(
      () => memory.cache(mod.compute, { ignore: ['nope'] }),
      /has no parameter "nope" \(its parameters: x, label\)/,
    );
  });

  it('editing the module invalidates its entries, and only its own', async () => {
    const edited = writeModule('edited.mjs');
    const untouched = writeModule('untouched.mjs');
    const dir = join(root, 'cache-edit');
    const memory = new Memory(dir);
    assert.equal(await memory.cache((await load(edited.file)).compute)(3), 6);
    assert.equal(await memory.cache((await load(untouched.file)).compute)(3), 6);
    assert.equal(entries(dir).length, 2);

    // The edit: same function, new body. A fresh instance of the module sees the new file.
    writeModule('edited.mjs', 'x * 3');
    const editedRuns = edited.runs;
    const afterEdit = memory.cache((await load(edited.file)).compute);
    assert.equal(await afterEdit(3), 9, 'not the stale 6');
    assert.equal(editedRuns(), 1, 'the run log was reset by the rewrite: one run since');
    assert.equal(await memory.cache((await load(untouched.file)).compute)(3), 6);
    assert.equal(untouched.runs(), 1, 'the other module’s entry is still a hit');
    assert.equal(entries(dir).length, 2, 'the stale entry was removed, not left to grow');
  });

  it('depends: editing a helper module invalidates the functions that name it', async () => {
    const helper = join(root, 'helper.mjs');
    writeFileSync(helper, 'export const factor = 10;\n');
    const user = writeModule(
      'uses-helper.mjs',
      'x * factor',
      `import { factor } from ${JSON.stringify(pathToFileURL(helper).href)};`,
    );
    const memory = new Memory(join(root, 'cache-depends'));
    const first = memory.cache((await load(user.file)).compute, { depends: [helper] });
    assert.equal(await first(2), 20);
    assert.equal(await first(2), 20);
    assert.equal(user.runs(), 1);
    writeFileSync(helper, 'export const factor = 100;\n');
    // The module importing the helper is loaded again (new query), so it sees the new helper too.
    // (This process keeps the helper it imported first, so the value is still 20: what counts is
    // that the cache ran the function again instead of answering from the old entry.)
    const second = memory.cache((await load(user.file)).compute, { depends: [pathToFileURL(helper)] });
    await second(2);
    assert.equal(user.runs(), 2);
    await assert.rejects(
      memory.cache((await load(user.file)).compute, { depends: [join(root, 'missing.mjs')] })(1),
      /depends: cannot read .*missing\.mjs/,
    );
  });

  it('a corrupted or truncated entry is computed again, never returned', async () => {
    const { file, runs } = writeModule('corrupt.mjs', '({ value: x, list: [x, x] })');
    const dir = join(root, 'cache-corrupt');
    const cached = new Memory(dir).cache((await load(file)).compute);
    assert.deepEqual(await cached(7), { value: 7, list: [7, 7] });
    const [entry] = entries(dir);
    const path = join(dir, entry as string);
    const bytes = readFileSync(path);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 3] = (flipped[flipped.length - 3] as number) ^ 0xff;
    writeFileSync(path, flipped);
    assert.deepEqual(await cached(7), { value: 7, list: [7, 7] });
    assert.equal(runs(), 2);
    writeFileSync(path, bytes.subarray(0, bytes.length - 5));
    assert.deepEqual(await cached(7), { value: 7, list: [7, 7] });
    assert.equal(runs(), 3);
    writeFileSync(path, 'garbage');
    assert.equal(await cached.check(7), false);
  });

  it('clear() and cached.clear() remove entries; maxAgeMs expires them; maxBytes keeps the folder small', async () => {
    const { file, runs } = writeModule('clear.mjs');
    const mod = await load(file);
    const dir = join(root, 'cache-clear');
    const memory = new Memory(dir);
    const a = memory.cache(mod.compute);
    const b = memory.cache(mod.other);
    await a(1);
    await b(1);
    await a.clear();
    assert.equal(await a.check(1), false);
    assert.equal(await b.check(1), true);
    await memory.clear();
    assert.equal(await b.check(1), false);

    const expiring = new Memory(dir, { maxAgeMs: 0 }).cache(mod.compute);
    const before = runs();
    await expiring(4);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await expiring(4);
    assert.equal(runs(), before + 2);

    const small = new Memory(join(root, 'cache-small'), { maxBytes: 0 });
    await small.cache(mod.compute)(9);
    assert.equal(entries(join(root, 'cache-small')).length, 0);
  });

  it('says what is wrong with bad input', async () => {
    assert.throws(() => new Memory(undefined as never), /Memory needs a folder path/);
    assert.throws(() => new Memory(root, { maxBytes: -1 }), /maxBytes must be a number >= 0/);
    const cached = new Memory(join(root, 'cache-bad')).cache((x: unknown) => x);
    await assert.rejects(
      cached(() => 1),
      /cannot hash \[0\]: it is a function/,
    );
    const returnsFunction = new Memory(join(root, 'cache-bad')).cache(() => () => 1);
    await assert.rejects(returnsFunction(), /cannot be stored in the cache/);
  });

  it('two processes writing one entry at once never leave a torn file', async () => {
    const dir = join(root, 'cache-race');
    const writer = fileURLToPath(new URL('../fixtures/memory-writer.ts', import.meta.url));
    // Each writer rewrites the same 4 MiB entry 40 times (maxAgeMs 0: every call is a miss).
    const children = [0, 1].map(
      () =>
        new Promise<number | null>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, '40'], { stdio: 'inherit' });
          child.on('error', reject);
          child.on('exit', resolve);
        }),
    );
    let reads = 0;
    let torn = 0;
    let running = true;
    void Promise.all(children).then(() => {
      running = false;
    });
    while (running) {
      for (const entry of entries(dir)) {
        let bytes: Buffer;
        try {
          bytes = readFileSync(join(dir, entry));
        } catch {
          continue; // between a rename and the next: fine
        }
        reads++;
        if (bytes.length < 44 || Number(bytes.readBigUInt64LE(4)) !== bytes.length - 44) torn++;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.deepEqual(await Promise.all(children), [0, 0]);
    assert.ok(reads > 0, 'the entry was read while being written');
    assert.equal(torn, 0, `${torn} of ${reads} reads saw a partly written entry`);
    assert.deepEqual(
      readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.tmp')),
      [],
      'no temporary file left behind',
    );
  });
});

describe('stableHash', () => {
  it('is the same for equal content and differs where JSON would merge values', () => {
    assert.equal(stableHash({ a: 1, b: { c: [1, 2] } }), stableHash({ b: { c: [1, 2] }, a: 1 }));
    const distinct = [0, -0, Number.NaN, null, undefined, '0', 0n, [0], { 0: 0 }, [[]], [undefined], {}, []];
    assert.equal(new Set(distinct.map(stableHash)).size, distinct.length);
    assert.notEqual(stableHash(['ab']), stableHash(['a', 'b']));
    assert.equal(
      stableHash(
        new Map([
          [1, 2],
          [3, 4],
        ]),
      ),
      stableHash(
        new Map([
          [3, 4],
          [1, 2],
        ]),
      ),
    );
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    assert.throws(() => stableHash(cycle), /contains itself/);
  });
});
