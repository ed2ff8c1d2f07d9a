/**
 * How errors cross every boundary (a thread, a process, Redis): one codec, one class table.
 *
 * Structured clone keeps only message and (some) names, so errors are rebuilt field by field:
 * the built-in class (`TypeError` stays a `TypeError`), `name`, `message`, `stack` (the worker's
 * frames), `cause`, `errors` (AggregateError) and own enumerable properties such as `code`.
 *
 * Classes keep their identity the way pickle keeps them, by reference:
 *   - skein's own errors (TimeoutError, BrokenLockError, ...) by name, from SKEIN_ERRORS, since
 *     both sides have skein;
 *   - a custom class exported from a module file by the URL of the module that defines it (found
 *     as task functions are, function-location.ts) and its name: the receiving side imports that
 *     module (already loaded there, in practice) and gives the error that class's prototype, so
 *     `instanceof` works (resolveErrorClasses). A class that is not exported arrives as the
 *     nearest built-in class with its `name`.
 */
import {
  BrokenExecutorError,
  CancelledError,
  ExecutorShutdownError,
  TimeoutError,
  WorkerExitedError,
} from '../futures/errors.js';
import { BrokenBarrierError, BrokenLockError, QueueEmpty, QueueFull, QueueShutDown } from '../sync/errors.js';
import { describeValue, findUncloneable } from './cloneable.js';
import { functionLocation, scriptUrl } from './function-location.js';

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

/** skein's own error classes, known by name on both sides. */
const SKEIN_ERRORS: Record<string, ErrorConstructor> = {};
const SKEIN_NAMES = new Map<Function, string>();
/** Adds error classes that keep their class across every boundary (skein's, and an entry point's own). */
export function registerErrorClasses(classes: Record<string, Function>): void {
  for (const [name, cls] of Object.entries(classes)) {
    SKEIN_ERRORS[name] = cls as ErrorConstructor;
    SKEIN_NAMES.set(cls, name);
  }
}
registerErrorClasses({
  TimeoutError,
  CancelledError,
  WorkerExitedError,
  BrokenExecutorError,
  ExecutorShutdownError,
  BrokenLockError,
  BrokenBarrierError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
});

/** Where a custom error class is defined: its module's URL and its name. */
export interface ErrorClassReference {
  readonly url: string;
  readonly name: string;
}

export interface SerializedError {
  readonly $error: true;
  /** The nearest built-in class in the error's prototype chain. */
  readonly base: string;
  /** One of skein's own classes (SKEIN_ERRORS), by name. */
  readonly skein?: string;
  /** A custom class, by reference. */
  readonly classRef?: ErrorClassReference;
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
/** A received error's class reference, until resolveErrorClasses gives it its class. */
const CLASS_REF = Symbol('skein.errorClass');

function builtinBase(error: Error): string {
  for (let proto = Object.getPrototypeOf(error); proto; proto = Object.getPrototypeOf(proto)) {
    const name = proto.constructor?.name;
    if (name && ERROR_CLASSES[name]?.prototype === proto) return name;
  }
  return 'Error';
}

const classReferences = new WeakMap<Function, ErrorClassReference | null>();

/** skein's name for the error's class, or where its custom class is defined (if in a module file). */
function classOf(error: Error): { skein?: string; classRef?: ErrorClassReference } {
  const ctor = Object.getPrototypeOf(error)?.constructor as Function | undefined;
  if (typeof ctor !== 'function' || ERROR_CLASSES[ctor.name] === ctor) return {};
  const skein = SKEIN_NAMES.get(ctor);
  if (skein) return { skein };
  let ref = classReferences.get(ctor);
  if (ref === undefined) {
    ref = null;
    try {
      const location = functionLocation(ctor);
      const url = location ? scriptUrl(location.scriptId) : '';
      if (url.startsWith('file:') && ctor.name) ref = { url, name: ctor.name };
    } catch {
      // no inspector here: the error keeps its built-in class and name
    }
    classReferences.set(ctor, ref);
  }
  return ref ? { classRef: ref } : {};
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
    ...classOf(error),
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
  const Base = (s.skein ? SKEIN_ERRORS[s.skein] : undefined) ?? ERROR_CLASSES[s.base] ?? Error;
  const error = Object.create(Base.prototype) as Error & Record<string, unknown>;
  const define = (key: string, value: unknown) =>
    Object.defineProperty(error, key, { value, writable: true, configurable: true, enumerable: false });
  define('message', s.message);
  if (s.name !== Base.prototype.name) define('name', s.name);
  define('stack', s.stack ?? `${s.name}: ${s.message}`);
  if ('cause' in s) define('cause', deserializeError(s.cause));
  if (s.errors) define('errors', s.errors.map(deserializeError));
  Object.assign(error, s.props);
  if (s.classRef) Object.defineProperty(error, CLASS_REF, { value: s.classRef, configurable: true });
  return error;
}

function cloneableOrDescribed(value: unknown): unknown {
  if (findUncloneable(value, false, 1000) === undefined) return value;
  return `[uncloneable ${describeValue(value)}]`;
}

const modules = new Map<string, Promise<Record<string, unknown> | undefined>>();

function findClass(ns: Record<string, unknown> | undefined, name: string): Function | undefined {
  if (!ns) return undefined;
  const isErrorClass = (value: unknown): value is Function =>
    typeof value === 'function' && value.name === name && value.prototype instanceof Error;
  if (isErrorClass(ns[name])) return ns[name];
  const fallback = ns.default as Record<string, unknown> | undefined;
  if (isErrorClass(fallback)) return fallback;
  if (fallback && isErrorClass(fallback[name])) return fallback[name];
  return Object.values(ns).find(isErrorClass);
}

/**
 * Gives a received error (and its causes) their custom classes, importing the modules that
 * define them (already loaded in practice, so this costs a microtask or two). Returns undefined
 * when there is nothing to resolve, so the common path stays synchronous.
 */
export function resolveErrorClasses(error: unknown): Promise<void> | undefined {
  const pending: Promise<void>[] = [];
  const visit = (e: unknown, depth: number) => {
    if (!(e instanceof Error) || depth > 16) return;
    const ref = (e as unknown as Record<symbol, ErrorClassReference | undefined>)[CLASS_REF];
    if (ref) {
      delete (e as unknown as Record<symbol, unknown>)[CLASS_REF];
      let ns = modules.get(ref.url);
      if (!ns) {
        ns = import(ref.url).then(
          (loaded: Record<string, unknown>) => loaded,
          () => undefined,
        );
        modules.set(ref.url, ns);
      }
      pending.push(
        ns.then((loaded) => {
          const cls = findClass(loaded, ref.name);
          if (cls) Object.setPrototypeOf(e, cls.prototype);
        }),
      );
    }
    if ('cause' in e) visit(e.cause, depth + 1);
    if (e instanceof AggregateError) for (const inner of e.errors) visit(inner, depth + 1);
  };
  visit(error, 0);
  return pending.length === 0 ? undefined : Promise.all(pending).then(() => undefined);
}
