import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Barrier, BrokenBarrierError, Event, Lock, ThreadPoolExecutor, TimeoutError } from 'skein';
import { exitHoldingLock, setEvent, waitAtBarrier } from '../fixtures/sync-tasks.ts';
import { rejection, sleep } from '../helpers.ts';

describe('Barrier', () => {
  it('releases all parties together, each with its own index, and can be used again', async () => {
    let actions = 0;
    const barrier = new Barrier(3, { action: () => actions++ });
    for (let generation = 1; generation <= 3; generation++) {
      const arrived: number[] = [];
      const parties = [0, 1, 2].map(async () => {
        const index = await barrier.wait();
        arrived.push(index);
        return index;
      });
      await Promise.all(parties);
      assert.deepEqual(arrived.sort(), [0, 1, 2]);
      assert.equal(actions, generation);
    }
    assert.equal(barrier.parties, 3);
    assert.equal(barrier.nWaiting, 0);
  });

  it('with a timed-out party, breaks for everyone, across threads', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    try {
      const barrier = new Barrier(4); // a fourth party never comes
      const workers = [pool.submit(waitAtBarrier, barrier), pool.submit(waitAtBarrier, barrier)];
      while (barrier.nWaiting < 2) await sleep(5);
      assert.ok((await rejection(barrier.wait({ timeout: 20 }))) instanceof BrokenBarrierError);
      for (const worker of workers) assert.equal(((await rejection(worker)) as Error).name, 'BrokenBarrierError');
      assert.equal(barrier.broken, true);
      assert.ok((await rejection(barrier.wait())) instanceof BrokenBarrierError);
      await barrier.reset();
      assert.equal(barrier.broken, false);
      const again = [
        barrier.wait(),
        barrier.wait(),
        pool.submit(waitAtBarrier, barrier),
        pool.submit(waitAtBarrier, barrier),
      ];
      assert.deepEqual((await Promise.all(again)).sort(), [0, 1, 2, 3]);
    } finally {
      await pool.shutdown();
    }
  });

  it('abort() and an aborted party break it; a failing action breaks it', async () => {
    const barrier = new Barrier(2);
    const waiting = barrier.wait();
    await sleep(2);
    await barrier.abort();
    assert.ok((await rejection(waiting)) instanceof BrokenBarrierError);
    await barrier.reset();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('gone')), 2);
    assert.equal(((await rejection(barrier.wait({ signal: controller.signal }))) as Error).message, 'gone');
    assert.equal(barrier.broken, true);
    const failing = new Barrier(1, {
      action: () => {
        throw new Error('action failed');
      },
    });
    assert.equal(((await rejection(failing.wait())) as Error).message, 'action failed');
    assert.equal(failing.broken, true);
  });

  it('one with an action cannot go to a worker (the function cannot cross), and says what to do', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      const barrier = new Barrier(2, { action: () => {} });
      assert.throws(
        () => pool.submit(waitAtBarrier, barrier),
        /Barrier with an action cannot be shared.*wait\(\) returns 0/s,
      );
      assert.throws(() => new Barrier(0), /parties must be an integer >= 1/);
    } finally {
      await pool.shutdown();
    }
  });

  it('a party whose thread dies while waiting breaks it: no trip with 2 live parties of 3', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1, abortGracePeriod: 0 });
    try {
      await pool.submit(setEvent, new Event()); // loads the fixture module: the party arrives at once
      const barrier = new Barrier(3);
      const mainParty = barrier.wait();
      // Timed out with no grace period: its thread is terminated while it waits.
      const doomed = pool.submitWith({ timeout: 1000 }, waitAtBarrier, barrier);
      for (let i = 0; i < 200 && barrier.nWaiting < 2; i++) await sleep(5);
      assert.equal(barrier.nWaiting, 2, 'the worker party never arrived');
      assert.ok((await rejection(doomed)) instanceof TimeoutError);
      const outcome = await Promise.race([rejection(mainParty), sleep(5000).then(() => 'still waiting')]);
      assert.ok(outcome instanceof BrokenBarrierError, `the waiting party got ${String(outcome)}`);
      assert.equal(barrier.broken, true);
      // A third party is refused, not counted with the dead one.
      assert.ok((await rejection(barrier.wait({ timeout: 2000 }))) instanceof BrokenBarrierError);
      // reset() does not wait for the dead party to leave: three live parties pass again.
      await barrier.reset();
      assert.equal(barrier.broken, false);
      const round = [barrier.wait(), barrier.wait(), pool.submit(waitAtBarrier, barrier, 5000)];
      assert.deepEqual((await Promise.all(round)).sort(), [0, 1, 2]);
    } finally {
      await pool.shutdown();
    }
  });

  it('a thread that has left it may die without breaking it', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      const barrier = new Barrier(2);
      assert.deepEqual((await Promise.all([barrier.wait(), pool.submit(waitAtBarrier, barrier)])).sort(), [0, 1]);
      // That worker (it was given the barrier) exits: the pool tells the barrier, which had no party in it.
      assert.match(String(await rejection(pool.submit(exitHoldingLock, new Lock(), 3))), /exited with code 3/);
      assert.equal(barrier.broken, false);
      assert.deepEqual((await Promise.all([barrier.wait(), pool.submit(waitAtBarrier, barrier)])).sort(), [0, 1]);
    } finally {
      await pool.shutdown();
    }
  });
});
