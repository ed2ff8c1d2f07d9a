/**
 * `Manager`, Python's `multiprocessing.Manager()`: objects held in the process that started it
 * (manager-broker.ts), reached through proxies whose methods are async, from this thread, from any
 * `Process` child they are passed to (in its `args`, at any depth), and from any pool task or
 * Thread they are passed to (in its arguments, at any depth): the worker's calls travel on its
 * route to this thread's brokers (broker-channel.ts).
 *
 * Every value crosses by structured clone, both ways, even in this process: what a proxy returns
 * is a copy, so mutating a nested value does not change the managed one (as in Python, bpo-6766):
 * `set` it again. A value that cannot be cloned is refused by the call that tries to store it.
 */
import { isMainThread } from 'node:worker_threads';
import { NOT_FOR_POOL_TASKS } from '../wire/arguments.js';
import { cloneFailure, isScalar, uncloneableError } from './clone-check.js';
import type { Caller, ManagedKind, ManagerBroker } from './manager-broker.js';
import { ManagerBroker as Broker } from './manager-broker.js';

/** How a proxy reaches its object: directly in the manager's process, over IPC in a child. */
export interface ManagerChannel {
  /** Sends `method(...args)` to object `id`; resolves with a copy of what it returned. */
  call(id: number, method: string, args: unknown[]): Promise<unknown>;
}

