/** delayed / compute / persist / toDot on real thread and process pools. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  compute,
  Delayed,
  delayed,
  ProcessPoolExecutor,
  persist,
  shutdownDefaultExecutor,
  ThreadPoolExecutor,
} from 'skein';
import {
  add,
  busy,
  failWith,
  inc,
  later,
  recordAdd,
  recordRun,
  sumShape,
  total,
  upper,
} from '../fixtures/graph-tasks.ts';
import { rejection } from '../helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'skein-graph-'));
let files = 0;
/** A fresh file that the recording tasks append a line to per run. */
function runLog(): { file: string; runs: () => string[] } {
  const file = join(dir, `runs-${files++}.log`);
  writeFileSync(file, '');
  return { file, runs: () => readFileSync(file, 'utf8').split('\n').filter(Boolean).sort() };
}

/** The diamond: a shared input `a`, two users of it, one node joining them. */
function diamond(file: string) {
  const a = delayed(recordRun)(file, 'a', 1);
  const b = delayed(recordAdd)(file, 'b', a, 10);
  const c = delayed(recordAdd)(file, 'c', a, 100);
  const d = delayed(recordAdd)(file, 'd', b, c);
  return { a, b, c, d };
}

after(async () => {
  await shutdownDefaultExecutor();
  rmSync(dir, { recursive: true, force: true });
});

