/**
 * The worker side of graphs and `parallel`: one task that runs a *group* of calls in a row, in
 * the worker. It is submitted to a thread or process pool like any task (by reference: this
 * module's export), with the calls' function references and arguments as its data.
 *
 * A group is either a fused chain (each call uses the previous call's result: the value stays in
 * the worker and never travels back to the main thread) or a batch of independent calls (one
 * message for many tiny calls: the per-task cost is paid once per batch).
 *
 * Kept small (Node's own modules, and the pool's error serialiser): it is loaded in every worker
 * that runs a group.
 */
import { serializeError } from '../wire/errors.js';
import { loadTaskFunction } from '../wire/load-function.js';
import type { CacheSpec } from './memory.js';

/** How a worker finds a function: the pool's TaskReference shape (module + export path, or source). */
export type PlainFunctionReference =
  | { readonly kind: 'module'; readonly url: string; readonly path: readonly string[] }
  | { readonly kind: 'source'; readonly source: string };

/** A function as a group names it: plainly, or a `Memory`-cached function (wrapped in the worker). */
export type GroupFunctionReference =
  | PlainFunctionReference
  | { readonly kind: 'cached'; readonly fn: PlainFunctionReference; readonly spec: CacheSpec };

/**
 * One group of calls, flat, because the cost of sending a message grows with the number of
 * objects in it: numbers go in typed arrays (copied as one block, and skipped by the pool's
 * argument check), and the calls' arguments in one flat list.
 *
 * Call `k` runs `fns[fn[k]]` (or `fns[0]` when `fn` is 0) with the next `argc[k]` values of
 * `args`. `links` holds triples `(call, slot, position)`, in call order: before running `call`, put
 * the result of this group's call `slot` at argument `position`. `deepLinks` does the same for a
 * node inside an array or object argument: `[call, slot, path]` (keys from the argument list
 * down). `outputs` lists the calls whose results go back, in that order.
 */
export interface Group {
  readonly fns: readonly GroupFunctionReference[];
  readonly fn: Uint32Array | 0;
  readonly argc: Uint32Array;
  readonly args: Float64Array | readonly unknown[];
  readonly links: Int32Array;
  readonly deepLinks: readonly unknown[] | 0;
  /** The calls whose results go back, in order; 0: every call's. */
  readonly outputs: Uint32Array | 0;
}

/**
 * What a group gives back: the `outputs`' values (packed when all are numbers) and the ms its
 * calls took; or, when call `failedAt` threw, that error (serialised as the pool serialises task
 * errors, so it keeps its class, cause and properties) and no values. Answering instead of
 * throwing tells the caller which call failed, so it can say which nodes ran.
 */
export interface GroupResult {
  readonly values: Float64Array | unknown[];
  readonly ms: number;
  readonly failedAt?: number;
  readonly error?: unknown;
}

type Fn = (...args: unknown[]) => unknown;

const loaded = new Map<string, Fn>();

async function load(ref: GroupFunctionReference): Promise<Fn> {
  if (ref.kind === 'cached') {
    const key = `${ref.spec.identity.folder}#${ref.spec.identity.version}#${ref.spec.ignore.join(',')}`;
    let cached = loaded.get(key);
    if (!cached) {
      // Imported on first need only: most groups have no cached function.
      const { cachedFromSpec } = await import('./memory.js');
      cached = cachedFromSpec(await load(ref.fn), ref.spec) as Fn;
      loaded.set(key, cached);
    }
    return cached;
  }
  const key = ref.kind === 'module' ? `${ref.url}#${ref.path.join('.')}` : ref.source;
  const known = loaded.get(key);
  if (known) return known;
  // Loaded as a task's function is (wire/load-function.ts): this runs inside a pool worker.
  const fn = await loadTaskFunction(ref);
  loaded.set(key, fn as Fn);
  return fn as Fn;
}

