/**
 * A hash of a value by its content, the same in every process and on every run: the key of a
 * `Memory` cache entry. Unlike JSON.stringify it does not depend on the order in which an
 * object's keys were added, and it tells apart what JSON merges: `undefined` / `null` / missing,
 * `-0` / `0`, `NaN`, bigints, Map, Set (by their content, in any order), typed arrays (by type and
 * bytes), Date, RegExp, ArrayBuffer. Functions and symbols have no content to hash: they are
 * refused with the path to them (use the cache's `ignore` to leave such an argument out).
 */
import { createHash, type Hash } from 'node:crypto';

/** SHA-256 of `value`'s content, hex. */
export function stableHash(value: unknown): string {
  const hash = createHash('sha256');
  feed(hash, value, '', new Set());
  return hash.digest('hex');
}

function digestOf(value: unknown, path: string, stack: Set<object>): string {
  const hash = createHash('sha256');
  feed(hash, value, path, stack);
  return hash.digest('hex');
}

// Every value is written as a tag, then its content with lengths first, so that no two different
// values can write the same bytes (`['ab']` vs `['a', 'b']`).
function feed(hash: Hash, value: unknown, path: string, stack: Set<object>): void {
  switch (typeof value) {
    case 'undefined':
      hash.update('u;');
      return;
    case 'boolean':
      hash.update(value ? 't;' : 'f;');
      return;
    case 'number':
      // Object.is tells -0 from 0; String() writes NaN and Infinity distinctly.
      hash.update(`n${Object.is(value, -0) ? '-0' : String(value)};`);
      return;
    case 'bigint':
      hash.update(`b${value.toString()};`);
      return;
    case 'string':
      hash.update(`s${value.length}:`);
      hash.update(value);
      return;
    case 'function':
    case 'symbol':
      throw new TypeError(
        `cannot hash ${path || 'the value'}: it is a ${typeof value}, which has no content to key a cache entry by; leave that argument out with the cache's ignore option`,
      );
  }
  if (value === null) {
    hash.update('z;');
    return;
  }
  const object = value as object;
  if (stack.has(object)) throw new TypeError(`cannot hash ${path || 'the value'}: it contains itself (a cycle)`);
  stack.add(object);
  try {
    feedObject(hash, object, path, stack);
  } finally {
    stack.delete(object);
  }
}

function feedObject(hash: Hash, value: object, path: string, stack: Set<object>): void {
  if (Array.isArray(value)) {
    hash.update(`a${value.length}[`);
    for (let i = 0; i < value.length; i++) feed(hash, value[i], `${path}[${i}]`, stack);
    hash.update(']');
  } else if (ArrayBuffer.isView(value)) {
    hash.update(`v${value.constructor.name}${value.byteLength}:`);
    hash.update(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  } else if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
    hash.update(`B${value.byteLength}:`);
    hash.update(new Uint8Array(value));
  } else if (value instanceof Date) {
    hash.update(`d${value.getTime()};`);
  } else if (value instanceof RegExp) {
    hash.update(`r${value.source.length}:${value.source}/${value.flags};`);
  } else if (value instanceof Map) {
    // Entries in order of their keys' hashes: insertion order does not matter.
    const entries = [...value].map(([k, v], i) => [
      digestOf(k, `${path}.<key ${i}>`, stack),
      digestOf(v, `${path}.get(${i})`, stack),
    ]);
    entries.sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1));
    hash.update(`m${entries.length}{`);
    for (const [k, v] of entries) hash.update(`${k}=${v};`);
    hash.update('}');
  } else if (value instanceof Set) {
    const items = [...value].map((item, i) => digestOf(item, `${path}.<item ${i}>`, stack)).sort();
    hash.update(`S${items.length}{${items.join(';')}}`);
  } else {
    // A plain object or a class instance: its own enumerable keys, sorted, and its class name.
    const name = Object.getPrototypeOf(value)?.constructor?.name ?? 'null';
    const keys = Object.keys(value).sort();
    hash.update(`o${name.length}:${name}${keys.length}{`);
    for (const key of keys) {
      hash.update(`${key.length}:${key}`);
      feed(hash, (value as Record<string, unknown>)[key], `${path}.${key}`, stack);
    }
    hash.update('}');
  }
}
