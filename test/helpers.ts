/** Shared by the tests: run a suite against both backends, and small timing helpers. */
import { type PoolExecutorOptions, ProcessPoolExecutor, ThreadPoolExecutor } from 'skein';

export const BACKENDS = [
  { name: 'ThreadPoolExecutor', create: (options?: PoolExecutorOptions) => new ThreadPoolExecutor(options) },
  { name: 'ProcessPoolExecutor', create: (options?: PoolExecutorOptions) => new ProcessPoolExecutor(options) },
] as const;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves what the promise rejects with; fails if it resolves. */
export async function rejection(promise: PromiseLike<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but it resolved');
}

/** An endless input that counts how many items were pulled from it: for backpressure tests. */
export function countedEndless(): { items: Iterable<number>; pulled: () => number } {
  let pulled = 0;
  function* endless() {
    for (let i = 0; ; i++) {
      pulled++;
      yield i;
    }
  }
  return { items: endless(), pulled: () => pulled };
}

/** Values that structured clone keeps but JSON would not (Map, Date, typed arrays, BigInt, Set, undefined): what a Pipe end or a proxy must carry intact. */
export const cloneSamples = (): unknown[] => [
  new Map<string, unknown>([
    ['when', new Date(86_400_000)],
    ['nested', { list: [1, 'two', null] }],
  ]),
  new Date(0),
  new Float64Array([1.5, -0, Number.NaN]),
  new BigInt64Array([2n ** 60n]),
  new Set(['a', 'b']),
  'text',
  undefined,
];
