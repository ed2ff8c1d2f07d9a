/**
 * What every synchronisation primitive has in common: it lives in SharedArrayBuffers, crosses to
 * a worker thread as a plain descriptor, and is rebuilt there as the same kind of object over the
 * same memory.
 *
 *   main thread                                     worker thread
 *   submit(fn, lock) ─► encodeShared(args) ─► { $skein: 'Lock', buffers } ─► reviveShared ─► Lock
 *                         (a copy of args: the user's arrays and objects are not touched)
 *
 * The local side of a primitive (its queue of async waiters, timers) stays in the thread that
 * made it; only the words in shared memory are common. A worker keeps one object per primitive,
 * so every task there that receives the same lock shares its local waiter queue.
 */

import { isMainThread, threadId } from 'node:worker_threads';
import { shownValue } from '../futures/options.js';

/** This thread's number in lock words: threadId + 1, so that 0 can mean "nobody". */
export const THIS_THREAD = threadId + 1;

export interface SharedDescriptor {
  readonly $skein: string;
  readonly buffers: readonly SharedArrayBuffer[];
  /** Kind-specific, structured-cloneable settings (a SharedValue's type, a queue's order). */
  readonly options?: unknown;
  /** Primitives this one is built on (a Condition's lock). */
  readonly parts?: readonly SharedDescriptor[];
}

export const DESCRIBE = Symbol('skein.describe');
export const THREAD_EXITED = Symbol('skein.threadExited');

/** Base of every primitive that lives in shared memory. */
export abstract class SharedPrimitive {
  /** @internal The descriptor that rebuilds this primitive in another thread. */
  abstract [DESCRIBE](): SharedDescriptor;
  /**
   * @internal Called in the thread that sent this primitive to a worker, once that worker has
   * exited: a lock it held is broken, sleepers it may have swallowed a wake-up from are woken.
   */
  abstract [THREAD_EXITED](deadThread: number): void;
}

// ---- identity: words 0 and 1 of a primitive's first buffer name it (creator thread, counter)

let counter = 0;

/** A new Int32Array over fresh shared memory, its first two words holding a process-unique id. */
export function allocateWords(words: number): Int32Array {
  const memory = new Int32Array(new SharedArrayBuffer(Math.max(words, 2) * 4));
  memory[0] = THIS_THREAD;
  memory[1] = ++counter;
  return memory;
}

function identity(kind: string, buffer: SharedArrayBuffer): string {
  const words = new Int32Array(buffer, 0, 2);
  return `${kind}:${words[0]}:${words[1]}`;
}

// ---- rebuilding in a worker

let rebuilding: unknown;

/**
 * Constructs a primitive over memory that already exists (`make` calls its constructor), so that
 * one public constructor serves both users and revivers: inside it, `rebuildingFrom()` returns
 * `state` instead of undefined, and the constructor takes that instead of allocating.
 */
export function rebuild<P>(make: () => P, state: unknown): P {
  rebuilding = state;
  try {
    return make();
  } finally {
    rebuilding = undefined;
  }
}

/** In a primitive's constructor: what `rebuild` passed, or undefined for a new primitive. */
export function rebuildingFrom<S>(): S | undefined {
  return rebuilding as S | undefined;
}

type Reviver = (descriptor: SharedDescriptor) => SharedPrimitive;
const revivers = new Map<string, Reviver>();
const revived = new Map<string, WeakRef<SharedPrimitive>>();
const forget = new FinalizationRegistry<string>((key) => {
  if (revived.get(key)?.deref() === undefined) revived.delete(key);
});

/** Each primitive module registers how to rebuild its kind from a descriptor. */
export function registerKind(kind: string, reviver: Reviver): void {
  revivers.set(kind, reviver);
}

/** The primitive a descriptor stands for: the one this thread already has, or a new one over the same memory. */
export function revive(descriptor: SharedDescriptor): SharedPrimitive {
  const key = identity(descriptor.$skein, descriptor.buffers[0] as SharedArrayBuffer);
  const known = revived.get(key)?.deref();
  if (known) return known;
  const reviver = revivers.get(descriptor.$skein);
  if (!reviver) throw new TypeError(`unknown shared primitive kind ${descriptor.$skein}`);
  const primitive = reviver(descriptor);
  revived.set(key, new WeakRef(primitive));
  forget.register(primitive, key);
  return primitive;
}

const isPlainObject = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/**
 * `args` with every primitive (at any depth of arrays and plain objects) replaced by its
 * descriptor; the containers on the way are copied, the rest is shared. `found` collects the
 * primitives, so the pool knows which ones a worker was given. A primitive anywhere else (in a
 * Map, a Set, a class instance) could not be rebuilt in the worker, so it is refused here.
 */
