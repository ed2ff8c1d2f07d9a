/**
 * The threading primitives (sync/) passed to a child process, held here: the child gets a proxy
 * (primitive-proxy.ts) whose calls arrive through broker-channel.ts and are run on the real
 * primitive, on this side, by its own async methods. So a Queue shared by threads of this
 * process and by children is one queue, and a Lock excludes them all.
 *
 *   child ─ acquire ─► call(id, 'acquire', [timeout]) ─► keeper / real primitive ─► reply
 *
 * Every wait of a child carries an AbortSignal of that child's: when it dies (`dropCaller`) its
 * waits end without taking anything. A grant that raced with that death is given back: a lock
 * released, a permit returned, an item put back (also when the reply cannot be delivered). A
 * Lock or RLock it held breaks (BrokenLockError), as for a thread that died holding it
 * (docs/sync.md); a permit it held is gone, as for a thread; a Barrier it was inside breaks.
 */
import { Barrier } from '../sync/barrier.js';
import { Condition } from '../sync/condition.js';
import { QueueEmpty, QueueFull } from '../sync/errors.js';
import { Event } from '../sync/event.js';
import { Lock, RLock } from '../sync/lock.js';
import { LifoQueue, PriorityQueue, Queue } from '../sync/queue.js';
import { BoundedSemaphore, Semaphore } from '../sync/semaphore.js';
import { type SharedPrimitive, THIS_THREAD, THREAD_EXITED } from '../sync/shared-memory.js';
import { type Broker, type Caller, registerObject } from './broker-registry.js';
import { childGone, LockKeeper, WaitCancelled } from './lock-keeper.js';

/** The kinds a child can receive, by class name. */
export type PrimitiveKind =
  | 'Queue'
  | 'LifoQueue'
  | 'PriorityQueue'
  | 'Lock'
  | 'RLock'
  | 'Semaphore'
  | 'BoundedSemaphore'
  | 'Event'
  | 'Condition'
  | 'Barrier';

/** What a primitive becomes on its way to a child: its id here, and what its proxy knows without asking. */
export interface PrimitiveDescriptor {
  readonly $skeinPrimitive: number;
  readonly kind: PrimitiveKind;
  /** A queue's maxsize, a barrier's parties. */
  readonly size: number;
}

// Subclasses first: the first match names the kind.
const KINDS: [PrimitiveKind, abstract new (...args: never[]) => SharedPrimitive][] = [
  ['LifoQueue', LifoQueue],
  ['PriorityQueue', PriorityQueue],
  ['Queue', Queue],
  ['RLock', RLock],
  ['Lock', Lock],
  ['BoundedSemaphore', BoundedSemaphore],
  ['Semaphore', Semaphore],
  ['Event', Event],
  ['Condition', Condition],
  ['Barrier', Barrier],
];

/** The kind of a primitive a child can receive, or undefined (a SharedValue, a SharedArray). */
export function proxyKind(value: object): PrimitiveKind | undefined {
  for (const [kind, Class] of KINDS) if (value instanceof Class) return kind;
  return undefined;
}

interface Held {
  readonly kind: PrimitiveKind;
  readonly primitive: SharedPrimitive;
  /** Lock, RLock, Condition: who holds the lock through the broker. */
  readonly keeper: LockKeeper | undefined;
  /** Queues: a child's posted puts still waiting for room, in order, per child. */
  readonly puts: Map<Caller, Promise<unknown>>;
}

type Method = (held: Held, args: unknown[], caller: Caller, signal: () => AbortSignal) => unknown;

const timeoutOf = (value: unknown): number | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !(value >= 0)) {
    throw new RangeError(`timeout must be a number of milliseconds >= 0, got ${String(value)}`);
  }
  return value;
};

/** Items a get took for a child that will never read them: back in the queue, counted once for join(). */
function putBack(queue: Queue, items: unknown[]): void {
  // A LifoQueue hands out the last one put: the first item taken must be the last put back.
  const order = queue instanceof LifoQueue ? [...items].reverse() : items;
  for (const item of order) {
    queue.putNowait(item);
    queue.taskDone(); // the item was counted when it was first put
  }
}

/** A get's item, or undefined when it must wait. */
function getNow(queue: Queue): { item: unknown } | undefined {
  try {
    return { item: queue.getNowait() };
  } catch (error) {
    if (error instanceof QueueEmpty) return undefined;
    throw error;
  }
}

