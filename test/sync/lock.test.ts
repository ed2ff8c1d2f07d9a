import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Barrier, BrokenLockError, Event, Lock, RLock, SharedValue, ThreadPoolExecutor, TimeoutError } from 'skein';
import {
  exitHoldingLock,
  holdLockForever,
  holdRLockTwice,
  incrementAtomically,
  incrementWithLock,
  incrementWithoutLock,
  releaseLock,
} from '../fixtures/sync-tasks.ts';
import { rejection, sleep } from '../helpers.ts';

describe('Lock in one event loop', () => {
  it('is held by one at a time, and queued waiters get it first come first served', async () => {
    const lock = new Lock();
    assert.equal(await lock.acquire(), true);
    assert.equal(lock.locked, true);
    assert.equal(lock.tryAcquire(), false);
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) => lock.acquire().then(() => order.push(n)));
    await sleep(5);
    assert.deepEqual(order, []);
    for (let i = 0; i < 3; i++) {
      lock.release();
      await sleep(1);
    }
    await Promise.all(waiters);
    assert.deepEqual(order, [1, 2, 3]);
    lock.release();
    assert.equal(lock.locked, false);
  });

  it('gives up after a timeout (false) or an abort (the reason), and never strands the lock', async () => {
    const lock = new Lock();
    await lock.acquire();
    assert.equal(await lock.acquire({ timeout: 10 }), false);
    assert.equal(await lock.acquire({ timeout: 0 }), false);
    const controller = new AbortController();
    const aborted = lock.acquire({ signal: controller.signal });
    const later = lock.acquire();
    controller.abort(new Error('no longer wanted'));
    assert.equal(((await rejection(aborted)) as Error).message, 'no longer wanted');
    lock.release();
    // The lock went past the aborted waiter to the next one.
    assert.equal(await later, true);
    lock.release();
    assert.equal(lock.locked, false);
    assert.ok((await rejection(lock.acquire({ signal: AbortSignal.abort() }))) instanceof DOMException);
  });

  it('keeps mutual exclusion while waiters time out and abort at random', async () => {
    const lock = new Lock();
    let inside = 0;
    let entered = 0;
    const contender = async (seed: number) => {
      for (let i = 0; i < 200; i++) {
        const controller = new AbortController();
        const timeout = (seed + i) % 3 === 0 ? 1 : undefined;
        if ((seed * 7 + i) % 4 === 0) setTimeout(() => controller.abort(new Error('abort')), (i % 3) / 2);
        let held: boolean;
        try {
          held = await lock.acquire({ timeout, signal: controller.signal });
        } catch {
          continue;
        }
        if (!held) continue;
        inside++;
        entered++;
        assert.equal(inside, 1, 'two holders at once');
        await (i % 2 === 0 ? null : sleep(0));
        inside--;
        lock.release();
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, seed) => contender(seed)));
    assert.ok(entered > 0);
    assert.equal(lock.locked, false);
    assert.equal(lock.tryAcquire(), true, 'a permit was stranded');
  });

  it('withLock releases however the function ends', async () => {
    const lock = new Lock();
    assert.equal(await lock.withLock(() => 42), 42);
    assert.equal(((await rejection(lock.withLock(() => Promise.reject(new Error('boom'))))) as Error).message, 'boom');
    assert.equal(lock.locked, false);
    await lock.acquire();
    assert.ok((await rejection(lock.withLock(() => 1, { timeout: 5 }))) instanceof TimeoutError);
    lock.release();
  });

  it('refuses to release an unlocked lock, and to block the main thread', () => {
    const lock = new Lock();
    assert.throws(() => lock.release(), /release\(\) of an unlocked Lock/);
    assert.throws(() => lock.acquireSync(), /main thread.*Use the async method/s);
  });
});