export function encodeShared(value: unknown, found: SharedPrimitive[], path = new Set<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof SharedPrimitive) {
    found.push(value);
    return value[DESCRIBE]();
  }
  if (path.has(value)) {
    throw new TypeError('arguments that hold a shared primitive must not contain cycles');
  }
  path.add(value);
  try {
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const encoded = encodeShared(value[i], found, path);
        if (encoded !== value[i]) {
          copy ??= value.slice();
          copy[i] = encoded;
        }
      }
      return copy ?? value;
    }
    if (!isPlainObject(value)) {
      if (holdsShared(value, new Set())) {
        throw new TypeError(
          'a shared primitive (Lock, Queue, ...) inside a Map, a Set or a class instance cannot be rebuilt ' +
            'in the worker: pass it as an argument, or in an array or plain object',
        );
      }
      return value;
    }
    let copy: Record<string, unknown> | undefined;
    for (const [key, item] of Object.entries(value)) {
      const encoded = encodeShared(item, found, path);
      if (encoded !== item) {
        copy ??= { ...value };
        copy[key] = encoded;
      }
    }
    return copy ?? value;
  } finally {
    path.delete(value);
  }
}

/** Whether a primitive is anywhere inside `value` (Maps, Sets and objects of any class included). */
function holdsShared(value: unknown, seen: Set<object>): boolean {
  if (value === null || typeof value !== 'object' || seen.has(value)) return false;
  if (value instanceof SharedPrimitive) return true;
  seen.add(value);
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return false;
  if (value instanceof Map) {
    for (const [k, v] of value) if (holdsShared(k, seen) || holdsShared(v, seen)) return true;
    return false;
  }
  const items = value instanceof Set ? [...value] : Object.values(value);
  return items.some((item) => holdsShared(item, seen));
}

/** Worker side: the inverse of `encodeShared`, in place (the value is this thread's own copy). */
export function reviveShared(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveShared(value[i]);
    return value;
  }
  if (!isPlainObject(value)) return value;
  if (typeof (value as { $skein?: unknown }).$skein === 'string') return revive(value as SharedDescriptor);
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) record[key] = reviveShared(record[key]);
  return value;
}

// ---- waiting

let loopHolds = 0;
let loopKeeper: NodeJS.Timeout | undefined;

/**
 * A pending `Atomics.waitAsync` does not keep Node's event loop alive (nodejs/node#44729), so a
 * program whose only work is waiting for a lock would just exit. While any waiter exists we hold
 * one referenced timer; when the last one goes, nothing of ours keeps the loop running.
 */
export function holdEventLoop(): void {
  if (loopHolds++ === 0) {
    loopKeeper ??= setInterval(() => {}, 2 ** 30);
    loopKeeper.ref();
  }
}

export function releaseEventLoop(): void {
  if (--loopHolds === 0) loopKeeper?.unref();
}

/** The blocking (`...Sync`) methods belong in workers: on the main thread they would freeze the event loop. */
export function assertMayBlock(method: string): void {
  if (isMainThread) {
    throw new Error(
      `${method}() blocks its thread with Atomics.wait, and this is the main thread: blocking it ` +
        "would freeze its event loop (timers, I/O, and the workers' replies). Use the async " +
        'method here (await it); the Sync methods are for code running in a worker thread.',
    );
  }
}

/** Validates a `timeout` option (ms); returns the absolute deadline (performance.now() based), or Infinity. */
export function deadlineOf(timeout: number | undefined): number {
  if (timeout === undefined || timeout === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (typeof timeout !== 'number' || !(timeout >= 0)) {
    throw new RangeError(`timeout must be a number of milliseconds >= 0, got ${shownValue(timeout)}`);
  }
  return performance.now() + timeout;
}

/** ms left until `deadline` (never negative); Infinity stays Infinity. */
export function remaining(deadline: number): number {
  return deadline === Number.POSITIVE_INFINITY ? deadline : Math.max(0, deadline - performance.now());
}

/**
 * Blocks (worker only) until `memory[index]` is no longer `expected`, a wake-up, or `deadline`.
 * Spins a little first: a hand-off between two busy threads usually comes within microseconds,
 * and sleeping costs a round trip through the OS (Lars Hansen's futex measurements, ~20x).
 */
export function waitSync(memory: Int32Array, index: number, expected: number, deadline: number): void {
  for (let spin = 0; spin < 256; spin++) if (Atomics.load(memory, index) !== expected) return;
  Atomics.wait(memory, index, expected, remaining(deadline));
}
