import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SharedArray, SharedValue, ThreadPoolExecutor } from 'skein';
import { fillArray } from '../fixtures/sync-tasks.ts';

describe('SharedValue', () => {
  it('holds one number of its type; add and compareExchange are atomic and return the value before', () => {
    const int = new SharedValue('int32', 5);
    assert.equal(int.add(2), 5);
    assert.equal(int.value, 7);
    assert.equal(int.compareExchange(7, 10), 7);
    assert.equal(int.compareExchange(7, 11), 10);
    assert.equal(int.value, 10);
    const float = new SharedValue('d', 0.5);
    assert.equal(float.type, 'float64');
    assert.equal(float.add(0.25), 0.5);
    assert.equal(float.compareExchange(0.75, 2), 0.75);
    assert.equal(float.value, 2);
    const nan = new SharedValue('float32', Number.NaN);
    assert.ok(Number.isNaN(nan.compareExchange(Number.NaN, 1)));
    assert.equal(nan.value, 1);
    const big = new SharedValue('bigint64', 2n ** 40n);
    assert.equal(big.add(1n), 2n ** 40n);
    assert.equal(big.value, 2n ** 40n + 1n);
    const byte = new SharedValue('uint8', 255);
    byte.add(1);
    assert.equal(byte.value, 0, 'wraps as its type does');
    assert.throws(() => new SharedValue('complex' as 'int32'), /unknown shared type "complex": use one of int8/);
  });

  it('has a lock of its own, shared with it', async () => {
    const value = new SharedValue('int32', 0);
    assert.equal(value.getLock(), value.getLock());
    await value.getLock().withLock(() => {
      value.value = value.value * 2 + 1;
    });
    assert.equal(value.value, 1);
  });
});

describe('SharedArray', () => {
  it('is a fixed-length typed array in shared memory, with atomic element updates', () => {
    const array = new SharedArray('int16', [1, 2, 3]);
    assert.equal(array.length, 3);
    assert.equal(array.add(1, 10), 2);
    array.set(2, 7);
    assert.deepEqual(array.toArray(), [1, 12, 7]);
    assert.deepEqual([...array], [1, 12, 7]);
    assert.ok(array.array instanceof Int16Array);
    assert.equal(array.compareExchange(0, 1, 5), 1);
    assert.equal(array.get(0), 5);
    assert.throws(() => array.get(3), /index 3 is out of range for a SharedArray of length 3/);
    assert.deepEqual(new SharedArray('float64', 2).toArray(), [0, 0]);
    assert.throws(() => new SharedArray('int32', -1), /length must be an integer >= 0/);
  });

  it('float adds from two threads at once lose nothing', async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    try {
      const array = new SharedArray('float64', 1000);
      await Promise.all([pool.submit(fillArray, array, 0.5), pool.submit(fillArray, array, 0.25), fillArray(array, 1)]);
      assert.ok(array.toArray().every((v) => v === 1.75));
    } finally {
      await pool.shutdown();
    }
  });
});
