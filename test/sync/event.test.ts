import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Event, ThreadPoolExecutor } from 'skein';
import { setEvent, waitForEvent } from '../fixtures/sync-tasks.ts';
import { rejection, sleep } from '../helpers.ts';

describe('Event', () => {
  it('wakes every waiter when set; waits after clear() wait for the next set()', async () => {
    const event = new Event();
    assert.equal(event.isSet(), false);
    const waiters = [event.wait(), event.wait(), event.wait({ timeout: 10_000 })];
    await sleep(2);
    event.set();
    assert.deepEqual(await Promise.all(waiters), [true, true, true]);
    assert.equal(await event.wait(), true);
    event.clear();
    assert.equal(await event.wait({ timeout: 10 }), false);
  });

  it('a set() followed at once by clear() still wakes those already waiting', async () => {
    const event = new Event();
    const waiting = event.wait();
    event.set();
    event.clear();
    assert.equal(await waiting, true);
    assert.equal(await event.wait({ timeout: 5 }), false);
  });

  it('an aborted wait rejects with the reason', async () => {
    const event = new Event();
    const controller = new AbortController();
    const waiting = event.wait({ signal: controller.signal });
    controller.abort(new Error('stop'));
    assert.equal(((await rejection(waiting)) as Error).message, 'stop');
    assert.throws(() => event.waitSync(), /main thread/);
  });

  it('crosses threads both ways', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    try {
      const toWorker = new Event();
      const waiting = pool.submit(waitForEvent, toWorker, 10_000);
      await sleep(50);
      toWorker.set();
      assert.equal(await waiting, true);
      assert.equal(await pool.submit(waitForEvent, new Event(), 20), false);
      const toMain = new Event();
      const main = toMain.wait({ timeout: 10_000 });
      await pool.submit(setEvent, toMain);
      assert.equal(await main, true);
    } finally {
      await pool.shutdown();
    }
  });
});
