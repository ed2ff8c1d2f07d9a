import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LifoQueue,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  SharedValue,
  ThreadPoolExecutor,
} from 'skein';
import { consumeMixed, mixedIndex, mixedItem, produceMixed } from '../fixtures/queue-tasks.ts';
import { consume, produce } from '../fixtures/sync-tasks.ts';
import { rejection, sleep } from '../helpers.ts';

describe('Queue in one event loop', () => {
  it('is first in, first out; LifoQueue last in, first out; PriorityQueue lowest number first', async () => {
    const fifo = new Queue<number>();
    const lifo = new LifoQueue<number>();
    const byPriority = new PriorityQueue<[number, string]>();
    for (const n of [3, 1, 2]) {
      await fifo.put(n);
      lifo.putNowait(n);
    }
    for (const item of [
      [2, 'b'],
      [1, 'a'],
      [3, 'c'],
      [1, 'a2'],
    ] as [number, string][])
      await byPriority.put(item);
    assert.deepEqual([await fifo.get(), await fifo.get(), fifo.getNowait()], [3, 1, 2]);
    assert.deepEqual([lifo.getNowait(), lifo.getNowait(), lifo.getNowait()], [2, 1, 3]);
    const out: string[] = [];
    while (!byPriority.empty()) out.push(byPriority.getNowait()[1]);
    assert.deepEqual(out, ['a', 'a2', 'b', 'c'], 'equal priorities leave in the order they came');
    assert.throws(() => new PriorityQueue().putNowait({ task: 1 }), /orders items by a number/);
  });

  it('carries any structured-clone value as a copy', async () => {
    const queue = new Queue<unknown>();
    const values = [
      0,
      -0,
      Number.NaN,
      1.5e300,
      'héllo 🧶',
      '',
      true,
      false,
      null,
      undefined,
      10n ** 30n,
      { nested: { list: [1, 'two'] } },
      new Map([[1, 'one']]),
      new Set(['a']),
      new Date(0),
      new Float64Array([1, 2]),
    ];
    for (const value of values) await queue.put(value);
    for (const value of values) assert.deepStrictEqual(await queue.get(), value);
    const object = { a: 1 };
    await queue.put(object);
    assert.notEqual(await queue.get(), object);
    assert.throws(() => queue.putNowait(() => 1), /travels by structured clone.*Put plain data/s);
  });

  it('waits while empty or full, and gives up with QueueEmpty / QueueFull or the abort reason', async () => {
    const queue = new Queue<number>({ maxsize: 2 });
    assert.equal(queue.maxsize, 2);
    assert.throws(() => queue.getNowait(), QueueEmpty);
    assert.ok((await rejection(queue.get({ timeout: 5 }))) instanceof QueueEmpty);
    const getting = queue.get();
    await sleep(1);
    await queue.put(1);
    assert.equal(await getting, 1);
    queue.putNowait(2);
    queue.putNowait(3);
    assert.equal(queue.full(), true);
    assert.throws(() => queue.putNowait(4), QueueFull);
    assert.ok((await rejection(queue.put(4, { timeout: 5 }))) instanceof QueueFull);
    const controller = new AbortController();
    const putting = queue.put(5, { signal: controller.signal });
    controller.abort(new Error('stop'));
    assert.equal(((await rejection(putting)) as Error).message, 'stop');
    const waitingPut = queue.put(6);
    assert.equal(await queue.get(), 2);
    await waitingPut;
    assert.deepEqual([queue.getNowait(), queue.getNowait()], [3, 6]);
    assert.equal(queue.qsize(), 0);
  });

  it('join() resolves once taskDone() was called for every item', async () => {
    const queue = new Queue<number>();
    await queue.join();
    await queue.put(1);
    await queue.put(2);
    let joined = false;
    const joining = queue.join().then(() => {
      joined = true;
    });
    await queue.get();
    queue.taskDone();
    await sleep(5);
    assert.equal(joined, false);
    await queue.get();
    queue.taskDone();
    await joining;
    assert.throws(() => queue.taskDone(), /taskDone\(\) called more times/);
  });

  it('shutdown(): puts fail, gets drain then fail, waiters wake; immediate drops the rest', async () => {
    const queue = new Queue<number>();
    const waiting = queue.get();
    queue.shutdown();
    assert.ok((await rejection(waiting)) instanceof QueueShutDown);
    assert.ok((await rejection(queue.put(1))) instanceof QueueShutDown);
    assert.equal(queue.isShutDown, true);

    const draining = new Queue<number>();
    await draining.put(1);
    await draining.put(2);
    draining.shutdown();
    assert.equal(await draining.get(), 1);
    assert.equal(draining.getNowait(), 2);
    assert.throws(() => draining.getNowait(), QueueShutDown);

    const dropped = new Queue<number>();
    await dropped.put(1);
    await dropped.put(2);
    dropped.shutdown({ immediate: true });
    assert.equal(dropped.qsize(), 0);
    await dropped.join(); // the dropped items count as done
  });

  it('grows and compacts its memory, and waits when maxBytes is full', async () => {
    const queue = new Queue<string>();
    const big = (i: number) => `${i}:${'x'.repeat(10_000)}`;
    // 1000 items of 10 kB pass through, never more than 50 held: the 64 kB arena grows, then compacts.
    let next = 0;
    for (let i = 0; i < 1000; i++) {
      await queue.put(big(i));
      if (queue.qsize() > 50) assert.equal(await queue.get(), big(next++));
    }
    while (!queue.empty()) assert.equal(queue.getNowait(), big(next++));
    assert.equal(next, 1000);
    const small = new Queue<string>({ maxBytes: 4096 });
    small.putNowait('y'.repeat(3000));
    assert.throws(() => small.putNowait('y'.repeat(3000)), QueueFull);
    assert.throws(() => new Queue({ maxsize: -1 }), /maxsize must be an integer >= 0/);
    assert.throws(() => new Queue({ maxBytes: 2 ** 32 }), /maxBytes must be an integer from 1024 to 2\*\*32 - 1/);
  });

  it('keeps FIFO order while its ring grows wrapped around and its bytes compact, items of every kind mixed', () => {
    const queue = new Queue<unknown>();
    const item = (i: number) => (i % 4 === 0 ? `${i}:${'z'.repeat(2000)}` : mixedItem(i));
    const index = (got: unknown) =>
      typeof got === 'string' && got.includes(':') ? Number(got.split(':')[0]) : mixedIndex(got as never);
    let put = 0;
    let next = 0;
    // 700 in, 600 out: the next ones wrap around the ring's first 1,024 entries ...
    while (put < 700) queue.putNowait(item(put++));
    while (next < 600) assert.equal(index(queue.getNowait()), next++);
    // ... then 3,000 more with 100 to 2,500 held: it grows twice while wrapped, and its arena
    // (2 kB strings among inline numbers) fills with holes and compacts.
    for (let round = 0; round < 3000; round++) {
      queue.putNowait(item(put++));
      if (round % 3 === 2 || queue.qsize() > 2500) assert.equal(index(queue.getNowait()), next++);
    }
    assert.equal(queue.qsize(), put - next);
    while (!queue.empty()) assert.equal(index(queue.getNowait()), next++);
    assert.equal(next, put);
  });

  it('LifoQueue and PriorityQueue keep their order with numbers and other items mixed', () => {
    const lifo = new LifoQueue<unknown>();
    const byPriority = new PriorityQueue<unknown>();
    for (let i = 0; i < 200; i++) {
      lifo.putNowait(mixedItem(i));
      byPriority.putNowait(i % 2 === 0 ? (i * 7919) % 200 : [(i * 7919) % 200, `data ${i}`]);
    }
    for (let i = 199; i >= 0; i--) assert.deepEqual(lifo.getNowait(), mixedItem(i));
    const priorities: number[] = [];
    while (!byPriority.empty()) {
      const got = byPriority.getNowait() as number | [number, string];
      priorities.push(typeof got === 'number' ? got : got[0]);
    }
    assert.deepEqual(
      priorities,
      Array.from({ length: 200 }, (_, i) => i),
    );
  });
});

