/**
 * Compile-time contract of Pool and Process: `npm test` type-checks this file, so each
 * `@ts-expect-error` must really be an error and each inferred type must match exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AsyncResult, type MapIterator, Pool, Process } from 'skein';
import { add, returnNothing, square, workerId } from '../fixtures/mp-tasks.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T>(_value: T, _check: true): void {}

/** Never called: only compiled. Each line must be a type error. */
export function wrongCallsAreCompileErrors(pool: Pool): void {
  // @ts-expect-error the items must match the function's parameter
  void pool.map(square, ['a']);
  // @ts-expect-error starmap's tuples must match the parameters
  void pool.starmap(add, [[1, 'two']]);
  // @ts-expect-error apply needs the arguments of a function that takes some
  void pool.apply(add);
  // @ts-expect-error apply's arguments must match
  void pool.apply(add, [1]);
  // @ts-expect-error the callback receives the result type
  pool.applyAsync(square, [2], { callback: (value: string) => value });
  // @ts-expect-error args must match the target
  new Process({ target: square, args: ['x'] });
}

describe('Pool and Process types', () => {
  it('infer results', async () => {
    await using pool = new Pool({ processes: 1, backend: 'thread' });
    const all = pool.map(square, [1, 2]);
    expectType<Equal<typeof all, Promise<number[]>>>(true, true);
    const pairs = pool.starmap(add, [[1, 2]]);
    expectType<Equal<typeof pairs, Promise<number[]>>>(true, true);
    const lazy = pool.imap(square, [3]);
    expectType<Equal<typeof lazy, MapIterator<number>>>(true, true);
    const one = pool.applyAsync(add, [1, 2]);
    expectType<Equal<typeof one, AsyncResult<number>>>(true, true);
    const id = pool.apply(workerId);
    expectType<Equal<typeof id, Promise<string>>>(true, true);
    const p = new Process({ target: returnNothing });
    expectType<Equal<typeof p, Process<typeof returnNothing>>>(true, true);
    assert.deepEqual(await all, [1, 4]);
    assert.deepEqual(await pairs, [3]);
    assert.deepEqual(await lazy.toArray(), [9]);
    assert.equal(await one, 3);
    assert.match(await id, /^\d+:\d+$/);
  });
});