/**
 * After a wait ended: if its child died meanwhile, `giveBack` what it took and fail it. (A grant
 * that came before the child's own cancel stands: the child gets it.)
 */
function unlessAborted<T>(signal: AbortSignal, wait: Promise<T>, giveBack: (value: T) => void): Promise<T> {
  return wait.then((value) => {
    if (childGone(signal)) {
      giveBack(value);
      throw signal.reason;
    }
    return value;
  });
}

const queue = (held: Held) => held.primitive as Queue;
const keeper = (held: Held) => held.keeper as LockKeeper;

const QUEUE: Record<string, Method> = {
  put: (held, [item, timeout], caller, signal) => {
    const q = queue(held);
    const before = held.puts.get(caller);
    if (!before) {
      try {
        q.putNowait(item);
        return undefined;
      } catch (error) {
        if (!(error instanceof QueueFull) || timeout === 0) throw error;
      }
    }
    // Full (or this child's earlier puts still wait): wait in line, after them.
    const s = signal();
    const put = (before ?? Promise.resolve()).then(() => q.put(item, { timeout: timeoutOf(timeout), signal: s }));
    held.puts.set(caller, put);
    const done = () => {
      if (held.puts.get(caller) === put) held.puts.delete(caller);
    };
    put.then(done, done);
    return put;
  },
  /** A child's posted puts, in order (the items are the arguments): a full queue makes the rest wait in line. */
  putMany: (held, items, caller, signal) => {
    const q = queue(held);
    let i = 0;
    if (!held.puts.has(caller)) {
      try {
        for (; i < items.length; i++) q.putNowait(items[i]);
        return undefined;
      } catch (error) {
        if (!(error instanceof QueueFull)) throw error;
      }
    }
    const s = signal();
    const rest = items.slice(i);
    const before = held.puts.get(caller) ?? Promise.resolve();
    const put = before.then(async () => {
      for (const item of rest) await q.put(item, { signal: s });
    });
    held.puts.set(caller, put);
    const done = () => {
      if (held.puts.get(caller) === put) held.puts.delete(caller);
    };
    put.then(done, done);
    return put;
  },
  putNowait: (held, [item]) => queue(held).putNowait(item),
  get: (held, [timeout], _caller, signal) => {
    const q = queue(held);
    const now = getNow(q);
    if (now) return now.item;
    const s = signal();
    return unlessAborted(s, q.get({ timeout: timeoutOf(timeout), signal: s }), (item) => putBack(q, [item]));
  },
  getNowait: (held) => queue(held).getNowait(),
  getMany: (held, [max, timeout], _caller, signal) => {
    if (!(Number.isInteger(max) && (max as number) >= 1)) {
      throw new RangeError(`getMany(max): max must be an integer >= 1, got ${String(max)}`);
    }
    const q = queue(held);
    const fill = (items: unknown[]): unknown[] => {
      while (items.length < (max as number)) {
        const now = getNow(q);
        if (!now) break;
        items.push(now.item);
      }
      return items;
    };
    const now = getNow(q);
    if (now) return fill([now.item]);
    const s = signal();
    return unlessAborted(
      s,
      q.get({ timeout: timeoutOf(timeout), signal: s }).then((item) => fill([item])),
      (items) => putBack(q, items),
    );
  },
  taskDone: (held) => queue(held).taskDone(),
  join: (held, _args, _caller, signal) => {
    const s = signal();
    // Queue.join cannot be aborted: a child that dies meanwhile just stops waiting for it.
    return new Promise((resolve, reject) => {
      s.addEventListener('abort', () => reject(s.reason), { once: true });
      queue(held).join().then(resolve, reject);
    });
  },
  shutdown: (held, [immediate]) => queue(held).shutdown({ immediate: immediate === true }),
  state: (held) => {
    const q = queue(held);
    return { qsize: q.qsize(), empty: q.empty(), full: q.full(), isShutDown: q.isShutDown };
  },
};

const LOCK: Record<string, Method> = {
  acquire: (held, [timeout], caller, signal) => keeper(held).acquire(caller, timeoutOf(timeout), signal()),
  tryAcquire: (held, _args, caller) => keeper(held).tryAcquire(caller),
  release: (held, _args, caller) => keeper(held).release(caller),
  state: (held, _args, caller) => {
    const lock = keeper(held).lock;
    return { locked: lock.locked, broken: lock.broken, owned: keeper(held).ownedBy(caller), level: keeper(held).count };
  },
};

