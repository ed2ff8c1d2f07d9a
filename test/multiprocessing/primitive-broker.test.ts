/**
 * The parent's broker for primitives passed to children (src/multiprocessing/primitive-broker.ts),
 * driven directly: what happens to what a child's call took when the child is gone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { primitiveBroker } from '../../src/multiprocessing/primitive-broker.ts';
import { BrokenLockError } from '../../src/sync/errors.ts';
import { Lock, RLock } from '../../src/sync/lock.ts';
import { LifoQueue, Queue } from '../../src/sync/queue.ts';

/** Two made-up children (their pids are only names to the broker). */
const CHILD_A = 2_000_001;
const CHILD_B = 2_000_002;

describe('primitiveBroker', () => {
  it('an item whose get answer cannot be delivered goes back to the front of a FIFO queue, counted once', async () => {
    const queue = new Queue<string>();
    for (const item of ['a', 'b', 'c']) queue.putNowait(item);
    const { $skeinPrimitive: id } = primitiveBroker.describe(queue, 'Queue');
    const taken = primitiveBroker.call(id, 'getMany', [2, undefined], CHILD_A);
    assert.deepEqual(taken, ['a', 'b']);
    primitiveBroker.undeliverable(id, 'getMany', taken);
    assert.deepEqual([queue.getNowait(), queue.getNowait(), queue.getNowait()], ['a', 'b', 'c']);
    for (let i = 0; i < 3; i++) queue.taskDone();
    await queue.join(); // would wait forever if a put-back had been counted as a new item
    assert.throws(() => queue.taskDone(), RangeError);
  });

  it('a LifoQueue gets its items back on top, in the order they left', () => {
    const queue = new LifoQueue<number>();
    for (const item of [1, 2, 3]) queue.putNowait(item);
    const { $skeinPrimitive: id } = primitiveBroker.describe(queue, 'LifoQueue');
    const taken = primitiveBroker.call(id, 'getMany', [2, undefined], CHILD_A);
    assert.deepEqual(taken, [3, 2]);
    primitiveBroker.undeliverable(id, 'getMany', taken);
    assert.deepEqual([queue.getNowait(), queue.getNowait(), queue.getNowait()], [3, 2, 1]);
  });

  it('a Lock granted to a child that can no longer hear it is released', () => {
    const lock = new Lock();
    const { $skeinPrimitive: id } = primitiveBroker.describe(lock, 'Lock');
    assert.equal(primitiveBroker.call(id, 'acquire', [undefined], CHILD_A), true);
    assert.equal(lock.locked, true);
    primitiveBroker.undeliverable(id, 'acquire', true);
    assert.equal(lock.locked, false);
  });

  it('an RLock re-enters per child and excludes the others; a child gone holding it breaks it', async () => {
    const lock = new RLock();
    const { $skeinPrimitive: id } = primitiveBroker.describe(lock, 'RLock');
    assert.equal(primitiveBroker.call(id, 'acquire', [undefined], CHILD_A), true);
    assert.equal(primitiveBroker.call(id, 'acquire', [undefined], CHILD_A), true);
    assert.equal(await primitiveBroker.call(id, 'acquire', [50], CHILD_B), false, 'B waits, then gives up');
    const waiting = primitiveBroker.call(id, 'acquire', [undefined], CHILD_B) as Promise<boolean>;
    primitiveBroker.call(id, 'release', [], CHILD_A);
    assert.equal(lock.locked, true, 'A still holds one level');
    primitiveBroker.dropCaller(CHILD_A);
    await assert.rejects(waiting, BrokenLockError);
    assert.equal(lock.broken, true);
  });
});
