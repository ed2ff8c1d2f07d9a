/**
 * Dask's `delayed`: `delayed(fn)(...args)` records a call without running it. The nodes form a
 * graph through their arguments: an argument may be another node, or an array or plain object
 * holding nodes at any depth (traversed, as Dask traverses lists and dicts). Nothing runs until
 * `compute` (scheduler.ts).
 *
 * A node is an object; its identity is the node (the same node used twice is one node, run
 * once). Building walks only the arguments (never the graph behind them), so a chain of a
 * million nodes builds in linear time without recursion.
 */
import type { TaskFunction, TaskResult } from '../futures/base.js';
import { toDot, toMermaid } from './draw.js';
import type { ComputeOptions } from './scheduler.js';
import { computeNodes, persistNodes } from './scheduler.js';

/** Where a node stands after the computes that have touched it. */
export type NodeState = 'pending' | 'running' | 'done' | 'failed' | 'cancelled';

/** Built-in objects passed as values, never searched for nodes (they travel by structured clone). */
type Opaque = Date | RegExp | Map<unknown, unknown> | Set<unknown> | ArrayBufferLike | ArrayBufferView | Error;

/**
 * What a parameter of type `T` accepts in a `delayed` call: a `T`, a node giving a `T`, or (for
 * arrays, tuples and plain objects) the same shape with nodes in place of some of its values.
 */
export type Lazy<T> =
  | T
  | Delayed<T>
  | (T extends Opaque | TaskFunction
      ? never
      : T extends readonly unknown[]
        ? { [K in keyof T]: Lazy<T[K]> }
        : T extends object
          ? { [K in keyof T]: Lazy<T[K]> }
          : never);

/** The parameters of `fn`, each accepting nodes as `Lazy` says. */
export type LazyParameters<P extends readonly unknown[]> = { [K in keyof P]: Lazy<P[K]> };

let nextId = 1;
const NO_DEPENDENCIES: readonly Delayed<unknown>[] = Object.freeze([]);

/** A recorded call: `fn(...args)` not yet run. Created by `delayed(fn)(...args)`. */
export class Delayed<R> {
  /** Unique per node, in creation order; names the node in `toDot` and errors. */
  readonly id: number;
  /** The function this node calls. */
  readonly fn: TaskFunction;
  /** The arguments as given (nodes still in them). */
  readonly args: readonly unknown[];
  /** The nodes this one needs, each once, in the order first met in `args`. */
  readonly dependencies: readonly Delayed<unknown>[];
  /** True when a node sits inside an array or object argument (not only at the top level). */
  readonly nested: boolean;
  /** Set by `compute` and `persist`; read by `toDot`/`toMermaid`. */
  state: NodeState = 'pending';
  private persistedValue: { value: R } | undefined;

  /** @internal use `delayed(fn)(...args)`. */
  constructor(fn: TaskFunction, args: readonly unknown[]) {
    this.id = nextId++;
    this.fn = fn;
    this.args = args;
    // The common case (a few arguments, nodes only at the top level, or none) allocates at most
    // one small array: `parallel` over a million calls makes a million nodes.
    let deps: Delayed<unknown>[] | undefined;
    let found: Set<Delayed<unknown>> | undefined;
    let nested = false;
    for (const arg of args) {
      if (arg instanceof Delayed) {
        if (found) found.add(arg);
        else if (!deps) deps = [arg];
        else if (!deps.includes(arg)) deps.push(arg);
      } else if (arg !== null && typeof arg === 'object') {
        found ??= new Set(deps);
        if (collectNested(arg, found, new Set())) nested = true;
      }
    }
    this.dependencies = found && found.size > 0 ? [...found] : (deps ?? NO_DEPENDENCIES);
    this.nested = nested;
  }

  /** The function's name, or `anonymous`. */
  get name(): string {
    return this.fn.name || 'anonymous';
  }

  /** True once `persist` has kept this node's value: later computes use it instead of running it. */
  get persisted(): boolean {
    return this.persistedValue !== undefined;
  }

  /** @internal the kept value (undefined if not persisted). */
  persistedResult(): { value: R } | undefined {
    return this.persistedValue;
  }

  /** @internal called by persist. */
  keep(value: R): void {
    this.persistedValue = { value };
  }

  /** Drops a persisted value: the next compute runs the node again. */
  unpersist(): void {
    this.persistedValue = undefined;
    if (this.state === 'done') this.state = 'pending';
  }

  /** Runs the graph behind this node and resolves its value: `compute(node, options)`. */
  async compute(options: ComputeOptions = {}): Promise<R> {
    const [value] = await computeNodes([this], options);
    return value as R;
  }

  /** Runs this node (if not persisted yet) and keeps its value for later computes. */
  async persist(options: ComputeOptions = {}): Promise<this> {
    await persistNodes([this], options);
    return this;
  }

  /** The graph behind this node in Graphviz DOT: one box per call, edges to dependents, colours by state. */
  toDot(): string {
    return toDot([this]);
  }

  /** The same as a Mermaid flowchart (renders in GitHub markdown). */
  toMermaid(): string {
    return toMermaid([this]);
  }

  /** `Delayed(name#id)`, for logs and error messages. */
  toString(): string {
    return `Delayed(${this.name}#${this.id})`;
  }
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Adds the nodes inside arrays / plain objects in `value`; true if there were any. */
function collectNested(value: unknown, into: Set<Delayed<unknown>>, seen: Set<object>): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (value instanceof Delayed) {
    into.add(value);
    return true;
  }
  if (seen.has(value)) return false; // a cycle in plain data: structured clone handles it; no node there
  let found = false;
  if (Array.isArray(value)) {
    seen.add(value);
    for (const item of value) if (collectNested(item, into, seen)) found = true;
  } else if (isPlainObject(value)) {
    seen.add(value);
    for (const key of Object.keys(value)) {
      if (collectNested((value as Record<string, unknown>)[key], into, seen)) found = true;
    }
  }
  return found;
}

/**
 * Rebuilds `value` with every node replaced by `replace(node, path)`, copying only arrays and
 * plain objects (never mutating the caller's). `path` is the keys from the argument list down.
 */
export function substituteNodes(
  value: unknown,
  path: (string | number)[],
  replace: (node: Delayed<unknown>, path: (string | number)[]) => unknown,
): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Delayed) return replace(value, path);
  if (Array.isArray(value)) return value.map((item, i) => substituteNodes(item, [...path, i], replace));
  if (!isPlainObject(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    copy[key] = substituteNodes((value as Record<string, unknown>)[key], [...path, key], replace);
  }
  return copy;
}

/**
 * `delayed(fn)` gives a function with `fn`'s parameters (each may also be a node, or hold nodes)
 * that records the call: `delayed(add)(delayed(inc)(1), 2)` is a graph of two nodes. `fn` is a
 * task function as `executor.submit` takes it: exported from a module, or self-contained.
 */
export function delayed<F extends TaskFunction>(
  fn: F,
): (...args: LazyParameters<Parameters<F>>) => Delayed<TaskResult<F>> {
  if (typeof fn !== 'function') {
    throw new TypeError(
      `delayed() takes a function (an export of a module, or a self-contained arrow), got ${fn === null ? 'null' : typeof fn}`,
    );
  }
  return (...args) => new Delayed<TaskResult<F>>(fn, args);
}
