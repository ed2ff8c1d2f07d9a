import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Condition, Lock, RLock, SharedValue, ThreadPoolExecutor } from 'skein';
import { takeTurns } from '../fixtures/sync-tasks.ts';
import { rejection, sleep } from '../helpers.ts';
import { abortedWaits } from './aborted-waits.ts';

describe('Condition in one event loop', () => {
  it('wait releases the lock while waiting and holds it again when it returns', async () => {
    const cond = new Condition(new Lock());
    const items: number[] = [];
    const consumer = cond.withLock(async () => {
      const ready = await cond.waitFor(() => items.length >= 2);
      assert.equal(cond.lock.locked, true);
      return [ready, items.splice(0)] as const;
    });
    for (const item of [1, 2]) {
      await sleep(1);
      // The producer can take the lock: the consumer's wait released it.
      await cond.withLock(() => {
        items.push(item);
        cond.notify();
      });
    }
    assert.deepEqual(await consumer, [true, [1, 2]]);
    assert.equal(cond.lock.locked, false);
  });

  it('notify(n) wakes n waiters, oldest first; notifyAll wakes the rest', async () => {
    const cond = new Condition();
    const woken: number[] = [];
    const waiters = [1, 2, 3].map((n) =>
      cond.withLock(async () => {
        await cond.wait();
        woken.push(n);
      }),
    );
    await sleep(5);
    await cond.withLock(() => cond.notify(1));
    await sleep(20);
    assert.deepEqual(woken, [1]);
    await cond.withLock(() => cond.notifyAll());
    await Promise.all(waiters);
    assert.deepEqual(woken.sort(), [1, 2, 3]);
  });

  it('a timed-out wait returns false, an aborted one rejects; both hold the lock again', async () => {
    const cond = new Condition(new Lock());
    await cond.acquire();
    assert.equal(await cond.wait({ timeout: 10 }), false);
    assert.equal(cond.lock.locked, true);
    assert.equal(await cond.waitFor(() => 0, { timeout: 10 }), 0);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 5);
    assert.equal(((await rejection(cond.wait({ signal: controller.signal }))) as Error).message, 'stop');
    assert.equal(cond.lock.locked, true);
    cond.release();
  });

  it('needs its lock for wait and notify', async () => {
    const cond = new Condition();
    assert.throws(() => cond.notify(), /needs the condition's lock held by this thread/);
    assert.match(String(await rejection(cond.wait())), /needs the condition's lock/);
    assert.throws(() => cond.waitSync(), /main thread/);
    assert.throws(() => new Condition({} as Lock), /must be a skein Lock or RLock/);
  });

  it('over an RLock held twice, wait releases it fully and restores both levels', async () => {
    const lock = new RLock();
    const cond = new Condition(lock);
    await lock.acquire();
    await lock.acquire();
    setTimeout(() => {
      // Another thread's view is simulated by checking the lock is really free meanwhile.
      assert.equal(lock.locked, false);
      void cond.withLock(() => cond.notify());
    }, 5);
    assert.equal(await cond.wait({ timeout: 10_000 }), true);
    assert.equal(lock.recursionLevel, 2);
    lock.release();
    lock.release();
    assert.equal(lock.locked, false);
  });
});

describe('Condition across threads', () => {
  it('4 workers take 100,000 turns with no lost wake-up', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 4 });
    try {
      const cond = new Condition();
      const turn = new SharedValue('int32', 0);
      const turns = await Promise.all([0, 1, 2, 3].map((me) => pool.submit(takeTurns, cond, turn, me, 4, 100_000)));
      assert.equal(turn.value, 100_000);
      assert.deepEqual(turns, [25_000, 25_000, 25_000, 25_000]);
    } finally {
      await pool.shutdown();
    }
  });

  it('the main thread takes its turns with async waits among 3 blocking workers', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 3 });
    try {
      const cond = new Condition(new Lock());
      const turn = new SharedValue('int32', 0);
      const total = 20_000;
      const workers = [1, 2, 3].map((me) => pool.submit(takeTurns, cond, turn, me, 4, total));
      let mine = 0;
      for (;;) {
        const done = await cond.withLock(async () => {
          const ready = await cond.waitFor(() => turn.value >= total || turn.value % 4 === 0, { timeout: 5_000 });
          assert.ok(ready, `lost wake-up: the main thread waited 5 s at turn ${turn.value}`);
          if (turn.value >= total) return true;
          turn.value += 1;
          mine++;
          cond.notifyAll();
          return false;
        });
        if (done) break;
      }
      assert.deepEqual([mine, ...(await Promise.all(workers))], [5_000, 5_000, 5_000, 5_000]);
    } finally {
      await pool.shutdown();
    }
  });
});

describe('Condition waits that give up', () => {
  it('leave nothing behind: 100,000 aborted waits keep the heap flat, and the next notify is prompt', async () => {
    // Each aborted wait used to keep its Atomics.waitAsync until the next notify: +220 MB, and
    // that notify then passed itself through all of them (~600 ms) to reach the live waiter.
    const report = await abortedWaits('Condition', 100_000);
    assert.ok(report.grewMb < 16, `the heap grew ${report.grewMb.toFixed(1)} MB`);
    assert.ok((report.notifyMs as number) < 100, `the notify took ${report.notifyMs} ms to arrive`);
  });
});