describe('Lock across threads', () => {
  it('the seed counter: 5 threads x 10,000 locked increments end at exactly 50,000, 20 times out of 20', async () => {
    // Five workers kept for all 20 runs (examples/lock-counter.ts is the literal port, with
    // Thread); each run starts its five tasks together at a Barrier, so they contend.
    const pool = new ThreadPoolExecutor({ maxWorkers: 5, minWorkers: 5 });
    try {
      for (let run = 0; run < 20; run++) {
        const counter = new SharedValue('int32', 0);
        const lock = new Lock();
        const start = new Barrier(5);
        const tasks = Array.from({ length: 5 }, () => pool.submit(incrementWithLock, counter, lock, 10_000, start));
        await Promise.all(tasks);
        assert.equal(counter.value, 50_000, `run ${run + 1}`);
        assert.equal(lock.locked, false);
      }
    } finally {
      await pool.shutdown();
    }
  });

  it('without the lock, the same increments lose updates; atomic add() does not', async () => {
    // `counter.value += 1` is a read, then a write. Two threads that read the same value both
    // write value + 1, and one increment is lost. The Lock makes read-and-write one step; add()
    // is one atomic instruction. The threads start together (Barrier) so that they overlap.
    const pool = new ThreadPoolExecutor({ maxWorkers: 4, minWorkers: 4 });
    try {
      const racy = new SharedValue('int32', 0);
      const start = new Barrier(4);
      const done = await Promise.all(
        Array.from({ length: 4 }, () => pool.submit(incrementWithoutLock, racy, 300, start)),
      );
      const attempted = done.reduce((a, b) => a + b, 0);
      assert.ok(
        racy.value < attempted,
        `no update was lost (${racy.value} of ${attempted}): the threads never overlapped`,
      );
      const atomic = new SharedValue('int32', 0);
      const again = new Barrier(4);
      const added = await Promise.all(
        Array.from({ length: 4 }, () => pool.submit(incrementAtomically, atomic, 300, again)),
      );
      assert.equal(
        atomic.value,
        added.reduce((a, b) => a + b, 0),
      );
    } finally {
      await pool.shutdown();
    }
  });

  it('async waiters on the main thread and blocking ones in workers share one lock', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 3 });
    try {
      const counter = new SharedValue('int32', 0);
      const lock = new Lock();
      const workers = Array.from({ length: 3 }, () => pool.submit(incrementWithLock, counter, lock, 10_000));
      const main = (async () => {
        for (let i = 0; i < 10_000; i++) {
          await lock.withLock(() => {
            counter.value += 1;
          });
        }
      })();
      await Promise.all([...workers, main]);
      assert.equal(counter.value, 40_000);
      assert.equal(lock.locked, false);
    } finally {
      await pool.shutdown();
    }
  });

  it('a worker terminated while holding it breaks it: waiters get BrokenLockError, not a hang', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1, abortGracePeriod: 0 });
    try {
      const lock = new Lock();
      const held = new Event();
      // The timeout counts from the task's start, which includes loading its module (under tsx,
      // a few hundred ms in a fresh thread): long enough that the lock is surely taken first.
      const task = pool.submitWith({ timeout: 1500 }, holdLockForever, lock, held);
      assert.equal(await held.wait({ timeout: 10_000 }), true);
      const waiting = lock.acquire();
      assert.ok((await rejection(waiting)) instanceof BrokenLockError);
      assert.ok((await rejection(task)) instanceof TimeoutError);
      assert.equal(lock.broken, true);
      assert.ok((await rejection(lock.acquire())) instanceof BrokenLockError);
      assert.throws(() => lock.tryAcquire(), BrokenLockError);
    } finally {
      await pool.shutdown();
    }
  });

  it('a worker that exits while holding it breaks it too', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      const lock = new Lock();
      const task = pool.submit(exitHoldingLock, lock, 3);
      assert.match(String(await rejection(task)), /exited with code 3/);
      assert.ok((await rejection(lock.acquire())) instanceof BrokenLockError);
    } finally {
      await pool.shutdown();
    }
  });
});

describe('RLock', () => {
  it('can be taken again by the thread that holds it, and is free after as many releases', async () => {
    const lock = new RLock();
    assert.equal(lock.tryAcquire(), true);
    assert.equal(await lock.acquire(), true);
    assert.equal(lock.recursionLevel, 2);
    lock.release();
    assert.equal(lock.locked, true);
    lock.release();
    assert.equal(lock.locked, false);
    assert.throws(() => lock.release(), /unlocked RLock/);
  });

  it('only its owner may release it', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      const lock = new RLock();
      assert.equal(await pool.submit(holdRLockTwice, lock), 2);
      assert.equal(lock.locked, true);
      assert.equal(lock.recursionLevel, 0, 'the main thread does not hold it');
      assert.throws(() => lock.release(), /held by another thread/);
      // A plain Lock, unlike an RLock, may be released by any thread (as in Python).
      const plain = new Lock();
      await plain.acquire();
      await pool.submit(releaseLock, plain);
      assert.equal(plain.locked, false);
    } finally {
      await pool.shutdown();
    }
  });
});