function setAt(target: unknown, path: readonly (string | number)[], value: unknown): void {
  let container = target as Record<string | number, unknown>;
  for (let i = 0; i < path.length - 1; i++) container = container[path[i] as string | number] as typeof container;
  container[path[path.length - 1] as string | number] = value;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Runs a group's calls in order. A call's error stops the group (the calls after it, which may
 * depend on it, never run) and is answered with its position. A result that a later call of the
 * group needs is kept only until its last use.
 */
export async function runGraphGroup(group: Group): Promise<GroupResult> {
  const fns: Fn[] = [];
  for (const ref of group.fns) fns.push(await load(ref));
  const { fn: fnOf, argc, args, links, outputs } = group;
  const deepLinks = group.deepLinks || [];
  const count = argc.length;
  // How many times each result is still needed inside the group; outputs are kept to the end.
  const uses = new Int32Array(count);
  for (let l = 0; l < links.length; l += 3) uses[links[l + 1] as number] = (uses[links[l + 1] as number] as number) + 1;
  for (let l = 0; l < deepLinks.length; l += 3) {
    uses[deepLinks[l + 1] as number] = (uses[deepLinks[l + 1] as number] as number) + 1;
  }
  if (outputs === 0)
    uses.fill(1 << 30); // every result goes back: none is freed early
  else for (const slot of outputs) uses[slot] = (uses[slot] as number) + 1;
  const results: unknown[] = new Array(count);
  const take = (slot: number): unknown => {
    const value = results[slot];
    const left = (uses[slot] as number) - 1;
    uses[slot] = left;
    if (left === 0) results[slot] = undefined; // freed as soon as its last user has it
    return value;
  };
  const started = performance.now();
  let k = 0;
  try {
    let offset = 0;
    if (links.length === 0 && deepLinks.length === 0) {
      // Independent calls (a `parallel` batch, a wide layer of a graph): no argument list to build.
      for (; k < count; k++) {
        const fn = fns[fnOf === 0 ? 0 : (fnOf[k] as number)] as Fn;
        const n = argc[k] as number;
        let value: unknown;
        if (n === 1) value = fn(args[offset]);
        else if (n === 2) value = fn(args[offset], args[offset + 1]);
        else value = fn(...Array.prototype.slice.call(args, offset, offset + n));
        offset += n;
        if (isThenable(value)) value = await value;
        results[k] = value;
      }
      return finish(results, outputs, performance.now() - started);
    }
    let link = 0;
    let deep = 0;
    for (; k < count; k++) {
      const n = argc[k] as number;
      const callArgs: unknown[] = new Array(n);
      for (let a = 0; a < n; a++) callArgs[a] = args[offset + a];
      offset += n;
      for (; link < links.length && links[link] === k; link += 3) {
        callArgs[links[link + 2] as number] = take(links[link + 1] as number);
      }
      for (; deep < deepLinks.length && deepLinks[deep] === k; deep += 3) {
        setAt(callArgs, deepLinks[deep + 2] as (string | number)[], take(deepLinks[deep + 1] as number));
      }
      let value = (fns[fnOf === 0 ? 0 : (fnOf[k] as number)] as Fn)(...callArgs);
      if (isThenable(value)) value = await value;
      results[k] = value;
    }
  } catch (error) {
    return { values: [], ms: performance.now() - started, failedAt: k, error: serializeError(error) };
  }
  return finish(results, outputs, performance.now() - started);
}

/** The outputs' values, packed in a Float64Array when all are numbers (one block to copy back). */
function finish(results: unknown[], outputs: Uint32Array | 0, ms: number): GroupResult {
  let numbers = true;
  const count = outputs === 0 ? results.length : outputs.length;
  const values: unknown[] = outputs === 0 ? results : new Array(count);
  for (let k = 0; k < count; k++) {
    const value = outputs === 0 ? results[k] : results[outputs[k] as number];
    if (numbers && typeof value !== 'number') numbers = false;
    values[k] = value;
  }
  return { values: numbers ? new Float64Array(values as number[]) : values, ms };
}
