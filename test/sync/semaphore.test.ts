import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedSemaphore, Semaphore, SharedValue, ThreadPoolExecutor, TimeoutError } from 'skein';
import { churnPermits } from '../fixtures/sync-tasks.ts';
import { rejection, sleep } from '../helpers.ts';

describe('Semaphore', () => {
  it('hands out its permits, then queues waiters first come first served', async () => {
    const sem = new Semaphore(2);
    assert.equal(await sem.acquire(), true);
    assert.equal(sem.tryAcquire(), true);
    assert.equal(sem.value, 0);
    assert.equal(sem.tryAcquire(), false);
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) => sem.acquire().then(() => order.push(n)));
    sem.release(2);
    await sleep(1);
    assert.deepEqual(order, [1, 2]);
    sem.release();
    await Promise.all(waiters);
    assert.deepEqual(order, [1, 2, 3]);
    assert.equal(sem.value, 0);
  });

  it('withPermit returns the permit however the function ends; a timeout is a TimeoutError', async () => {
    const sem = new Semaphore(1);
    assert.equal(await sem.withPermit(() => 'done'), 'done');
    await rejection(sem.withPermit(() => Promise.reject(new Error('boom'))));
    assert.equal(sem.value, 1);
    await sem.acquire();
    assert.ok((await rejection(sem.withPermit(() => 1, { timeout: 5 }))) instanceof TimeoutError);
    sem.release();
    assert.equal(sem.value, 1);
  });

  it('rejects bad counts', () => {
    assert.throws(() => new Semaphore(-1), /Semaphore value must be an integer from 0/);
    assert.throws(() => new Semaphore(1.5), RangeError);
    assert.throws(() => new Semaphore(1).release(0), /release\(n\) must be an integer from 1/);
    assert.throws(() => new Semaphore(1).acquireSync(), /main thread/);
  });

  it('whose waiters time out and are aborted at random, ends with exactly the permits it started with', async () => {
    // Two threads churn permits with blocking acquires while async waiters on the main thread
    // come and go: a permit handed to a waiter that had just given up would be lost (fewer at
    // the end), one returned twice would be invented (more, and more holders than permits).
    const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    try {
      for (let round = 0; round < 3; round++) {
        const sem = new Semaphore(3);
        const inside = new SharedValue('int32', 0);
        const churn = [
          pool.submit(churnPermits, sem, inside, 3, 20_000),
          pool.submit(churnPermits, sem, inside, 3, 20_000),
        ];
        let acquired = 0;
        let gaveUp = 0;
        const contender = async (seed: number) => {
          for (let i = 0; i < 300; i++) {
            const controller = new AbortController();
            const timeout = (seed + i) % 3 === 0 ? 0.5 : undefined;
            if ((seed + i) % 2 === 0) setTimeout(() => controller.abort(new Error('abort')), ((seed * i) % 5) / 2);
            try {
              if (!(await sem.acquire({ timeout, signal: controller.signal }))) {
                gaveUp++;
                continue;
              }
            } catch {
              gaveUp++;
              continue;
            }
            acquired++;
            const holders = inside.add(1) + 1;
            assert.ok(holders <= 3, `${holders} holders of a semaphore of 3`);
            await sleep(0);
            inside.add(-1);
            sem.release();
          }
        };
        await Promise.all([...churn, contender(1), contender(2), contender(3), contender(4)]);
        assert.ok(acquired > 0 && gaveUp > 0, `acquired ${acquired}, gave up ${gaveUp}: both paths must run`);
        assert.equal(sem.value, 3, `round ${round + 1}`);
      }
    } finally {
      await pool.shutdown();
    }
  });
});

