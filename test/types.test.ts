/**
 * Compile-time contract: `npm test` runs `tsc --noEmit` over this file first, so each
 * `@ts-expect-error` below must really be an error (else tsc reports an unused directive) and
 * each inferred type must match exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Future, type MapIterator, ThreadPoolExecutor } from 'skein';
import { add, slowSquare, square } from './fixtures/tasks.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T>(_value: T, _check: true): void {}

/** Never called: only compiled. Each line must be a type error. */
export function wrongCallsAreCompileErrors(ex: ThreadPoolExecutor): void {
  // @ts-expect-error a string where a number is expected
  ex.submit(square, 'three');
  // @ts-expect-error a missing argument
  ex.submit(add, 1);
  // @ts-expect-error one argument too many
  ex.submit(square, 1, 2);
  // @ts-expect-error timeout must be a number
  ex.submitWith({ timeout: '1s' }, square, 1);
  // @ts-expect-error the items must match the function's parameter
  ex.map(square, ['a', 'b']);
  // @ts-expect-error the second iterable must match the second parameter
  ex.map(add, [1, 2], ['x']);
  // @ts-expect-error an event that does not exist
  ex.on('progres', () => {});
  // @ts-expect-error the progress listener receives stats, not a string
  ex.on('progress', (stats: string) => stats);
}

describe('submit and map types', () => {
  it('infer results and check arguments', async () => {
    await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    const f = ex.submit(add, 1, 2);
    expectType<Equal<typeof f, Future<number>>>(true, true);
    const g = ex.submit(slowSquare, 2, 1); // async task: the Future holds the awaited type
    expectType<Equal<typeof g, Future<number>>>(true, true);
    const h = ex.submit((name: string) => `Hello, ${name}`, 'Ada');
    expectType<Equal<typeof h, Future<string>>>(true, true);

    const results = ex.map(square, [1, 2, 3]);
    expectType<Equal<typeof results, MapIterator<number>>>(true, true);
    expectType<Equal<Awaited<ReturnType<typeof results.toArray>>, number[]>>(true, true);
    const zipped = ex.map(add, [1, 2], [3, 4], { chunksize: 1 });
    expectType<Equal<typeof zipped, MapIterator<number>>>(true, true);
    assert.deepEqual(await zipped.toArray(), [4, 6]);
    assert.equal(await f, 3);
    assert.equal(await g, 4);
  });
});
