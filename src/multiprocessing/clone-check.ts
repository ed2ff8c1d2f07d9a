/**
 * The one message for a value that cannot cross to another thread or process: what call, which
 * part of the value (its path, `value.a[1]`), what it is, and how to fix it. Used before a value
 * is queued for a batched send (a Manager proxy's store, a Queue's put), where a failure later
 * would surface far from its caller, and after a send failed, to say why.
 */
import { findUncloneable } from '../wire/cloneable.js';

const ADVICE =
  'pass plain data (objects, arrays, Map, Set, Date, typed arrays), not functions, symbols, Promises, ' +
  'Proxy objects or handles (sockets, ports)';

/** Whether `value` is a number, string, boolean, bigint, null or undefined: it always clones, no walk needed. */
export function isScalar(value: unknown): boolean {
  return value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol');
}

/**
 * A TypeError if `value` (argument `name` of `call`) holds something structured clone refuses,
 * else undefined. `forProcess`: it goes to another process (a SharedArrayBuffer cannot).
 */
export function uncloneableError(
  value: unknown,
  call: string,
  name: string,
  forProcess: boolean,
): TypeError | undefined {
  if (isScalar(value)) return undefined;
  const bad = findUncloneable(value, forProcess);
  if (!bad) return undefined;
  return new TypeError(
    `${call}: ${name}${bad.path} is ${bad.what}, which cannot be cloned. Values cross by structured clone: ` +
      `${ADVICE}; send what the receiver needs to rebuild them instead.`,
  );
}

/** Whether `error` is structured clone refusing a value (v8.serialize's plain Error says it too). */
export function isCloneError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'DataCloneError' || /could not be cloned/.test(error.message));
}

/**
 * The error to throw when a send failed with `error`: if structured clone refused the value, the
 * clear one (the walk finds the culprit), or `error`'s text with the same advice; any other
 * error (a closed pipe) is returned as it is.
 */
export function cloneFailure(error: unknown, value: unknown, call: string, name: string): unknown {
  if (!isCloneError(error)) return error;
  // A thread takes a SharedArrayBuffer, a process does not: look for the other culprits first.
  const found = uncloneableError(value, call, name, false) ?? uncloneableError(value, call, name, true);
  if (found) return found;
  return new TypeError(
    `${call}: ${name} cannot be cloned (${(error as Error).message}). Values cross by structured clone: ${ADVICE}.`,
  );
}
