/**
 * How values and errors cross the worker boundary.
 *
 * Values go by structured clone. We check arguments at `submit` so that a function or a socket
 * among them is reported there, with its position, instead of failing a whole batch later.
 *
 * Errors are rebuilt field by field, because structured clone keeps only message and (some)
 * names: we keep the built-in class (`TypeError` stays a `TypeError`), `name`, `message`,
 * `stack` (the worker's frames), `cause`, `errors` (AggregateError) and own enumerable
 * properties such as `code`.
 */

import { SharedPrimitive } from '../sync/shared-memory.js';

const ERROR_CLASSES: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError: AggregateError as unknown as ErrorConstructor,
};

export interface SerializedError {
  readonly $error: true;
  /** The nearest built-in class in the error's prototype chain. */
  readonly base: string;
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly cause?: unknown;
  readonly errors?: unknown[];
  readonly props: Record<string, unknown>;
}

/** A thrown value that is not an Error, wrapped so it is not mistaken for a result. */
interface SerializedThrow {
  readonly $thrown: unknown;
}

const SKIPPED_PROPS = new Set(['name', 'message', 'stack', 'cause', 'errors']);

function builtinBase(error: Error): string {
  for (let proto = Object.getPrototypeOf(error); proto; proto = Object.getPrototypeOf(proto)) {
    const name = proto.constructor?.name;
    if (name && ERROR_CLASSES[name]?.prototype === proto) return name;
  }
  return 'Error';
}

/**
 * Worker side: an error (or any thrown value) into something structured clone keeps intact.
 * It never throws: a thrown value is hostile input (a getter that throws, a Proxy whose traps
 * throw), and a serializer that threw would take the worker, and the innocent tasks queued in
 * it, down. What cannot be read is replaced by a note saying so.
 */
export function serializeError(error: unknown, depth = 0): SerializedError | SerializedThrow {
  try {
    return serializeReadable(error, depth);
  } catch (failure) {
    return unreadableError(error, failure);
  }
}

function serializeReadable(error: unknown, depth: number): SerializedError | SerializedThrow {
  if (!(error instanceof Error)) return { $thrown: cloneableOrDescribed(error) };
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    if (SKIPPED_PROPS.has(key)) continue;
    props[key] = readOr(
      () => cloneableOrDescribed((error as unknown as Record<string, unknown>)[key]),
      (why) => `[unreadable: ${why}]`,
    );
  }
  const message = readOr(
    () => String(error.message),
    (why) => `[the error's message could not be read: ${why}]`,
  );
  const name = readOr(
    () => String(error.name),
    () => 'Error',
  );
  const out: { -readonly [K in keyof SerializedError]: SerializedError[K] } = {
    $error: true,
    base: builtinBase(error),
    name,
    message,
    stack: readOr(
      () => (typeof error.stack === 'string' ? error.stack : undefined),
      () => undefined,
    ),
    props,
  };
  // Depth guard: a cause chain that loops back on itself must not recurse forever.
  if (
    depth < 16 &&
    readOr(
      () => 'cause' in error,
      () => false,
    )
  ) {
    out.cause = serializeError(
      readOr(
        () => error.cause,
        (why) => `[unreadable cause: ${why}]`,
      ),
      depth + 1,
    );
  }
  if (error instanceof AggregateError && depth < 16) {
    out.errors = readOr(
      () => Array.from(error.errors, (e) => serializeError(e, depth + 1)),
      () => [],
    );
  }
  return out;
}

/** `read()`, or `fallback(why)` if reading throws. */
function readOr<T>(read: () => T, fallback: (why: string) => T): T {
  try {
    return read();
  } catch (failure) {
    return fallback(describeFailure(failure));
  }
}

function describeFailure(failure: unknown): string {
  try {
    return failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure);
  } catch {
    return 'an unreadable value';
  }
}