const CONDITION: Record<string, Method> = {
  ...LOCK,
  wait: (held, [timeout], caller, signal) => {
    const condition = held.primitive as Condition;
    const k = keeper(held);
    const s = signal();
    k.handedToCondition(caller);
    const waited = condition.wait({ timeout: timeoutOf(timeout), signal: s });
    k.pump();
    const back = (): void => {
      if (childGone(s)) {
        // Its child is gone: it does not get the lock back.
        if (!condition.lock.broken) condition.lock.release();
        k.pump();
      } else k.takenBackFromCondition(caller);
    };
    return waited.then(
      (notified) => {
        back();
        if (childGone(s)) throw s.reason;
        return notified;
      },
      (error: unknown) => {
        // Rejected after taking the lock back (an abort), or without it (the lock broke).
        if (condition.lock.isOwned()) back();
        throw error;
      },
    );
  },
  notify: (held, [n], caller) => {
    if (!keeper(held).ownedBy(caller)) throw new Error('notify() on a Condition whose lock this process does not hold');
    (held.primitive as Condition).notify(n as number | undefined);
  },
  notifyAll: (held, _args, caller) => {
    if (!keeper(held).ownedBy(caller)) {
      throw new Error('notifyAll() on a Condition whose lock this process does not hold');
    }
    (held.primitive as Condition).notifyAll();
  },
};

const SEMAPHORE: Record<string, Method> = {
  acquire: (held, [timeout], _caller, signal) => {
    const semaphore = held.primitive as Semaphore;
    if (semaphore.tryAcquire()) return true;
    if (timeout === 0) return false;
    const s = signal();
    return unlessAborted(s, semaphore.acquire({ timeout: timeoutOf(timeout), signal: s }), (got) => {
      if (got) semaphore.release();
    });
  },
  tryAcquire: (held) => (held.primitive as Semaphore).tryAcquire(),
  release: (held, [n]) => (held.primitive as Semaphore).release(n as number | undefined),
  state: (held) => ({ value: (held.primitive as Semaphore).value }),
};

const EVENT: Record<string, Method> = {
  set: (held) => (held.primitive as Event).set(),
  clear: (held) => (held.primitive as Event).clear(),
  wait: (held, [timeout], _caller, signal) => {
    const event = held.primitive as Event;
    if (event.isSet()) return true;
    return event.wait({ timeout: timeoutOf(timeout), signal: signal() });
  },
  state: (held) => ({ isSet: (held.primitive as Event).isSet() }),
};

const BARRIER: Record<string, Method> = {
  wait: (held, [timeout], _caller, signal) =>
    (held.primitive as Barrier).wait({ timeout: timeoutOf(timeout), signal: signal() }),
  reset: (held) => (held.primitive as Barrier).reset(),
  abort: (held) => (held.primitive as Barrier).abort(),
  state: (held) => {
    const barrier = held.primitive as Barrier;
    return { nWaiting: barrier.nWaiting, broken: barrier.broken };
  },
};

const METHODS: Record<PrimitiveKind, Record<string, Method>> = {
  Queue: QUEUE,
  LifoQueue: QUEUE,
  PriorityQueue: QUEUE,
  Lock: LOCK,
  RLock: LOCK,
  Condition: CONDITION,
  Semaphore: SEMAPHORE,
  BoundedSemaphore: SEMAPHORE,
  Event: EVENT,
  Barrier: BARRIER,
};

class PrimitiveBroker implements Broker {
  readonly #held = new Map<number, Held>();
  readonly #ids = new WeakMap<SharedPrimitive, number>();
  readonly #keepers = new WeakMap<Lock, LockKeeper>();
  /** Each child's waits in progress. */
  readonly #waits = new Map<Caller, Set<AbortController>>();
  /** The waits a child may cancel with its signal, by the token its proxy gave them. */
  readonly #tokens = new Map<Caller, Map<number, AbortController>>();

