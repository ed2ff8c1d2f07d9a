/**
 * A worker's young-generation collection, run when it goes idle after a task that received a
 * buffer of a MiB or more (TASK_BULKY).
 *
 * Why: the copy of a typed array a task receives is freed only when the worker's garbage
 * collector sweeps the ArrayBuffer that holds it, and a lean worker allocates so little that a
 * collection can be many tasks away. Until then each new argument is fresh memory, and every page
 * of it faults on first touch: 4 MiB per task cost ~4 ms in round trip where ~1.5 ms is the copy
 * (bench/results.md, "Big data (copy)"). A minor collection (~0.1-0.5 ms on a worker's small
 * heap), after the results are sent, frees the last copy so that the next one reuses its pages.
 *
 * The collector is V8's `gc` function, which Node exposes only under `--expose-gc`: the flag is
 * set for the moment it takes to fetch the function from a new context, then unset again (as Jest
 * does for `--logHeapUsage`), so that no context made later sees a `gc` global. Where the flag is
 * on already, the global is used; if the function cannot be had, nothing is collected.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type CollectGarbage = (options?: { type?: 'minor' | 'major' }) => void;

/** undefined: not looked up yet; null: not available. */
let collector: CollectGarbage | null | undefined;

function findCollector(): CollectGarbage | null {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as CollectGarbage;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as CollectGarbage) : null;
  } catch {
    return null;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** Collects this worker's young generation (what a task's arguments were received into). */
export function collectYoungGarbage(): void {
  collector ??= findCollector();
  collector?.({ type: 'minor' });
}
