/**
 * Compile-time contract of delayed / compute / parallel / Memory: `npm test` type-checks this
 * file first, so each `@ts-expect-error` must really be an error (else tsc reports an unused
 * directive) and each inferred type must match exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CachedFunction, compute, type Delayed, delayed, Memory, parallel } from 'skein';
import { add, later, sumShape, total, upper } from '../fixtures/graph-tasks.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T>(_value: T, _check: true): void {}

/** Never called: only compiled. Each marked line must be a type error. */
export function wrongCallsAreCompileErrors(memory: Memory): void {
  // @ts-expect-error a string where a number is expected
  delayed(add)('1', 2);
  // @ts-expect-error a missing argument
  delayed(add)(1);
  // @ts-expect-error one argument too many
  delayed(upper)('a', 'b');
  // @ts-expect-error a node giving a string where a number is expected
  delayed(add)(delayed(upper)('a'), 2);
  // @ts-expect-error a node giving a string inside an array of numbers
  delayed(total)([1, delayed(upper)('a')]);
  // @ts-expect-error a node of the wrong type inside an object argument
  delayed(sumShape)({ a: 1, list: [2], label: delayed(add)(1, 2) });
  // @ts-expect-error compute takes nodes
  compute(1);
  // @ts-expect-error parallel takes delayed calls
  parallel([1, 2]);
  const cached = memory.cache(add);
  // @ts-expect-error the cached function keeps the parameters
  cached('1', 2);
}

describe('graph types', () => {
  it('infer results from the functions, through nodes, arrays and objects', async () => {
    const a = delayed(add)(1, 2);
    expectType<Equal<typeof a, Delayed<number>>>(true, true);
    const slow = delayed(later)(1, 1); // async: the node gives the awaited type
    expectType<Equal<typeof slow, Delayed<number>>>(true, true);
    const s = delayed(sumShape)({ a, list: [a, 3, slow], label: 'x' });
    const t = delayed(total)([a, 1, slow]);
    const both = await compute(s, t);
    expectType<Equal<typeof both, [string, number]>>(true, true);
    assert.deepEqual(both, ['x=10', 5]);
    const withOptions = await compute(a, { progress: false });
    expectType<Equal<typeof withOptions, [number]>>(true, true);
    const list = await parallel([delayed(upper)('a')], { nJobs: 1 });
    expectType<Equal<typeof list, string[]>>(true, true);
    const lazy = parallel([delayed(add)(1, 1)], { nJobs: 1, returnAs: 'generator' });
    expectType<Equal<typeof lazy, AsyncIterableIterator<number>>>(true, true);
    for await (const n of lazy) assert.equal(n, 2);
    const cached = new Memory('/tmp/unused').cache(add);
    expectType<Equal<typeof cached, CachedFunction<typeof add>>>(true, true);
    expectType<Equal<ReturnType<typeof cached>, Promise<number>>>(true, true);
  });
});