describe('Queue across threads', () => {
  it('delivers each of 100,000 items exactly once between 3 threads and the main one', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 3 });
    try {
      const total = 100_000;
      const queue = new Queue<number>({ maxsize: 100 });
      const claimed = new SharedValue('int32', 0);
      const producers = [pool.submit(produce, queue, 0, total / 2), pool.submit(produce, queue, total / 2, total)];
      const worker = pool.submit(consume, queue, claimed, total);
      const mine: number[] = [];
      while (claimed.add(1) < total) mine.push(await queue.get({ timeout: 10_000 }));
      const theirs = await worker;
      await Promise.all(producers);
      const all = [...mine, ...theirs].sort((a, b) => a - b);
      assert.equal(all.length, total);
      for (let i = 0; i < total; i++) assert.equal(all[i], i);
      assert.ok(mine.length > 0 && theirs.length > 0, 'both consumers took items');
      assert.equal(queue.qsize(), 0);
    } finally {
      await pool.shutdown();
    }
  });

  it('through a queue of maxsize 1, 2 producers and 2 consumers hand over 20,000 items: no wake-up lost', async () => {
    // Every put fills it and every get empties it: each side sleeps and is woken over and over.
    const pool = new ThreadPoolExecutor({ maxWorkers: 4 });
    try {
      const total = 20_000;
      const queue = new Queue<number>({ maxsize: 1 });
      const claimed = new SharedValue('int32', 0);
      const producers = [pool.submit(produce, queue, 0, total / 2), pool.submit(produce, queue, total / 2, total)];
      const consumers = [pool.submit(consume, queue, claimed, total), pool.submit(consume, queue, claimed, total)];
      const all = (await Promise.all(consumers)).flat().sort((a, b) => a - b);
      await Promise.all(producers);
      assert.deepEqual(
        all,
        Array.from({ length: total }, (_, i) => i),
      );
    } finally {
      await pool.shutdown();
    }
  });

  it('an unbounded queue grows while threads put and take numbers, strings and objects: each once, in order per producer', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 3 });
    try {
      const total = 60_000;
      const queue = new Queue<unknown>();
      const claimed = new SharedValue('int32', 0);
      const producers = [
        pool.submit(produceMixed, queue, 0, total / 2),
        pool.submit(produceMixed, queue, total / 2, total),
      ];
      const takers = await Promise.all([
        pool.submit(consumeMixed, queue, claimed, total),
        (async () => {
          const mine: number[] = [];
          while (claimed.add(1) < total) mine.push(mixedIndex((await queue.get({ timeout: 10_000 })) as never));
          return mine;
        })(),
      ]);
      await Promise.all(producers);
      for (const taken of takers) {
        // FIFO: what one consumer took of one producer's items came in the order they were put.
        for (const [from, to] of [
          [0, total / 2],
          [total / 2, total],
        ] as const) {
          const fromThat = taken.filter((i) => i >= from && i < to);
          assert.deepEqual(
            fromThat,
            [...fromThat].sort((a, b) => a - b),
          );
        }
      }
      const all = takers.flat().sort((a, b) => a - b);
      assert.deepEqual(
        all,
        Array.from({ length: total }, (_, i) => i),
      );
      assert.equal(queue.qsize(), 0);
    } finally {
      await pool.shutdown();
    }
  });
});
