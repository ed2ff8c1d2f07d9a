/**
 * A task whose future has settled as timed out (or aborted) runs on for `abortGracePeriod`; in
 * that window it must take nothing: not a lock, a permit or an item that the main thread makes
 * available then. Each case runs 20 times: the race is between the pool's stop and the wake-up.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  Barrier,
  Condition,
  Event,
  Lock,
  Queue,
  Semaphore,
  SharedValue,
  ThreadPoolExecutor,
  TimeoutError,
} from 'skein';
import {
  setEvent,
  takeOneItem,
  waitAtBarrier,
  waitForLockAndKeepIt,
  waitForLockAsyncAndKeepIt,
  waitForLockThenRelease,
  waitForPermitAndKeepIt,
  waitInWithPermitAndKeepIt,
  waitOnConditionAndKeepLock,
} from '../fixtures/sync-tasks.ts';
import { rejection, sleep } from '../helpers.ts';

const RUNS = 20;
/** Long enough that a task blocked in a wait is surely asleep when it times out. */
const TIMEOUT_MS = 150;
/** The window in which the stopped task still runs; the main makes the resource available inside it. */
const GRACE_MS = 500;
/**
 * How long the main leaves the stopped task to take what it made available before looking (a
 * woken thread takes it within microseconds): looking at once, the main could win the race.
 */
const LOOK_AFTER_MS = 100;

describe('a task the pool stopped takes nothing during its grace period', () => {
  let pool: ThreadPoolExecutor;
  before(() => {
    pool = new ThreadPoolExecutor({ maxWorkers: 1, abortGracePeriod: GRACE_MS });
  });
  // Loads the fixture module in the worker (a new one if a failed case left its worker to be
  // killed), so that each task below starts at once.
  beforeEach(() => pool.submit(setEvent, new Event()));
  after(() => pool.shutdown());

  /** Submits `task` with a timeout and checks it timed out while it was waiting. */
  async function timedOutWhileWaiting(submit: (waiting: Event) => PromiseLike<unknown>): Promise<void> {
    const waiting = new Event();
    const error = await rejection(submit(waiting));
    assert.ok(error instanceof TimeoutError, `expected TimeoutError, got ${String(error)}`);
    assert.equal(waiting.isSet(), true, 'the task had not reached its wait when it timed out');
  }

  for (const [how, fn] of [
    ['acquireSync', waitForLockAndKeepIt],
    ['async acquire', waitForLockAsyncAndKeepIt],
  ] as const) {
    it(`a Lock released by the main in that window is not taken (${how}), ${RUNS} times`, async () => {
      for (let run = 1; run <= RUNS; run++) {
        const lock = new Lock();
        await lock.acquire();
        await timedOutWhileWaiting((waiting) => pool.submitWith({ timeout: TIMEOUT_MS }, fn, lock, waiting));
        lock.release();
        await sleep(LOOK_AFTER_MS);
        // Taken by the stopped task, it would be held until its worker is killed, then broken.
        assert.equal(lock.locked, false, `run ${run}: the stopped task took the lock`);
        assert.equal(await lock.acquire({ timeout: 3 * GRACE_MS }), true, `run ${run}: the lock was not free`);
        assert.equal(lock.broken, false, `run ${run}`);
        lock.release();
      }
    });
  }

  it(`a Semaphore permit released in that window is not taken, ${RUNS} times`, async () => {
    for (let run = 1; run <= RUNS; run++) {
      const semaphore = new Semaphore(0);
      await timedOutWhileWaiting((waiting) =>
        pool.submitWith({ timeout: TIMEOUT_MS }, waitForPermitAndKeepIt, semaphore, waiting),
      );
      semaphore.release();
      await sleep(LOOK_AFTER_MS);
      assert.equal(semaphore.value, 1, `run ${run}: the stopped task took the permit`);
      assert.equal(semaphore.tryAcquire(), true);
    }
  });

  it(`a Semaphore permit released in that window is not taken by a queued withPermit call, ${RUNS} times`, async () => {
    for (let run = 1; run <= RUNS; run++) {
      const semaphore = new Semaphore(0);
      await timedOutWhileWaiting((waiting) =>
        pool.submitWith({ timeout: TIMEOUT_MS }, waitInWithPermitAndKeepIt, semaphore, waiting),
      );
      semaphore.release();
      await sleep(LOOK_AFTER_MS);
      assert.equal(semaphore.value, 1, `run ${run}: the stopped task took the permit`);
      assert.equal(semaphore.tryAcquire(), true);
    }
  });

  it(`a Condition waiter notified in that window does not take its lock back, ${RUNS} times`, async () => {
    for (let run = 1; run <= RUNS; run++) {
      const cond = new Condition();
      const ready = new SharedValue('int32', 0);
      await timedOutWhileWaiting((waiting) =>
        pool.submitWith({ timeout: TIMEOUT_MS }, waitOnConditionAndKeepLock, cond, ready, waiting),
      );
      await cond.withLock(() => {
        ready.value = 1;
        cond.notifyAll();
      });
      await sleep(LOOK_AFTER_MS);
      assert.equal(cond.lock.locked, false, `run ${run}: the stopped task took the lock back`);
      assert.equal(await cond.acquire({ timeout: 3 * GRACE_MS }), true, `run ${run}: the lock was not free`);
      assert.equal(cond.lock.broken, false);
      cond.release();
    }
  });

  it(`a Queue item put in that window stays in the queue, exactly once, ${RUNS} times`, async () => {
    for (let run = 1; run <= RUNS; run++) {
      const queue = new Queue<number>();
      await timedOutWhileWaiting((waiting) => pool.submitWith({ timeout: TIMEOUT_MS }, takeOneItem, queue, waiting));
      await queue.put(run);
      await sleep(LOOK_AFTER_MS);
      assert.equal(queue.qsize(), 1, `run ${run}: the stopped task took the item`);
      assert.equal(queue.getNowait(), run);
      assert.equal(queue.qsize(), 0, `run ${run}: the item is there twice`);
    }
  });
});

