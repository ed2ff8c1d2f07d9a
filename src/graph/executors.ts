/**
 * Which executor a graph or a `parallel` call runs on, and how tasks reach it.
 *
 * - The default executor is ONE ThreadPoolExecutor per program, created at the first call that
 *   needs it and never shut down by skein: repeated `compute` calls then pay the ~45 ms worker
 *   start-up once, as Dask's threaded scheduler keeps its pool. It cannot keep the program alive:
 *   the pool's idle workers are unref'd, and each leaves after the pool's idle timeout.
 *   `shutdownDefaultExecutor()` closes it at once (tests, or a program that wants no thread left).
 * - A local pool (threads or processes) runs *groups* (runner.ts): fused chains and batches of
 *   calls in one task. Any other Executor (a DistributedExecutor, your own) gets one `submit`
 *   per node: its workers run only the functions they serve, not skein's runner.
 */

import { PoolExecutor } from '../executors/pool.js';
import { ThreadPoolExecutor } from '../executors/thread.js';
import type { Executor, TaskFunction } from '../futures/base.js';
import { resolveTaskReference } from '../wire/task-reference.js';
import { type CachedFunction, cacheSpecOf } from './memory.js';
import type { GroupFunctionReference } from './runner.js';

let shared: ThreadPoolExecutor | undefined;

/** The program-wide default thread pool (created on first use). */
export function defaultExecutor(): ThreadPoolExecutor {
  shared ??= new ThreadPoolExecutor({ name: 'skein-graph' });
  return shared;
}

/** Shuts the default pool down (a later compute creates a new one). */
export async function shutdownDefaultExecutor(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.shutdown();
}

/** Checks that `executor` is an Executor; says what to pass instead when it is not. */
export function checkExecutor(executor: unknown, where: string): Executor {
  if (
    executor === null ||
    typeof executor !== 'object' ||
    typeof (executor as Executor).submit !== 'function' ||
    typeof (executor as Executor).shutdown !== 'function'
  ) {
    throw new TypeError(
      `${where}: executor must be an Executor (a ThreadPoolExecutor, ProcessPoolExecutor or DistributedExecutor), got ${executor === null ? 'null' : typeof executor}`,
    );
  }
  return executor as Executor;
}

/** The pool's worker count when `executor` is a local pool that can run groups; undefined otherwise. */
export function groupCapacity(executor: Executor): number | undefined {
  return executor instanceof PoolExecutor ? executor.maxWorkers : undefined;
}

/**
 * Resolves the worker-side reference of every function, at once (the first of a new ES module is
 * async). A `Memory`-cached function is named by its plain function and its cache's spec.
 */
export async function referencesOf(fns: Iterable<Function>): Promise<Map<Function, GroupFunctionReference>> {
  const refs = new Map<Function, GroupFunctionReference>();
  const pending: Promise<void>[] = [];
  for (const fn of fns) {
    if (refs.has(fn)) continue;
    const spec = cacheSpecOf(fn);
    if (spec) {
      const plain = (fn as CachedFunction<TaskFunction>).fn;
      pending.push(
        Promise.all([resolveTaskReference(plain), spec()]).then(([ref, resolvedSpec]) => {
          refs.set(fn, { kind: 'cached', fn: ref, spec: resolvedSpec });
        }),
      );
      continue;
    }
    const ref = resolveTaskReference(fn);
    if (ref instanceof Promise) pending.push(ref.then((resolved) => void refs.set(fn, resolved)));
    else refs.set(fn, ref);
  }
  await Promise.all(pending);
  return refs;
}