  /** The descriptor of `primitive` for a child, registering it on first use. */
  describe(primitive: SharedPrimitive, kind: PrimitiveKind): PrimitiveDescriptor {
    let id = this.#ids.get(primitive);
    if (id === undefined) {
      id = registerObject(this);
      this.#ids.set(primitive, id);
      this.#held.set(id, { kind, primitive, keeper: this.#keeperFor(primitive), puts: new Map() });
    }
    const size = primitive instanceof Queue ? primitive.maxsize : primitive instanceof Barrier ? primitive.parties : 0;
    return { $skeinPrimitive: id, kind, size };
  }

  call(id: number, method: string, args: unknown[], caller: Caller): unknown {
    const held = this.#held.get(id);
    if (!held) throw new Error(`no shared primitive ${id} in this process`);
    if (method === 'cancel') {
      // The child's signal aborted: end that wait, if it still waits.
      this.#tokens
        .get(caller)
        ?.get(args[0] as number)
        ?.abort(new WaitCancelled('cancelled by its signal'));
      return undefined;
    }
    let token: number | undefined;
    if (method === 'withToken') {
      token = args[0] as number;
      method = args[1] as string;
      args = args.slice(2);
    }
    const run = METHODS[held.kind][method];
    if (!run) throw new TypeError(`a ${held.kind} proxy has no method ${method}`);
    let controller: AbortController | undefined;
    const signal = (): AbortSignal => {
      controller = new AbortController();
      if (token !== undefined) {
        let tokens = this.#tokens.get(caller);
        if (!tokens) {
          tokens = new Map();
          this.#tokens.set(caller, tokens);
        }
        tokens.set(token, controller);
      }
      let waits = this.#waits.get(caller);
      if (!waits) {
        waits = new Set();
        this.#waits.set(caller, waits);
      }
      waits.add(controller);
      return controller.signal;
    };
    const result = run(held, args, caller, signal);
    if (controller) {
      const done = controller;
      const forget = () => {
        this.#waits.get(caller)?.delete(done);
        if (token !== undefined) this.#tokens.get(caller)?.delete(token);
      };
      if (result instanceof Promise) result.then(forget, forget);
      else forget();
    }
    return result;
  }

  undeliverable(id: number, method: string, value: unknown): void {
    const held = this.#held.get(id);
    if (!held) return;
    if (held.primitive instanceof Queue) {
      if (method === 'get' || method === 'getNowait') putBack(held.primitive, [value]);
      else if (method === 'getMany') putBack(held.primitive, value as unknown[]);
    } else if (method === 'acquire' || method === 'tryAcquire') {
      if (value !== true) return;
      if (held.primitive instanceof Semaphore) held.primitive.release();
      else if (held.keeper?.owner !== undefined && !held.keeper.lock.broken) held.keeper.release(held.keeper.owner);
    }
  }

  dropCaller(caller: Caller): void {
    const waits = this.#waits.get(caller);
    this.#waits.delete(caller);
    this.#tokens.delete(caller);
    const gone = new Error(`process ${caller} is gone: its wait was dropped`);
    for (const controller of waits ?? []) controller.abort(gone);
    for (const held of this.#held.values()) {
      held.puts.delete(caller);
      // A Condition and its lock share a keeper: break it once, the Condition's way (it wakes its waiters).
      if (held.keeper?.owner === caller) held.keeper.dropCaller(caller);
    }
  }

  #keeperFor(primitive: SharedPrimitive): LockKeeper | undefined {
    const lock = primitive instanceof Condition ? primitive.lock : primitive instanceof Lock ? primitive : undefined;
    if (!lock) return undefined;
    let keeper = this.#keepers.get(lock);
    if (!keeper) {
      keeper = new LockKeeper(lock);
      this.#keepers.set(lock, keeper);
    }
    if (primitive instanceof Condition) {
      // Its waiters sleep on the Condition: breaking the lock must wake them too.
      const condition = primitive;
      keeper.breakLock = () => condition[THREAD_EXITED](THIS_THREAD);
    }
    return keeper;
  }
}

/** The broker of this process for primitives passed to children. */
export const primitiveBroker: PrimitiveBroker = new PrimitiveBroker();

/** A Condition on an RLock cannot be kept for children (see lock-keeper.ts): why, and what to do. */
export function refusalFor(value: object): string | undefined {
  if (value instanceof Condition && value.lock instanceof RLock) {
    return 'a Condition built on an RLock, which cannot be shared with a child process: use a Condition on a Lock (new Condition())';
  }
  return undefined;
}