describe('a wake-up the stopped task took goes on to the next sleeper', () => {
  let pool: ThreadPoolExecutor;
  before(() => {
    pool = new ThreadPoolExecutor({ maxWorkers: 2, abortGracePeriod: GRACE_MS });
  });
  // Both workers up, with the fixture module loaded (each task waits for the other at a barrier).
  beforeEach(async () => {
    const both = new Barrier(2);
    await Promise.all([pool.submit(waitAtBarrier, both, 10_000), pool.submit(waitAtBarrier, both, 10_000)]);
  });
  after(() => pool.shutdown());

  /**
   * Task `first` falls asleep, then `second`, on the same primitive; `first` times out; then
   * `makeAvailable` wakes one sleeper, the oldest: `first`, which must take nothing and pass the
   * wake-up on, or `second` sleeps for good.
   */
  async function secondGetsIt<T>(
    first: (waiting: Event) => PromiseLike<unknown>,
    second: (waiting: Event) => PromiseLike<T>,
    makeAvailable: () => Promise<void> | void,
  ): Promise<T | 'the second sleeper was never woken'> {
    const firstWaiting = new Event();
    const secondWaiting = new Event();
    const stopped = first(firstWaiting);
    assert.equal(await firstWaiting.wait({ timeout: 5000 }), true);
    await sleep(20); // past its short spin: asleep
    const live = second(secondWaiting);
    assert.equal(await secondWaiting.wait({ timeout: 5000 }), true);
    await sleep(20);
    assert.ok((await rejection(stopped)) instanceof TimeoutError);
    await makeAvailable();
    return Promise.race([live, sleep(3 * GRACE_MS).then(() => 'the second sleeper was never woken' as const)]);
  }

  it(`on a Lock, 10 times`, async () => {
    for (let run = 1; run <= 10; run++) {
      const lock = new Lock();
      await lock.acquire();
      const got = await secondGetsIt(
        (waiting) => pool.submitWith({ timeout: 3 * LOOK_AFTER_MS }, waitForLockAndKeepIt, lock, waiting),
        (waiting) => pool.submit(waitForLockThenRelease, lock, waiting),
        () => lock.release(),
      );
      assert.equal(got, true, `run ${run}`);
      assert.equal(lock.locked, false);
    }
  });

  it(`on a Queue, 10 times`, async () => {
    for (let run = 1; run <= 10; run++) {
      const queue = new Queue<number>();
      const got = await secondGetsIt(
        (waiting) => pool.submitWith({ timeout: 3 * LOOK_AFTER_MS }, takeOneItem, queue, waiting),
        (waiting) => pool.submit(takeOneItem, queue, waiting),
        () => queue.put(run),
      );
      assert.equal(got, run, `run ${run}`);
      assert.equal(queue.qsize(), 0);
    }
  });
});
