/**
 * The cached function of examples/joblib-cache.ts. It is cached *here*, in a module, so that the
 * pool's workers import the cached version and share its folder with the main thread.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Memory } from 'skein';

export const memory = new Memory(process.env.SKEIN_EXAMPLE_CACHE ?? join(tmpdir(), 'skein-joblib-cache-example'));

/** Something slow worth keeping: ~100 ms of work per call. */
export function costly(n: number): number {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  return n * n;
}

export const cachedCostly = memory.cache(costly);