describe('Semaphore.withPermit queued calls', () => {
  it('runs queued calls first come first served, never more at once than the permits, with their results and errors', async () => {
    const sem = new Semaphore(3);
    let inside = 0;
    let most = 0;
    const started: number[] = [];
    const calls = Array.from({ length: 200 }, (_, i) =>
      sem.withPermit(async () => {
        started.push(i);
        most = Math.max(most, ++inside);
        await sleep(i % 3);
        inside--;
        if (i % 10 === 9) throw new RangeError(`call ${i}`);
        return i * 2;
      }),
    );
    const settled = await Promise.allSettled(calls);
    assert.deepEqual(
      started,
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.equal(most, 3);
    settled.forEach((outcome, i) => {
      if (i % 10 === 9) assert.ok(outcome.status === 'rejected' && outcome.reason instanceof RangeError);
      else assert.deepEqual(outcome, { status: 'fulfilled', value: i * 2 });
    });
    assert.equal(sem.value, 3, 'every permit came back');
  });

  it('runs 100,000 queued synchronous calls in a loop, not nested in each other (no stack overflow)', async () => {
    const sem = new Semaphore(1);
    const results = await Promise.all(Array.from({ length: 100_000 }, (_, i) => sem.withPermit(() => i)));
    assert.equal(results.length, 100_000);
    assert.equal(results[99_999], 99_999);
    assert.equal(sem.value, 1);
  });

  it('a queued call never runs inside the release() that grants it', async () => {
    const sem = new Semaphore(1);
    await sem.acquire();
    let ran = false;
    const call = sem.withPermit(() => {
      ran = true;
    });
    sem.release();
    assert.equal(ran, false, 'it runs a microtask later');
    await call;
    assert.equal(ran, true);
  });

  it('a queued call that times out or is aborted never runs, and takes no permit', async () => {
    const sem = new Semaphore(1);
    await sem.acquire();
    let ran = 0;
    const timedOut = rejection(sem.withPermit(() => ran++, { timeout: 20 }));
    const controller = new AbortController();
    const aborted = rejection(sem.withPermit(() => ran++, { signal: controller.signal }));
    const later = sem.withPermit(() => ran++);
    controller.abort(new Error('no longer needed'));
    assert.ok((await timedOut) instanceof TimeoutError);
    assert.equal(((await aborted) as Error).message, 'no longer needed');
    sem.release();
    await later;
    assert.equal(ran, 1, 'only the call still waiting ran');
    assert.equal(sem.value, 1);
    await sem.acquire();
    assert.ok((await rejection(sem.withPermit(() => ran++, { timeout: 0 }))) instanceof TimeoutError);
    assert.ok((await rejection(sem.withPermit(() => ran++, { signal: AbortSignal.abort() }))) !== undefined);
    sem.release();
    assert.equal(ran, 1);
    assert.equal(sem.value, 1);
  });

  it('a BoundedSemaphore released by hand inside a queued call rejects that call, and the rest go on', async () => {
    const sem = new BoundedSemaphore(1);
    await sem.acquire();
    const extra = sem.withPermit(() => sem.release()); // the release after it then overflows
    sem.release();
    const error = await rejection(extra);
    assert.ok(error instanceof RangeError, String(error));
    assert.equal(sem.value, 1);
    assert.equal(await sem.withPermit(() => 'next'), 'next');
    assert.equal(sem.value, 1);
  });

  it('shares its permits with worker threads while calls are queued here (the in-loop path, then cross-thread)', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    try {
      const sem = new Semaphore(2);
      const inside = new SharedValue('int32', 0);
      // First the in-loop path alone: calls queue and are handed permits here.
      await Promise.all(Array.from({ length: 1_000 }, () => sem.withPermit(() => sleep(0))));
      // Then two threads take permits with blocking acquires while calls keep queueing here.
      const churn = [
        pool.submit(churnPermits, sem, inside, 2, 5_000),
        pool.submit(churnPermits, sem, inside, 2, 5_000),
      ];
      let ran = 0;
      const local = Array.from({ length: 2_000 }, () =>
        sem.withPermit(async () => {
          const holders = inside.add(1) + 1;
          assert.ok(holders <= 2, `${holders} holders of a semaphore of 2`);
          await sleep(0);
          inside.add(-1);
          ran++;
        }),
      );
      await Promise.all([...churn, ...local]);
      assert.equal(ran, 2_000);
      assert.equal(sem.value, 2);
    } finally {
      await pool.shutdown();
    }
  });
});

describe('BoundedSemaphore', () => {
  it('refuses to be released more times than it was acquired', async () => {
    const sem = new BoundedSemaphore(2);
    assert.throws(() => sem.release(), /released too many times/);
    await sem.acquire();
    sem.release();
    assert.throws(() => sem.release(), RangeError);
    assert.equal(sem.value, 2);
  });
});
