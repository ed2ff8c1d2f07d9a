/**
 * The state behind a `Manager`'s objects, held in the process that started the manager, and the
 * one entry point every proxy call goes through: `call(objectId, method, args, caller)`.
 *
 *   proxy in this process ──────────── call() ──┐
 *   proxy in a Process child ─ IPC { bcalls } ─► broker-channel.ts ─► call() ─► { breplies }
 *
 * Each call runs alone on this thread's event loop, so `Value.add` and `compareExchange` are
 * atomic. Waits (Queue.get, Lock.acquire) are queued here, FIFO, with their timeouts decided
 * here; when a child dies (`dropCaller`), its waits are dropped and a Lock it held is broken.
 */
import { BrokenLockError, QueueEmpty } from '../sync/errors.js';
import { type Broker, type Caller, forgetObject, registerObject } from './broker-registry.js';

export type { Caller } from './broker-registry.js';

/** The kinds of managed objects. */
export type ManagedKind = 'dict' | 'list' | 'namespace' | 'value' | 'array' | 'queue' | 'lock';

interface Waiter {
  readonly caller: Caller;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  timer: NodeJS.Timeout | undefined;
}

interface Managed {
  readonly kind: ManagedKind;
  /** dict: Map; list/array: unknown[]; namespace: Record; value: { v }; queue: unknown[]; lock: LockState */
  readonly state: unknown;
  readonly waiters: Waiter[];
}

interface LockState {
  owner: Caller | undefined;
  broken: boolean;
}

type Method = (state: never, args: unknown[], caller: Caller, object: Managed) => unknown;

