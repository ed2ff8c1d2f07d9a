/**
 * What structured clone would refuse, found before a message is sent: the check behind every
 * "argument 2 cannot be sent" error, on the main side (arguments) and in a worker (results).
 * Values that travel by handle instead of by copy (shared primitives, for a thread) are the
 * caller's business: `handle` is asked about each object first (see arguments.ts).
 */

/** What `findUncloneable` found: where, and what it is. */
export interface Uncloneable {
  readonly path: string;
  readonly what: string;
}

/**
 * Asked about each object met in the walk: `'skip'` (it travels by handle: do not look inside),
 * an Uncloneable-like refusal text, or undefined (an ordinary object: look inside).
 */
export type HandleCheck = (value: object) => 'skip' | string | undefined;

const UNCLONEABLE_CLASSES: readonly (abstract new (...args: never[]) => unknown)[] = [
  Promise,
  WeakMap,
  WeakSet,
  WeakRef,
];

/** A short description of a value for messages: `function parse`, `Socket`, `a symbol`. */
export function describeValue(value: unknown): string {
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'symbol') return value.toString();
  if (value && typeof value === 'object') return `${value.constructor?.name ?? 'object'}`;
  return typeof value;
}

/**
 * The path to the first value inside `value` that structured clone would reject (`'.cb'`,
 * `'[3].socket'`), with why; undefined if none was found. Stops looking after `budget` nodes:
 * the transport is the backstop for what a bounded walk does not reach.
 */
export function findUncloneable(
  value: unknown,
  forProcess: boolean,
  budget = 100_000,
  handle?: HandleCheck,
): Uncloneable | undefined {
  const seen = new Set<object>();
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0 && budget-- > 0) {
    const [v, path] = stack.pop() as [unknown, string];
    if (typeof v === 'function') return { path, what: `a function (${describeValue(v)})` };
    if (typeof v === 'symbol') return { path, what: 'a symbol' };
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    const verdict = handle?.(v);
    if (verdict === 'skip') continue;
    if (verdict !== undefined) return { path, what: verdict };
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Date || v instanceof RegExp) continue;
    if (v instanceof SharedArrayBuffer) {
      if (forProcess) return { path, what: 'a SharedArrayBuffer, which cannot be shared with another process' };
      continue;
    }
    for (const C of UNCLONEABLE_CLASSES) if (v instanceof C) return { path, what: `a ${C.name}` };
    if (v instanceof Map) {
      let i = 0;
      for (const [k, item] of v) {
        stack.push([k, `${path}.<key ${i}>`], [item, `${path}.get(${i})`]);
        i++;
      }
      continue;
    }
    if (v instanceof Set) {
      let i = 0;
      for (const item of v) stack.push([item, `${path}.<item ${i++}>`]);
      continue;
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
      continue;
    }
    for (const key of Object.keys(v)) stack.push([(v as Record<string, unknown>)[key], `${path}.${key}`]);
  }
  return undefined;
}
