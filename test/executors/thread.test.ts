import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Barrier, Thread } from 'skein';
import { waitAtBarrier } from '../fixtures/sync-tasks.ts';
import { fail, sleepSync, whoAmI } from '../fixtures/tasks.ts';
import { rejection } from '../helpers.ts';

describe('Thread', () => {
  it('runs its target on a thread of its own between start() and join()', async () => {
    const thread = new Thread({ target: whoAmI, name: 'worker-a' });
    assert.equal(thread.isAlive(), false);
    thread.start();
    assert.equal(thread.isAlive(), true);
    await thread.join();
    assert.equal(thread.isAlive(), false);
    assert.equal(thread.name, 'worker-a');
    assert.match(new Thread({ target: whoAmI }).name, /^Thread-\d+$/);
  });

  it('runs threads at the same time: two meet at a Barrier, which only works if both run at once', async () => {
    const barrier = new Barrier(2);
    const threads = [
      new Thread({ target: waitAtBarrier, args: [barrier, 10_000] }),
      new Thread({ target: waitAtBarrier, args: [barrier, 10_000] }),
    ];
    for (const thread of threads) thread.start();
    await Promise.all(threads.map((t) => t.join()));
    assert.equal(barrier.broken, false);
  });

  it('join rejects with what the target threw; join({ timeout }) returns with it still alive', async () => {
    const failing = new Thread({ target: fail, args: ['broken target'] });
    failing.start();
    assert.equal(((await rejection(failing.join())) as Error).message, 'broken target');
    const slow = new Thread({ target: sleepSync, args: [500] });
    slow.start();
    await slow.join({ timeout: 10 });
    assert.equal(slow.isAlive(), true);
    await slow.join();
    assert.equal(slow.isAlive(), false);
  });

  it('starts once, joins after start, and needs a function', async () => {
    const thread = new Thread({ target: whoAmI });
    await assert.rejects(thread.join(), /before start\(\)/);
    thread.start();
    assert.throws(() => thread.start(), /already started/);
    await thread.join();
    assert.throws(() => new Thread({ target: 'nope' as never }), /target must be a function/);
  });
});
