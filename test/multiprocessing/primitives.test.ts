/**
 * The threading primitives passed to a Process or a pool task (api.md section 3): in a child
 * process each arrives as a proxy of the parent's object, in a worker thread as the object.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  Barrier,
  BrokenBarrierError,
  BrokenLockError,
  Condition,
  Event,
  JoinableQueue,
  LifoQueue,
  Lock,
  Pool,
  PriorityQueue,
  Process,
  Queue,
  RLock,
  Semaphore,
  SimpleQueue,
} from 'skein';
import {
  awaitEvent,
  barrierParty,
  consumeNumbers,
  getForever,
  holdLockForever,
  lockedFileIncrements,
  overfill,
  probeLimits,
  probeSignals,
  produceNumbers,
  putAndReturn,
  semaphoreSection,
  takeInOrder,
  takeLockAndExit,
  waitAtBarrierForever,
  waitOnCondition,
} from '../fixtures/mp-primitive-tasks.ts';
import { rejection } from '../helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'skein-mp-primitives-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

async function runAll(processes: Process[]): Promise<void> {
  for (const p of processes) p.start();
  for (const p of processes) await p.join(30_000);
  assert.deepEqual(
    processes.map((p) => p.exitCode),
    processes.map(() => 0),
    'every child exits by itself, with 0',
  );
}

describe('primitives passed to a Process', () => {
  it('a producer and a consumer process over one Queue: exact sum, nothing lost or duplicated', async () => {
    const queue = new Queue<number | null>();
    const results = new Queue<unknown>();
    const n = 20_000;
    await runAll([
      new Process({ target: consumeNumbers, args: [queue, results] }),
      new Process({ target: produceNumbers, args: [queue, n] }),
    ]);
    assert.deepEqual(await results.get({ timeout: 1000 }), { sum: (n * (n + 1)) / 2, count: n, distinct: n });
    assert.equal(queue.qsize(), 0);
  });

  it('a child killed while waiting in get takes nothing: the next item goes to the next getter', async () => {
    const queue = new Queue<string>();
    const waiting = new Event();
    const child = new Process({ target: getForever, args: [queue, waiting], daemon: true });
    child.start();
    assert.equal(await waiting.wait({ timeout: 20_000 }), true);
    await new Promise((resolve) => setTimeout(resolve, 200)); // its get has reached the parent
    child.kill();
    await child.join();
    await queue.put('kept');
    assert.equal(await queue.get({ timeout: 1000 }), 'kept');
  });

  it('LifoQueue and PriorityQueue keep their order across processes', async () => {
    const results = new Queue<unknown>();
    const lifo = new LifoQueue<number>();
    const priority = new PriorityQueue<number>();
    for (const n of [3, 1, 2]) {
      await lifo.put(n);
      await priority.put(n);
    }
    await runAll([new Process({ target: takeInOrder, args: [lifo, 3, results] })]);
    assert.deepEqual(await results.get({ timeout: 1000 }), [2, 1, 3]);
    await runAll([new Process({ target: takeInOrder, args: [priority, 3, results] })]);
    assert.deepEqual(await results.get({ timeout: 1000 }), [1, 2, 3]);
  });

  it('a Lock-protected read-modify-write of a file from several processes is exact', async () => {
    const path = join(scratch, 'counter');
    writeFileSync(path, '0');
    const lock = new Lock();
    await runAll(
      Array.from({ length: 3 }, () => new Process({ target: lockedFileIncrements, args: [lock, path, 40] })),
    );
    assert.equal(readFileSync(path, 'utf8'), '120');
    assert.equal(lock.locked, false);
  });

  it('an RLock excludes processes from each other too', async () => {
    const path = join(scratch, 'rcounter');
    writeFileSync(path, '0');
    const lock = new RLock();
    await runAll(
      Array.from({ length: 3 }, () => new Process({ target: lockedFileIncrements, args: [lock, path, 30] })),
    );
    assert.equal(readFileSync(path, 'utf8'), '90');
    assert.equal(lock.locked, false);
  });

  it('a child killed holding a Lock breaks it: the waiting and later acquires reject with BrokenLockError', async () => {
    const lock = new Lock();
    const ready = new Event();
    const holder = new Process({ target: holdLockForever, args: [lock, ready], daemon: true });
    holder.start();
    assert.equal(await ready.wait({ timeout: 20_000 }), true);
    const waiting = lock.acquire({ timeout: 15_000 }); // false, were it not broken
    holder.kill();
    await holder.join();
    const broken = await rejection(waiting);
    assert.ok(broken instanceof BrokenLockError);
    // The message must not blame a thread when the holder was a child process.
    assert.match(broken.message, /a thread or process died while holding it/);
    await assert.rejects(lock.acquire({ timeout: 1000 }), BrokenLockError);
  });

  it('Event: a waiting child is woken by the parent; a wait with a timeout returns false', async () => {
    const event = new Event();
    const results = new Queue<unknown>();
    const waiter = new Process({ target: awaitEvent, args: [event, results, 20_000] });
    waiter.start();
    setTimeout(() => event.set(), 300);
    await waiter.join(30_000);
    assert.equal(await results.get({ timeout: 1000 }), true);
    await runAll([new Process({ target: awaitEvent, args: [new Event(), results, 100] })]);
    assert.equal(await results.get({ timeout: 1000 }), false);
  });

  it('Semaphore(2): never more than two processes inside', async () => {
    const semaphore = new Semaphore(2);
    const log = new Queue<string>();
    await runAll(Array.from({ length: 4 }, () => new Process({ target: semaphoreSection, args: [semaphore, log] })));
    let inside = 0;
    let most = 0;
    for (let i = 0; i < 8; i++) {
      inside += (await log.get({ timeout: 1000 })) === '+' ? 1 : -1;
      most = Math.max(most, inside);
    }
    assert.equal(inside, 0);
    assert.ok(most <= 2 && most >= 1, `at most 2 inside, saw ${most}`);
    assert.equal(semaphore.value, 2);
  });

  it('Condition: a child waiting is notified by the parent', async () => {
    const condition = new Condition();
    const waiting = new Event();
    const results = new Queue<unknown>();
    const child = new Process({ target: waitOnCondition, args: [condition, waiting, results] });
    child.start();
    assert.equal(await waiting.wait({ timeout: 20_000 }), true);
    await condition.acquire(); // free only once the child's wait released it
    condition.notify();
    condition.release();
    await child.join(30_000);
    assert.equal(child.exitCode, 0);
    assert.equal(await results.get({ timeout: 1000 }), true);
  });

  it('Barrier: three processes and the parent pass it together', async () => {
    const barrier = new Barrier(4);
    const results = new Queue<number>();
    const children = Array.from({ length: 3 }, () => new Process({ target: barrierParty, args: [barrier, results] }));
    for (const p of children) p.start();
    const mine = await barrier.wait({ timeout: 20_000 });
    for (const p of children) await p.join(30_000);
    const indexes = [mine, ...(await Promise.all(children.map(() => results.get({ timeout: 1000 }))))];
    assert.deepEqual(indexes.sort(), [0, 1, 2, 3]);
  });

  it('a child killed inside a Barrier wait breaks it for the others', async () => {
    const barrier = new Barrier(3);
    const waiting = new Event();
    const child = new Process({ target: waitAtBarrierForever, args: [barrier, waiting], daemon: true });
    child.start();
    assert.equal(await waiting.wait({ timeout: 20_000 }), true);
    const mine = barrier.wait({ timeout: 15_000 });
    await new Promise((resolve) => setTimeout(resolve, 200)); // its wait has reached the parent
    child.kill();
    await child.join();
    assert.ok((await rejection(mine)) instanceof BrokenBarrierError);
    assert.equal(barrier.broken, true);
  });

  it('a bounded Queue: a put from a child waits for room, and gives up with QueueFull after its timeout', async () => {
    const queue = new Queue<number>({ maxsize: 3 });
    const results = new Queue<unknown>();
    await runAll([new Process({ target: overfill, args: [queue, results] })]);
    assert.equal(await results.get({ timeout: 1000 }), 'QueueFull');
    assert.deepEqual([queue.getNowait(), queue.getNowait(), queue.getNowait()], [0, 1, 2]);
    assert.equal(queue.qsize(), 0);
  });

  it('blocking and synchronous methods throw saying what to await; put refuses an uncloneable item; waits time out', async () => {
    const queue = new Queue<unknown>();
    const lock = new Lock();
    const results = new Queue<Record<string, string | boolean>>();
    await lock.acquire(); // the child's acquire({ timeout: 100 }) must give up
    await runAll([new Process({ target: probeLimits, args: [queue, lock, results] })]);
    lock.release();
    const report = await results.get({ timeout: 1000 });
    assert.match(String(report.getSync), /getSync\(\) cannot block in a child process.*await queue\.get\(\)/);
    assert.match(String(report.acquireSync), /acquireSync\(\) cannot block.*await lock\.acquire\(\)/);
    assert.match(String(report.qsize), /\(await queue\.state\(\)\)\.qsize/);
    assert.match(String(report.put), /^TypeError: put\(item\): the item cannot be sent.*a function/);
    assert.equal(report.get, 'QueueEmpty');
    assert.equal(report.acquire, false);
    assert.match(String(report.passOn), /proxy of the parent's Queue, which cannot be passed on/);
    assert.equal(queue.qsize(), 0, 'nothing was put');
  });

  it("a wait given up by the child's signal rejects with its reason and takes nothing", async () => {
    const queue = new Queue<string>();
    const lock = new Lock();
    const results = new Queue<unknown>();
    await lock.acquire();
    await runAll([new Process({ target: probeSignals, args: [queue, lock, results] })]);
    assert.deepEqual(await results.get({ timeout: 1000 }), { get: 'rejected gave up', acquire: 'rejected gave up' });
    lock.release();
    assert.equal(lock.tryAcquire(), true, 'the cancelled acquire left the lock free');
    lock.release();
    await queue.put('kept');
    assert.equal(queue.getNowait(), 'kept', 'the cancelled get took nothing');
  });

  it('a Condition on an RLock is refused at start, saying what to use', () => {
    const p = new Process({ target: waitOnCondition, args: [new Condition(new RLock()), new Event(), new Queue()] });
    assert.throws(() => p.start(), /Condition built on an RLock.*use a Condition on a Lock/);
  });

  it('JoinableQueue and SimpleQueue are names for Queue', () => {
    assert.equal(JoinableQueue, Queue);
    assert.equal(SimpleQueue, Queue);
  });
});

for (const backend of ['process', 'thread'] as const) {
  describe(`primitives passed to a Pool task (${backend})`, () => {
    it('a Lock-protected read-modify-write from several tasks is exact', async () => {
      const path = join(scratch, `pool-${backend}`);
      writeFileSync(path, '0');
      const lock = new Lock();
      await using pool = new Pool({ processes: 2, backend });
      await Promise.all(Array.from({ length: 3 }, () => pool.apply(lockedFileIncrements, [lock, path, 20])));
      assert.equal(readFileSync(path, 'utf8'), '60');
      assert.equal(lock.locked, false);
    });

    it("a task's puts reach the queue before its result", async () => {
      const queue = new Queue<number>();
      await using pool = new Pool({ processes: 1, backend });
      assert.equal(await pool.apply(putAndReturn, [queue, [1, 2, 3]]), 3);
      assert.deepEqual([queue.getNowait(), queue.getNowait(), queue.getNowait()], [1, 2, 3]);
    });

    it('a worker that dies holding a Lock breaks it', async () => {
      const lock = new Lock();
      await using pool = new Pool({ processes: 1, backend });
      await assert.rejects(pool.apply(takeLockAndExit, [lock]));
      await assert.rejects(lock.acquire({ timeout: 5000 }), BrokenLockError);
    });
  });
}
