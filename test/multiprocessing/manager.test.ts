/** `Manager` (api.md section 3): objects held by the manager, used from this process and from Process children. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokenLockError, Manager, Process, ProcessPoolExecutor, QueueEmpty, SharedValue } from 'skein';
import { passOnFromChild } from '../fixtures/mp-handle-tasks.ts';
import {
  consume,
  holdLockForever,
  lockedIncrements,
  managerWork,
  produce,
  returnNothing,
} from '../fixtures/mp-tasks.ts';
import { rejection, sleep } from '../helpers.ts';

async function runAll(processes: Process[]): Promise<void> {
  for (const p of processes) p.start();
  for (const p of processes) await p.join();
  assert.deepEqual(
    processes.map((p) => p.exitCode),
    processes.map(() => 0),
  );
}

describe('Manager', () => {
  it('dict, list and Value from several processes: nothing lost', async () => {
    await using manager = await Manager.start();
    const counter = manager.Value('i', 0);
    const seen = manager.dict<number, string>();
    const log = manager.list<number>();
    const children = Array.from(
      { length: 3 },
      (_, i) => new Process({ target: managerWork, args: [counter, seen, log, 100], name: `worker-${i}` }),
    );
    await runAll(children);
    assert.equal(await counter.get(), 300);
    assert.equal(await seen.size(), 3);
    assert.deepEqual((await seen.values()).sort(), ['worker-0', 'worker-1', 'worker-2']);
    assert.deepEqual((await log.toArray()).sort(), children.map((p) => p.pid).sort());
  });

  it('a Lock-protected read-modify-write from several processes is exact', async () => {
    await using manager = await Manager.start();
    const lock = manager.Lock();
    const value = manager.Value('i', 0);
    await runAll(Array.from({ length: 3 }, () => new Process({ target: lockedIncrements, args: [lock, value, 30] })));
    assert.equal(await value.get(), 90);
    assert.equal(await lock.locked(), false);
  });

  it('a producer and a consumer process over one Queue: exact sum, nothing lost or duplicated', async () => {
    await using manager = await Manager.start();
    const queue = manager.Queue<number | null>();
    const results = manager.dict<string, number>();
    const consumer = new Process({ target: consume, args: [queue, results] });
    consumer.start(); // waits in get() before anything is put
    await sleep(200);
    await runAll([new Process({ target: produce, args: [queue, 500] })]);
    await consumer.join();
    assert.equal(consumer.exitCode, 0);
    assert.equal(await results.get('sum'), (500 * 501) / 2);
    assert.equal(await results.get('items'), 500);
    assert.equal(await queue.empty(), true);
  });

  it('a child killed holding a Lock breaks it: waiting and later acquires reject', async () => {
    await using manager = await Manager.start();
    const lock = manager.Lock();
    const holder = new Process({ target: holdLockForever, args: [lock] });
    holder.start();
    for (let i = 0; i < 100 && !(await lock.locked()); i++) await sleep(50);
    assert.equal(await lock.locked(), true);
    const waiting = lock.acquire();
    holder.kill();
    assert.ok((await rejection(waiting)) instanceof BrokenLockError);
    await assert.rejects(lock.acquire(), BrokenLockError);
    await holder.join();
  });

  it('values are copies: mutating what get returned does not change the managed one', async () => {
    await using manager = await Manager.start();
    const d = manager.dict<string, { n: number }>([['k', { n: 1 }]]);
    const got = await d.get('k');
    assert.ok(got);
    got.n = 99;
    assert.deepEqual(await d.get('k'), { n: 1 });
    const stored = { n: 2 };
    await d.set('k', stored);
    stored.n = 3;
    assert.deepEqual(await d.get('k'), { n: 2 });
  });

  it('Value.compareExchange and Array are atomic on the manager', async () => {
    await using manager = await Manager.start();
    const v = manager.Value('i', 5);
    assert.equal(await v.compareExchange(4, 10), 5);
    assert.equal(await v.compareExchange(5, 10), 5);
    assert.equal(await v.get(), 10);
    const a = manager.Array('d', 3);
    assert.deepEqual(await a.toArray(), [0, 0, 0]);
    await Promise.all(Array.from({ length: 50 }, () => a.add(1, 2)));
    assert.deepEqual(await a.toArray(), [0, 100, 0]);
    await assert.rejects(a.set(0, 'x' as never), /must be a number/);
    const ns = manager.Namespace({ x: 1 });
    await ns.set('y', 2);
    assert.deepEqual(await ns.toObject(), { x: 1, y: 2 });
  });

  it('Queue: a value that cannot be cloned is refused at put; get times out with QueueEmpty', async () => {
    await using manager = await Manager.start();
    const q = manager.Queue<unknown>();
    await assert.rejects(
      q.put({ f: () => 1 }),
      /^TypeError: queue\.put\(item\): item\.f is a function \(function f\), which cannot be cloned/,
    );
    assert.equal(await q.qsize(), 0);
    assert.ok((await rejection(q.get({ timeout: 30 }))) instanceof QueueEmpty);
    await q.put('x');
    assert.equal(await q.get(), 'x');
    await assert.rejects(q.getNowait(), QueueEmpty);
  });

  it('after shutdown, calls are refused and waits rejected', async () => {
    const manager = await Manager.start();
    const q = manager.Queue();
    const waiting = q.get();
    await manager.shutdown();
    await assert.rejects(waiting, /shut down while this call waited/);
    await assert.rejects(q.put(1), /shut down/);
  });

  it('a proxy passed on from a Process child to its own Process is refused, saying where to pass it from', async () => {
    await using manager = await Manager.start();
    const child = new Process({ target: passOnFromChild, args: [manager.dict()] });
    child.start();
    await child.join();
    assert.equal(child.exitCode, 0);
  });

  it('SharedValue passed to a process task is refused, naming manager.Value', async () => {
    await using pool = new ProcessPoolExecutor({ maxWorkers: 1 });
    assert.throws(
      () => pool.submit(returnNothing as (v: unknown) => void, new SharedValue('int32', 0)),
      /manager\.Value/,
    );
  });
});