/** The channel of this process to the manager's broker (a local one; process-entry.ts installs the IPC one). */
function localChannel(broker: ManagerBroker, caller: Caller): ManagerChannel {
  return {
    call: (id, method, args) => {
      let sent: unknown[];
      try {
        sent = structuredClone(args);
      } catch (error) {
        // What the proxies' own check does not see (a Proxy object; a function given to `get`).
        return Promise.reject(cloneFailure(error, args, `${method}(...)`, 'arguments'));
      }
      try {
        return Promise.resolve(broker.call(id, method, sent, caller)).then((value) => structuredClone(value));
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}

/** Base of every proxy: which object, and the channel to reach it. */
export abstract class ManagedProxy {
  /** @internal */
  readonly objectId: number;
  /** @internal */
  abstract readonly kind: ManagedKind;
  readonly #channel: ManagerChannel;
  /** Made by the Manager in this thread (not rebuilt from a task's or a child's arguments). */
  readonly #local: boolean;

  /**
   * @internal Made by a Manager (`local`), or rebuilt in a worker or a child from the descriptor
   * in its arguments.
   */
  constructor(objectId: number, channel: ManagerChannel, local = false) {
    this.objectId = objectId;
    this.#channel = channel;
    this.#local = local;
  }

  /**
   * @internal Why this proxy cannot be passed to a pool task, a Thread or a Process (see
   * wire/arguments.ts), or undefined if it can: only where its Manager is can the calls of the
   * proxy it gives be served (a worker's route leads to this thread's brokers, not further).
   */
  [NOT_FOR_POOL_TASKS](): string | undefined {
    if (this.#local) return undefined;
    return (
      `a Manager ${this.kind} proxy that this task or child was given, which cannot be passed on (to a Process, ` +
      'a pool task or a Thread of its own): its Manager is in the program that passed it; pass the proxy from there'
    );
  }

  /** Calls `method(...args)` on the managed object; arguments and result cross by structured clone. */
  protected call<R>(method: string, ...args: unknown[]): Promise<R> {
    return this.#channel.call(this.objectId, method, args) as Promise<R>;
  }

  /**
   * `call`, for a method that stores its arguments (named `names` in messages): each is checked
   * here first, so that one that cannot be cloned rejects this call, in its caller, with a message
   * saying which part of it. In a child its call would otherwise fail later, in the batch it
   * travels in (broker-channel.ts), far from any try/catch of the caller.
   */
  protected store<R>(method: string, names: readonly string[], ...args: unknown[]): Promise<R> {
    // A child process (not a thread, not the manager's own) cannot receive a SharedArrayBuffer.
    const forProcess = !this.#local && isMainThread;
    for (let i = 0; i < args.length; i++) {
      if (isScalar(args[i])) continue; // the common case (`d.set('k', 1)`): no message built
      const error = uncloneableError(
        args[i],
        `${this.kind}.${method}(${names.join(', ')})`,
        names[i] ?? 'value',
        forProcess,
      );
      if (error) return Promise.reject(error);
    }
    return this.call(method, ...args);
  }
}

/** `manager.dict()`: a Map held by the manager. */
export class DictProxy<K = unknown, V = unknown> extends ManagedProxy {
  readonly kind = 'dict';
  /** A copy of the value at `key`, or undefined if there is none. */
  get(key: K): Promise<V | undefined>;
  /** A copy of the value at `key`, or `fallback` if there is none (Python's `d.get(k, default)`). */
  get<D>(key: K, fallback: D): Promise<V | D>;
  get(key: K, fallback?: unknown): Promise<unknown> {
    return this.call('get', key, fallback);
  }
  /** Stores a copy of `value` at `key`. Rejects if `value` cannot be cloned. */
  set(key: K, value: V): Promise<void> {
    return this.store('set', ['key', 'value'], key, value);
  }
  /** True if `key` is there (Python's `k in d`). */
  has(key: K): Promise<boolean> {
    return this.call('has', key);
  }
  /** Removes the key; true if it was there. */
  delete(key: K): Promise<boolean> {
    return this.call('delete', key);
  }
  /** Removes `key` and returns its value, or `fallback` (undefined by default) if it was not there. */
  pop(key: K, fallback?: V): Promise<V | undefined> {
    return this.call('pop', key, fallback);
  }
  /** The value at `key`, storing `value` first if there is none (Python's `setdefault`), atomically. */
  setDefault(key: K, value: V): Promise<V> {
    return this.store('setDefault', ['key', 'value'], key, value);
  }
  /** Stores every entry of a Map or a plain object, in one call. */
  update(entries: Map<K, V> | Record<string, V>): Promise<void> {
    return this.store('update', ['entries'], entries);
  }
  /** The keys, in insertion order. */
  keys(): Promise<K[]> {
    return this.call('keys');
  }
  /** Copies of the values, in insertion order. */
  values(): Promise<V[]> {
    return this.call('values');
  }
  /** Copies of the `[key, value]` pairs, in insertion order. */
  items(): Promise<[K, V][]> {
    return this.call('items');
  }
  /** How many keys (Python's `len(d)`). */
  size(): Promise<number> {
    return this.call('size');
  }
  /** Removes every key. */
  clear(): Promise<void> {
    return this.call('clear');
  }
  /** A copy of the whole Map. */
  copy(): Promise<Map<K, V>> {
    return this.call('copy');
  }
}

/** `manager.list()`: an array held by the manager. Negative indexes count from the end. */
export class ListProxy<T = unknown> extends ManagedProxy {
  readonly kind = 'list';
  /** A copy of the item at `index`; rejects with RangeError outside the list. */
  get(index: number): Promise<T> {
    return this.call('get', index);
  }
  /** Replaces the item at `index` with a copy of `value`; rejects with RangeError outside the list. */
  set(index: number, value: T): Promise<void> {
    return this.store('set', ['index', 'value'], index, value);
  }
  /** Adds a copy of `value` at the end. */
  append(value: T): Promise<void> {
    return this.store('append', ['value'], value);
  }
  /** Adds copies of `values` at the end, in one call. */
  extend(values: readonly T[]): Promise<void> {
    return this.store('extend', ['values'], values);
  }
  /** Inserts a copy of `value` before `index` (negative counts from the end; past the end appends). */
  insert(index: number, value: T): Promise<void> {
    return this.store('insert', ['index', 'value'], index, value);
  }
  /** Removes and returns the item at `index` (default: the last). */
  pop(index?: number): Promise<T> {
    return this.call('pop', index);
  }
  /** Removes the first item equal to `value` (`===`); rejects with RangeError if there is none. */
  remove(value: T): Promise<void> {
    return this.call('remove', value);
  }
  /** The index of the first item equal to `value` (`===`), or -1 if there is none. */
  indexOf(value: T): Promise<number> {
    return this.call('indexOf', value);
  }
  /** How many items (Python's `len(l)`). */
  length(): Promise<number> {
    return this.call('length');
  }
  /** A copy of the whole list. */
  toArray(): Promise<T[]> {
    return this.call('toArray');
  }
}

/** `manager.Namespace()`: named attributes, read and written one at a time. */
export class NamespaceProxy extends ManagedProxy {
  readonly kind = 'namespace';
  /** A copy of attribute `name` (undefined if it is not set). */
  get(name: string): Promise<unknown> {
    return this.call('get', name);
  }
  /** Sets attribute `name` to a copy of `value`. */
  set(name: string, value: unknown): Promise<void> {
    return this.store('set', ['name', 'value'], name, value);
  }
  /** Removes attribute `name`; true if it was set. */
  delete(name: string): Promise<boolean> {
    return this.call('delete', name);
  }
  /** A copy of every attribute, as a plain object. */
  toObject(): Promise<Record<string, unknown>> {
    return this.call('toObject');
  }
}

/** `manager.Value(type, v)`: one value; `add` and `compareExchange` are atomic on the manager. */
export class ValueProxy<T = number> extends ManagedProxy {
  readonly kind = 'value';
  /** A copy of the value. */
  get(): Promise<T> {
    return this.call('get');
  }
  /** Replaces the value with a copy of `value`. */
  set(value: T): Promise<void> {
    return this.store('set', ['value'], value);
  }
  /** Adds `n` and returns the new value, in one step (Python's `v.value += n` is not atomic). */
  add(n: number): Promise<number> {
    return this.call('add', n);
  }
  /** Stores `value` if the current value is `expected`; returns the value found. */
  compareExchange(expected: T, value: T): Promise<T> {
    return this.store('compareExchange', ['expected', 'value'], expected, value);
  }
}

/** `manager.Array(type, values)`: numbers; `add` and `compareExchange` per element are atomic. */
export class ArrayProxy extends ManagedProxy {
  readonly kind = 'array';
  /** The number at `index`; rejects with RangeError outside the array. */
  get(index: number): Promise<number> {
    return this.call('get', index);
  }
  /** Stores `value` at `index`; rejects with RangeError outside the array or for a non-number. */
  set(index: number, value: number): Promise<void> {
    return this.store('set', ['index', 'value'], index, value);
  }
  /** Adds `n` to the element at `index` and returns the new value, in one step. */
  add(index: number, n: number): Promise<number> {
    return this.call('add', index, n);
  }
  /** Stores `value` at `index` if the element is `expected`; returns the value found. */
  compareExchange(index: number, expected: number, value: number): Promise<number> {
    return this.call('compareExchange', index, expected, value);
  }
  /** How many elements (fixed at creation). */
  length(): Promise<number> {
    return this.call('length');
  }
  /** A copy of every element. */
  toArray(): Promise<number[]> {
    return this.call('toArray');
  }
}

/** `manager.Queue()`: FIFO; a waiting `get` is served in order, from any process. */
export class QueueProxy<T = unknown> extends ManagedProxy {
  readonly kind = 'queue';
  /** Adds an item (a copy). A value that cannot be cloned is refused here. */
  put(item: T): Promise<void> {
    return this.store('put', ['item'], item);
  }
  /** The next item, waiting for one up to `timeout` ms (forever by default); then QueueEmpty. */
  get(options: { timeout?: number } = {}): Promise<T> {
    return this.call('get', options.timeout);
  }
  /** The next item, or QueueEmpty at once. */
  getNowait(): Promise<T> {
    return this.call('getNowait');
  }
  /** Items waiting now (a snapshot: other processes may change it at once). */
  qsize(): Promise<number> {
    return this.call('qsize');
  }
  /** True if no item is waiting now (a snapshot, as in Python). */
  empty(): Promise<boolean> {
    return this.call('empty');
  }
}

/**
 * `manager.Lock()`: held by the manager for one caller at a time, FIFO. If a child process dies
 * holding it, it is broken: every waiting and later `acquire` rejects with BrokenLockError.
 */
export class LockProxy extends ManagedProxy {
  readonly kind = 'lock';
  /** Resolves true once held, or false after `timeout` ms. */
  acquire(options: { timeout?: number } = {}): Promise<boolean> {
    return this.call('acquire', options.timeout);
  }
  /** Releases the lock, handing it to the next waiter; rejects if it is not held (BrokenLockError if broken). */
  release(): Promise<void> {
    return this.call('release');
  }
  /** True if some caller holds the lock now. */
  locked(): Promise<boolean> {
    return this.call('locked');
  }
  /** Runs `fn` holding the lock, and releases it whatever happens. */
  async withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      await this.release();
    }
  }
}

const PROXIES = {
  dict: DictProxy,
  list: ListProxy,
  namespace: NamespaceProxy,
  value: ValueProxy,
  array: ArrayProxy,
  queue: QueueProxy,
  lock: LockProxy,
} as const;

/** @internal A proxy of `kind` for object `id`, calling through `channel` (a child rebuilding its arguments). */
export function makeProxy(kind: ManagedKind, id: number, channel: ManagerChannel, local = false): ManagedProxy {
  const ProxyClass = PROXIES[kind] as
    | (new (
        id: number,
        channel: ManagerChannel,
        local: boolean,
      ) => ManagedProxy)
    | undefined;
  if (!ProxyClass) throw new TypeError(`unknown managed kind ${String(kind)}`);
  return new ProxyClass(id, channel, local);
}

/**
 * Python's `Manager()`: `await using manager = await Manager.start()`. Its objects live in this
 * process; pass their proxies to a `Process`, a pool task or a `Thread` in its arguments to use them there.
 */
export class Manager {
  readonly #broker = new Broker();
  readonly #channel = localChannel(this.#broker, 0);

  private constructor() {}

  /** Starts a manager (in this process: no server process is needed in Node). */
  static async start(): Promise<Manager> {
    return new Manager();
  }

  #make<P extends ManagedProxy>(kind: ManagedKind, state: unknown): P {
    return makeProxy(kind, this.#broker.create(kind, state), this.#channel, true) as P;
  }

  /** A managed Map, filled with copies of `entries` (default empty). */
  dict<K = unknown, V = unknown>(entries?: Iterable<readonly [K, V]>): DictProxy<K, V> {
    return this.#make('dict', new Map(structuredClone(entries ? [...entries] : [])));
  }

  /** A managed array, filled with copies of `items` (default empty). */
  list<T = unknown>(items: Iterable<T> = []): ListProxy<T> {
    return this.#make('list', structuredClone([...items]));
  }

  /** A managed namespace, with copies of `attributes` set (default none). */
  Namespace(attributes: Record<string, unknown> = {}): NamespaceProxy {
    return this.#make('namespace', structuredClone({ ...attributes }));
  }

  /** `type` is Python's typecode or a name (`'i'`, `'d'`, `'int32'`...), kept for parity: any number fits. */
  Value<T = number>(_type: string, value: T): ValueProxy<T> {
    return this.#make('value', { v: structuredClone(value) });
  }

  /** Numbers, or a length (filled with zeros), as Python's `Array(typecode, size_or_initializer)`. */
  Array(_type: string, values: readonly number[] | number): ArrayProxy {
    if (typeof values === 'number') {
      if (!(Number.isInteger(values) && values >= 0)) {
        throw new RangeError(`Array(type, length): length must be an integer >= 0, got ${values}`);
      }
      return this.#make('array', new globalThis.Array(values).fill(0));
    }
    if (!values.every((v) => typeof v === 'number')) throw new TypeError('Array(type, values): values must be numbers');
    return this.#make('array', [...values]);
  }

  /** A managed FIFO queue, unbounded. */
  Queue<T = unknown>(): QueueProxy<T> {
    return this.#make('queue', []);
  }

  /** A managed lock (not reentrant), free at first. */
  Lock(): LockProxy {
    return this.#make('lock', { owner: undefined, broken: false });
  }

  /** Drops every object; calls still waiting reject. */
  async shutdown(): Promise<void> {
    this.#broker.shutdown();
  }

  /** `await using manager = ...`: `shutdown()` when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