/** The last resort: an Error that says the thrown value could not be read, and why. */
function unreadableError(error: unknown, failure: unknown): SerializedError {
  const kind = readOr(
    () => (error === null ? 'null' : typeof error),
    () => 'value',
  );
  const message = `a thrown ${kind} could not be read to be sent back from the worker (${describeFailure(failure)})`;
  return { $error: true, base: 'Error', name: 'Error', message, stack: `Error: ${message}`, props: {} };
}

/** Main side: the inverse of `serializeError`. */
export function deserializeError(data: unknown): unknown {
  if (data === null || typeof data !== 'object') return data;
  if ('$thrown' in data) return (data as SerializedThrow).$thrown;
  if (!('$error' in data)) return data;
  const s = data as SerializedError;
  const Base = ERROR_CLASSES[s.base] ?? Error;
  const error = Object.create(Base.prototype) as Error & Record<string, unknown>;
  const define = (key: string, value: unknown) =>
    Object.defineProperty(error, key, { value, writable: true, configurable: true, enumerable: false });
  define('message', s.message);
  if (s.name !== Base.prototype.name) define('name', s.name);
  define('stack', s.stack ?? `${s.name}: ${s.message}`);
  if ('cause' in s) define('cause', deserializeError(s.cause));
  if (s.errors) define('errors', s.errors.map(deserializeError));
  Object.assign(error, s.props);
  return error;
}

function cloneableOrDescribed(value: unknown): unknown {
  if (findUncloneable(value, false, 1000) === undefined) return value;
  return `[uncloneable ${describe(value)}]`;
}

function describe(value: unknown): string {
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'symbol') return value.toString();
  if (value && typeof value === 'object') return `${value.constructor?.name ?? 'object'}`;
  return typeof value;
}

const UNCLONEABLE_CLASSES: readonly (abstract new (...args: never[]) => unknown)[] = [
  Promise,
  WeakMap,
  WeakSet,
  WeakRef,
];

/**
 * The path to the first value inside `value` that structured clone would reject (`'.cb'`,
 * `'[3].socket'`), with why; undefined if none was found. Stops looking after `budget` nodes:
 * the transport is the backstop for what a bounded walk does not reach.
 */
export function findUncloneable(
  value: unknown,
  forProcess: boolean,
  budget = 100_000,
): { path: string; what: string } | undefined {
  const seen = new Set<object>();
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0 && budget-- > 0) {
    const [v, path] = stack.pop() as [unknown, string];
    if (typeof v === 'function') return { path, what: `a function (${describe(v)})` };
    if (typeof v === 'symbol') return { path, what: 'a symbol' };
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof SharedPrimitive) {
      const kind = v.constructor.name;
      if (forProcess) {
        return {
          path,
          what: `a ${kind}, which lives in shared memory that a child process cannot see: share it with a ThreadPoolExecutor's tasks instead`,
        };
      }
      sawShared = true;
      continue;
    }
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

/** Set by findUncloneable when its walk meets a shared primitive (a thread may receive it). */
let sawShared = false;

/**
 * Throws a TypeError naming the argument position if an argument cannot travel to a worker.
 * Returns whether a shared primitive (Lock, Queue, ...) is among them, for a thread: those travel
 * as descriptors and are rebuilt in the worker over the same memory (see sync/shared-memory.ts).
 */
export function assertArgumentsCloneable(fnName: string, args: readonly unknown[], forProcess: boolean): boolean {
  if (!Array.isArray(args)) return false; // a packed chunk (Float64Array) holds only numbers
  sawShared = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    // Primitives other than symbols are the common case: skip the walk entirely.
    if (arg === null || (typeof arg !== 'object' && typeof arg !== 'function' && typeof arg !== 'symbol')) continue;
    const bad = findUncloneable(arg, forProcess);
    if (bad) {
      throw new TypeError(
        `argument ${i + 1} of ${fnName || 'the task'}(...) cannot be sent to a worker: ` +
          `args[${i}]${bad.path} is ${bad.what}. Arguments travel by structured clone; ` +
          'pass plain data, or do that part of the work inside the task.',
      );
    }
  }
  return sawShared;
}