const number = (value: unknown, what: string): number => {
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number, got ${typeof value}`);
  return value;
};
const index = (list: unknown[], i: unknown): number => {
  if (!Number.isInteger(i)) throw new TypeError(`the index must be an integer, got ${String(i)}`);
  const at = (i as number) < 0 ? list.length + (i as number) : (i as number);
  if (at < 0 || at >= list.length) throw new RangeError(`index ${String(i)} out of range (length ${list.length})`);
  return at;
};

/** Ends a wait: its timer is cleared and it leaves the queue. */
function settleWaiter(object: Managed, waiter: Waiter): void {
  if (waiter.timer) clearTimeout(waiter.timer);
  const i = object.waiters.indexOf(waiter);
  if (i >= 0) object.waiters.splice(i, 1);
}

function wait(object: Managed, caller: Caller, timeoutMs: unknown, onTimeout: () => unknown): Promise<unknown> {
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs >= 0)) {
    throw new RangeError(`timeout must be a number of milliseconds >= 0, got ${String(timeoutMs)}`);
  }
  return new Promise((resolve, reject) => {
    const waiter: Waiter = { caller, resolve, reject, timer: undefined };
    if (timeoutMs !== undefined) {
      waiter.timer = setTimeout(() => {
        settleWaiter(object, waiter);
        try {
          resolve(onTimeout());
        } catch (error) {
          reject(error);
        }
      }, timeoutMs as number);
    }
    object.waiters.push(waiter);
  });
}

const METHODS: Record<ManagedKind, Record<string, Method>> = {
  dict: {
    get: (m: Map<unknown, unknown>, [key, fallback]) => (m.has(key) ? m.get(key) : fallback),
    set: (m: Map<unknown, unknown>, [key, value]) => void m.set(key, value),
    has: (m: Map<unknown, unknown>, [key]) => m.has(key),
    delete: (m: Map<unknown, unknown>, [key]) => m.delete(key),
    pop: (m: Map<unknown, unknown>, [key, fallback]) => {
      const value = m.has(key) ? m.get(key) : fallback;
      m.delete(key);
      return value;
    },
    setDefault: (m: Map<unknown, unknown>, [key, value]) => {
      if (!m.has(key)) m.set(key, value);
      return m.get(key);
    },
    update: (m: Map<unknown, unknown>, [entries]) => {
      for (const [k, v] of entries instanceof Map ? entries : Object.entries(entries as object)) m.set(k, v);
    },
    keys: (m: Map<unknown, unknown>) => [...m.keys()],
    values: (m: Map<unknown, unknown>) => [...m.values()],
    items: (m: Map<unknown, unknown>) => [...m.entries()],
    size: (m: Map<unknown, unknown>) => m.size,
    clear: (m: Map<unknown, unknown>) => m.clear(),
    copy: (m: Map<unknown, unknown>) => new Map(m),
  },
  list: {
    get: (l: unknown[], [i]) => l[index(l, i)],
    set: (l: unknown[], [i, value]) => {
      l[index(l, i)] = value;
    },
    append: (l: unknown[], [value]) => void l.push(value),
    extend: (l: unknown[], [values]) => void l.push(...(values as unknown[])),
    insert: (l: unknown[], [i, value]) => void l.splice(number(i, 'the index'), 0, value),
    pop: (l: unknown[], [i]) => l.splice(index(l, i ?? -1), 1)[0],
    remove: (l: unknown[], [value]) => {
      const i = l.indexOf(value);
      if (i < 0) throw new RangeError('list.remove(x): x not in list');
      l.splice(i, 1);
    },
    indexOf: (l: unknown[], [value]) => l.indexOf(value),
    length: (l: unknown[]) => l.length,
    toArray: (l: unknown[]) => [...l],
  },
  namespace: {
    get: (ns: Record<string, unknown>, [name]) => ns[String(name)],
    set: (ns: Record<string, unknown>, [name, value]) => {
      ns[String(name)] = value;
    },
    delete: (ns: Record<string, unknown>, [name]) => delete ns[String(name)],
    toObject: (ns: Record<string, unknown>) => ({ ...ns }),
  },
  value: {
    get: (box: { v: unknown }) => box.v,
    set: (box: { v: unknown }, [value]) => {
      box.v = value;
    },
    add: (box: { v: unknown }, [n]) => {
      box.v = number(box.v, 'the value') + number(n, 'add(n): n');
      return box.v;
    },
    compareExchange: (box: { v: unknown }, [expected, value]) => {
      const old = box.v;
      if (Object.is(old, expected)) box.v = value;
      return old;
    },
  },
  array: {
    get: (a: unknown[], [i]) => a[index(a, i)],
    set: (a: unknown[], [i, value]) => {
      a[index(a, i)] = number(value, 'the value');
    },
    add: (a: unknown[], [i, n]) => {
      const at = index(a, i);
      a[at] = number(a[at], 'the element') + number(n, 'add(i, n): n');
      return a[at];
    },
    compareExchange: (a: unknown[], [i, expected, value]) => {
      const at = index(a, i);
      const old = a[at];
      if (Object.is(old, expected)) a[at] = number(value, 'the value');
      return old;
    },
    length: (a: unknown[]) => a.length,
    toArray: (a: unknown[]) => [...a],
  },
  queue: {
    put: (items: unknown[], [item], _caller, object) => {
      const waiter = object.waiters[0];
      if (waiter) {
        settleWaiter(object, waiter);
        waiter.resolve(item);
      } else items.push(item);
    },
    get: (items: unknown[], [timeoutMs], caller, object) => {
      if (items.length > 0) return items.shift();
      return wait(object, caller, timeoutMs, () => {
        throw new QueueEmpty(`get(): the queue stayed empty for ${timeoutMs} ms`);
      });
    },
    getNowait: (items: unknown[]) => {
      if (items.length === 0) throw new QueueEmpty('getNowait(): the queue is empty');
      return items.shift();
    },
    qsize: (items: unknown[]) => items.length,
    empty: (items: unknown[]) => items.length === 0,
  },
  lock: {
    acquire: (lock: LockState, [timeoutMs], caller, object) => {
      if (lock.broken) throw new BrokenLockError('the process holding this manager Lock died');
      if (lock.owner === undefined) {
        lock.owner = caller;
        return true;
      }
      return wait(object, caller, timeoutMs, () => false);
    },
    release: (lock: LockState, _args, _caller, object) => {
      if (lock.broken) throw new BrokenLockError('the process holding this manager Lock died');
      if (lock.owner === undefined) throw new Error('release(): the Lock is not held');
      const next = object.waiters[0];
      lock.owner = next?.caller;
      if (next) {
        settleWaiter(object, next);
        next.resolve(true);
      }
    },
    locked: (lock: LockState) => lock.owner !== undefined,
  },
};

export class ManagerBroker implements Broker {
  readonly #objects = new Map<number, Managed>();
  #shutdown = false;

  /** A new object of `kind` over `state`; returns its id. */
  create(kind: ManagedKind, state: unknown): number {
    if (this.#shutdown) throw new Error('the Manager was shut down: start a new one');
    const id = registerObject(this);
    this.#objects.set(id, { kind, state, waiters: [] });
    return id;
  }

  /** Runs one method; its result, or a promise for a wait. Throws (or rejects) with the method's error. */
  call(id: number, method: string, args: unknown[], caller: Caller): unknown {
    if (this.#shutdown) throw new Error('the Manager was shut down: its objects are gone');
    const object = this.#objects.get(id);
    if (!object) throw new Error(`no managed object ${id} (was it made by another Manager?)`);
    const run = METHODS[object.kind][method];
    if (!run) throw new TypeError(`a managed ${object.kind} has no method ${method}`);
    return run(object.state as never, args, caller, object);
  }

  /**
   * A child process is gone: its waits are dropped, and a Lock it held is broken (what it
   * protected may be half-updated), which fails the waits of the others with BrokenLockError.
   */
  dropCaller(caller: Caller): void {
    for (const object of this.#objects.values()) {
      for (const waiter of object.waiters.filter((w) => w.caller === caller)) settleWaiter(object, waiter);
      if (object.kind === 'lock' && (object.state as LockState).owner === caller) {
        const lock = object.state as LockState;
        lock.broken = true;
        lock.owner = undefined;
        for (const waiter of object.waiters.splice(0)) {
          if (waiter.timer) clearTimeout(waiter.timer);
          waiter.reject(new BrokenLockError('the process holding this manager Lock died'));
        }
      }
    }
  }

  /** Every wait fails; the objects are dropped. */
  shutdown(): void {
    this.#shutdown = true;
    for (const object of this.#objects.values()) {
      for (const waiter of object.waiters.splice(0)) {
        if (waiter.timer) clearTimeout(waiter.timer);
        waiter.reject(new Error('the Manager was shut down while this call waited'));
      }
    }
    for (const id of this.#objects.keys()) forgetObject(id);
    this.#objects.clear();
  }
}