describe('delayed', () => {
  it('builds a graph without running anything', async () => {
    const { file, runs } = runLog();
    const { d } = diamond(file);
    assert.ok(d instanceof Delayed);
    assert.deepEqual(
      d.dependencies.map((n) => n.name),
      ['recordAdd', 'recordAdd'],
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(runs(), []);
    assert.equal(d.state, 'pending');
  });

  it('refuses what is not a function, saying what it takes', () => {
    assert.throws(() => delayed(42 as never), /delayed\(\) takes a function/);
  });
});

describe('compute', () => {
  it('runs a shared input once (counted in a file) and gives every target', async () => {
    const { file, runs } = runLog();
    const { b, d } = diamond(file);
    const [dv, bv] = await compute(d, b);
    assert.equal(bv, 11);
    assert.equal(dv, 11 + 101);
    assert.deepEqual(runs(), ['a', 'b', 'c', 'd']);
  });

  it('finds nodes nested in arrays and plain objects, and leaves the caller’s arguments as they were', async () => {
    const x = delayed(inc)(1);
    const list = [x, 3, delayed(add)(x, 1)];
    const shape = { a: x, list, label: 'sum' };
    const [s, t] = await compute(delayed(sumShape)(shape), delayed(total)([x, x, 5]));
    assert.equal(s, 'sum=10');
    assert.equal(t, 9);
    assert.equal(list[0], x, 'the argument array still holds the node');
  });

  it('passes a value through a long chain (fused into one task, no recursion limit)', async () => {
    let x = delayed(inc)(0);
    for (let i = 0; i < 20_000; i++) x = delayed(inc)(x);
    assert.equal(await compute(x).then(([v]) => v), 20_001);
  });

  it('awaits async tasks and keeps values that are not numbers', async () => {
    const word = delayed(upper)('skein');
    const slow = delayed(later)(5, 20);
    assert.deepEqual(await compute(word, delayed(add)(slow, slow)), ['SKEIN', 10]);
  });

  it('a failing node rejects with its error; the nodes that need it never run', async () => {
    const { file, runs } = runLog();
    const a = delayed(recordRun)(file, 'a', 1);
    const bad = delayed(failWith)('no such file', a);
    const after1 = delayed(recordAdd)(file, 'after', bad as unknown as Delayed<number>, 1);
    const after2 = delayed(recordAdd)(file, 'after2', after1, 1);
    const error = await rejection(compute(after2));
    assert.ok(error instanceof RangeError, `got ${String(error)}`);
    assert.equal(error.message, 'no such file');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(runs(), ['a']);
    assert.equal(bad.state, 'failed');
    assert.equal(after2.state, 'cancelled');
  });

  it('a failure starts nothing more, even among independent nodes', async () => {
    const { file, runs } = runLog();
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const bad = delayed(failWith)('first');
    const others = Array.from({ length: 20 }, (_, i) => delayed(recordRun)(file, `n${i}`, i));
    // One worker, one task in flight: the failing node is sent first and nothing follows it.
    await rejection(compute(bad, ...others, { executor: pool, maxInFlight: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(runs(), []);
  });

  it('runs independent nodes at the same time', async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2, minWorkers: 2 });
    // Both workers started first: a worker's start-up on a loaded machine must not look like a wait.
    for (const started = Date.now(); pool.stats.idle < 2 && Date.now() - started < 10_000; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const [a, b] = await compute(delayed(busy)(1000), delayed(busy)(1000), { executor: pool });
    assert.ok(a.start < b.end && b.start < a.end, `they did not overlap: ${JSON.stringify([a, b])}`);
    assert.notEqual(a.threadId, b.threadId);
  });

  it('runs the same graph on a process pool', async () => {
    const { file, runs } = runLog();
    await using pool = new ProcessPoolExecutor({ maxWorkers: 2 });
    const { d } = diamond(file);
    const x = delayed(inc)(1);
    const [dv, sv] = await compute(d, delayed(sumShape)({ a: x, list: [x, 2], label: 'p' }), { executor: pool });
    assert.equal(dv, 112);
    assert.equal(sv, 'p=6');
    assert.deepEqual(runs(), ['a', 'b', 'c', 'd']);
  });

  it('reports progress to a callback and ends with every node counted', async () => {
    const snapshots: { done: number; total: number | undefined }[] = [];
    const nodes = Array.from({ length: 50 }, (_, i) => delayed(inc)(i));
    await compute(delayed(total)(nodes), { progress: (p) => snapshots.push(p) });
    assert.deepEqual(snapshots.at(-1), { ...snapshots.at(-1), done: 51, total: 51 });
  });

  it('says what is wrong with its arguments', async () => {
    const error = await rejection(compute(delayed(inc)(1), 5 as never, {}));
    assert.match(String(error), /argument 1 is not a node/);
    assert.match(
      String(await rejection(compute(delayed(inc)(1), { executor: {} as never }))),
      /executor must be an Executor/,
    );
    assert.match(String(await rejection(compute(delayed(inc)(1), { maxInFlight: 0 }))), /maxInFlight/);
  });
});

describe('persist', () => {
  it('keeps values: a later compute of a graph using them does not run them again', async () => {
    const { file, runs } = runLog();
    const { a, d } = diamond(file);
    const [kept] = await persist(a);
    assert.equal(kept, a);
    assert.ok(a.persisted);
    assert.deepEqual(runs(), ['a']);
    assert.deepEqual(await compute(d), [112]);
    assert.deepEqual(await compute(d), [112]);
    assert.deepEqual(runs(), ['a', 'b', 'b', 'c', 'c', 'd', 'd']);
    a.unpersist();
    await d.compute();
    assert.equal(runs().filter((r) => r === 'a').length, 2);
  });
});

describe('toDot and toMermaid', () => {
  it('draw every node once, every edge, and the states after a compute', async () => {
    const { file } = runLog();
    const { a, b, c, d } = diamond(file);
    const before = d.toDot();
    assert.equal((before.match(/\[label=/g) ?? []).length, 4);
    for (const [from, to] of [
      [a, b],
      [a, c],
      [b, d],
      [c, d],
    ] as const) {
      assert.ok(before.includes(`n${from.id} -> n${to.id};`), before);
    }
    assert.match(before, /label="recordRun #\d+", fillcolor=white/);
    await compute(d);
    assert.equal((d.toDot().match(/fillcolor=palegreen/g) ?? []).length, 4);
    const mermaid = d.toMermaid();
    assert.ok(mermaid.startsWith('flowchart BT\n'));
    assert.ok(mermaid.includes(`n${a.id} --> n${b.id}`));
    assert.match(mermaid, /classDef done fill:palegreen/);
  });
});
