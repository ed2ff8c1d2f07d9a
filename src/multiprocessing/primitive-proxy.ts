/**
 * What a child process gets in place of a Queue, Lock, RLock, Semaphore, BoundedSemaphore,
 * Event, Condition or Barrier passed to it: a proxy of the parent's object (primitive-broker.ts),
 * with the same method names. Its async methods travel to the parent (broker-channel.ts) and
 * run on the real primitive there.
 *
 * What cannot be the same, and why:
 *   - blocking methods (`getSync`, `acquireSync`...) would block the very thread that must read
 *     the parent's answer: they throw, naming the async method to await instead;
 *   - synchronous reads (`qsize()`, `locked`, `isSet()`...) need an answer from the parent: they
 *     throw, pointing to `await proxy.state()`, which returns them all at once;
 *   - methods that return nothing and cannot wait (`release`, `set`, `notify`, `taskDone`, a
 *     `put` on an unbounded queue) are sent without waiting for an answer, in order with the
 *     child's other calls; if the parent refuses one (a release of a lock not held), the next
 *     call on that proxy rejects with that error.
 * An item is checked for cloning in `put`, in the caller, so a bad value fails there (Python's
 * feeder thread fails later, out of sight: gh-84376, bpo-30414).
 */
import { findUncloneable } from '../wire/cloneable.js';
import type { BrokerChannel } from './broker-channel.js';
import type { PrimitiveDescriptor, PrimitiveKind } from './primitive-broker.js';

/** Options of a proxy's waits, decided in the parent. */
export interface ProxyWaitOptions {
  /** ms to wait at most. */
  timeout?: number;
  /**
   * Aborting it gives up the wait: the parent cancels it, and the promise rejects with the
   * signal's reason, unless the parent had already granted it (then it resolves as granted).
   */
  signal?: AbortSignal;
}

/** The name of the error the broker ends a cancelled wait with (primitive-broker.ts). */
const WAIT_CANCELLED = 'WaitCancelled';
let tokens = 0;

function checkOptions(options: ProxyWaitOptions | undefined, method: string): number | undefined {
  if (options === undefined) return undefined;
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new TypeError(`${method}({ signal }): signal must be an AbortSignal`);
  }
  const timeout = options.timeout;
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout >= 0)) {
    throw new RangeError(
      `${method}({ timeout }): timeout must be a number of milliseconds >= 0, got ${String(timeout)}`,
    );
  }
  return timeout;
}

/** Base of every proxy: which object in the parent, and the channel to it. */
export abstract class PrimitiveProxy {
  /** @internal */
  readonly objectId: number;
  /** The class of the parent's object (`'Queue'`, `'Lock'`...). */
  readonly kind: PrimitiveKind;
  readonly #channel: BrokerChannel;

  /** @internal Made from the descriptor in a child's arguments. */
  constructor(descriptor: PrimitiveDescriptor, channel: BrokerChannel) {
    this.objectId = descriptor.$skeinPrimitive;
    this.kind = descriptor.kind;
    this.#channel = channel;
  }

  /** @internal Runs `method(...args)` on the parent's object; resolves with its answer. */
  protected call<R>(method: string, ...args: unknown[]): Promise<R> {
    return this.#channel.call(this.objectId, method, args) as Promise<R>;
  }

  /**
   * @internal A wait: `method(...args, timeout)` in the parent. With a signal, the call carries
   * a token, and an abort sends `cancel(token)` after it: the parent ends the wait unless it has
   * already granted it, and its answer settles the promise either way, so nothing taken is lost.
   */
  protected remoteWait<R>(method: string, args: unknown[], options: ProxyWaitOptions | undefined): Promise<R> {
    try {
      const timeout = checkOptions(options, method);
      const signal = options?.signal;
      if (!signal) return this.call(method, ...args, timeout);
      if (signal.aborted) return Promise.reject(signal.reason);
      const token = ++tokens;
      const onAbort = () => this.post('cancel', token);
      signal.addEventListener('abort', onAbort, { once: true });
      return this.call<R>('withToken', token, method, ...args, timeout).then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          return value;
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          throw (error as { name?: unknown })?.name === WAIT_CANCELLED && signal.aborted ? signal.reason : error;
        },
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** @internal Sends `method(...args)` without waiting for an answer (see the module notes). */
  protected post(method: string, ...args: unknown[]): void {
    if (this.#channel.post) this.#channel.post(this.objectId, method, args);
    else void this.call(method, ...args).catch(() => {});
  }

  /** @internal Sends one more item for `method` (its arguments are the items): consecutive ones travel as one call. */
  protected append(method: string, item: unknown): void {
    if (this.#channel.append) this.#channel.append(this.objectId, method, item);
    else this.post(method, item);
  }

  /** @internal The error of a blocking method: it cannot block in a child process. */
  protected cannotBlock(method: string, instead: string): Error {
    return new Error(
      `${this.kind}.${method}() cannot block in a child process: the ${this.kind} lives in the parent, and ` +
        `blocking this thread would stop it from reading the parent's answer. Use ${instead} instead.`,
    );
  }

  /** @internal The error of a synchronous read: it needs the parent's answer. */
  protected needsState(what: string): Error {
    return new Error(
      `${this.kind}.${what} is read synchronously, but in a child process the ${this.kind} lives in the parent: ` +
        `use (await ${this.kind.toLowerCase()}.state()).${what.replace('()', '')}`,
    );
  }
}

/** Rejects an item that cannot travel to the parent, here in the caller. */
function checkItem(item: unknown, method: string): void {
  if (item === null || (typeof item !== 'object' && typeof item !== 'function' && typeof item !== 'symbol')) return;
  const bad = findUncloneable(item, true);
  if (bad) {
    throw new TypeError(
      `${method}(item): the item cannot be sent to the parent's queue: item${bad.path} is ${bad.what}. ` +
        'Items travel by structured clone; put plain data.',
    );
  }
}

/** A `Queue` (or `LifoQueue`, `PriorityQueue`) of the parent, in a child process. */
export class QueueHandle<T = unknown> extends PrimitiveProxy {
  readonly #maxsize: number;

  /** @internal */
  constructor(descriptor: PrimitiveDescriptor, channel: BrokerChannel) {
    super(descriptor, channel);
    this.#maxsize = descriptor.size;
  }

  /** Items the queue holds at most (0: unbounded). */
  get maxsize(): number {
    return this.#maxsize;
  }

  /**
   * Puts an item. On an unbounded queue it resolves at once (the item is on its way, in order,
   * as Python's `put` hands it to a feeder thread); on a bounded one, once it is in the queue,
   * or rejects with QueueFull after `timeout` ms. An item that cannot be cloned throws here.
   */
  put(item: T, options?: ProxyWaitOptions): Promise<void> {
    try {
      const timeout = checkOptions(options, 'put');
      checkItem(item, 'put');
      if (this.#maxsize === 0 && timeout === undefined && options?.signal === undefined) {
        this.append('putMany', item);
        return Promise.resolve();
      }
      return this.remoteWait('put', [item], options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Puts an item on an unbounded queue (a bounded one needs the parent's answer: use `await put(item, { timeout: 0 })`). */
  putNowait(item: T): void {
    if (this.#maxsize !== 0) {
      throw new Error(
        'putNowait() on a bounded queue in a child process needs the answer of the parent: use await queue.put(item, { timeout: 0 })',
      );
    }
    checkItem(item, 'putNowait');
    this.append('putMany', item);
  }

  /** Takes the next item, waiting up to `timeout` ms (then QueueEmpty). */
  get(options?: ProxyWaitOptions): Promise<T> {
    try {
      return this.remoteWait('get', [], options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Takes up to `max` items in one trip to the parent: waits (up to `timeout` ms, then
   * QueueEmpty) for the first, then takes those already there. The fast way to drain a queue.
   */
  getMany(max: number, options?: ProxyWaitOptions): Promise<T[]> {
    try {
      return this.remoteWait('getMany', [max], options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Cannot answer synchronously in a child: use `await get({ timeout: 0 })`. */
  getNowait(): T {
    throw this.cannotBlock('getNowait', 'await queue.get({ timeout: 0 })');
  }

  /** Cannot block in a child: await `get()`. */
  getSync(_options?: { timeout?: number }): T {
    throw this.cannotBlock('getSync', 'await queue.get()');
  }

  /** Cannot block in a child: await `put()`. */
  putSync(_item: T, _options?: { timeout?: number }): void {
    throw this.cannotBlock('putSync', 'await queue.put(item)');
  }

  /** Marks one item taken by `get` as processed (sent without waiting; see the module notes). */
  taskDone(): void {
    this.post('taskDone');
  }

  /** Resolves once every item ever put has been marked done with `taskDone()`. */
  join(): Promise<void> {
    return this.call('join');
  }

  /** Cannot block in a child: await `join()`. */
  joinSync(): void {
    throw this.cannotBlock('joinSync', 'await queue.join()');
  }

  /** Python 3.13's shutdown (sent without waiting). */
  shutdown(options: { immediate?: boolean } = {}): void {
    this.post('shutdown', options.immediate === true);
  }

  /** Its size and flags now, in one trip (a snapshot, as `qsize()` is in Python). */
  state(): Promise<{ qsize: number; empty: boolean; full: boolean; isShutDown: boolean }> {
    return this.call('state');
  }

  /** Needs the parent: use `(await queue.state()).qsize`. */
  qsize(): number {
    throw this.needsState('qsize()');
  }
  /** Needs the parent: use `(await queue.state()).empty`. */
  empty(): boolean {
    throw this.needsState('empty()');
  }
  /** Needs the parent: use `(await queue.state()).full`. */
  full(): boolean {
    throw this.needsState('full()');
  }
}

/** A `Lock` or `RLock` of the parent, in a child process (an RLock re-enters per process). */
export class LockHandle extends PrimitiveProxy {
  /** Resolves true once held, false after `timeout` ms; BrokenLockError if a holder died. */
  acquire(options?: ProxyWaitOptions): Promise<boolean> {
    try {
      return this.remoteWait('acquire', [], options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Releases it (sent without waiting; a refusal surfaces at the next call). */
  release(): void {
    this.post('release');
  }

  /** Runs `fn` holding the lock, and releases it however `fn` ends. */
  async withLock<R>(fn: () => R | PromiseLike<R>, options?: ProxyWaitOptions): Promise<R> {
    if (!(await this.acquire(options))) {
      throw new Error(`withLock(): the ${this.kind} was not free within ${options?.timeout} ms`);
    }
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Cannot answer synchronously in a child: use `await acquire({ timeout: 0 })`. */
  tryAcquire(): boolean {
    throw this.cannotBlock('tryAcquire', 'await lock.acquire({ timeout: 0 })');
  }

  /** Cannot block in a child: await `acquire()`. */
  acquireSync(_options?: { timeout?: number }): boolean {
    throw this.cannotBlock('acquireSync', 'await lock.acquire()');
  }

  /** Cannot block in a child: await `withLock()`. */
  withLockSync<R>(_fn: () => R, _options?: { timeout?: number }): R {
    throw this.cannotBlock('withLockSync', 'await lock.withLock(fn)');
  }

  /** Held by anyone, broken, held by this process, and how many times (RLock). */
  state(): Promise<{ locked: boolean; broken: boolean; owned: boolean; level: number }> {
    return this.call('state');
  }

  /** Needs the parent: use `(await lock.state()).locked`. */
  get locked(): boolean {
    throw this.needsState('locked');
  }
}

/** A `Condition` (on a Lock) of the parent, in a child process. */
export class ConditionHandle extends LockHandle {
  /** Releases the lock, waits for a notify (true) or `timeout` ms (false), takes the lock back. */
  wait(options?: ProxyWaitOptions): Promise<boolean> {
    try {
      return this.remoteWait('wait', [], options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Waits until `predicate()` is truthy (checked here, with the lock held); returns its last result. */
  async waitFor<R>(predicate: () => R, options?: ProxyWaitOptions): Promise<R> {
    const timeout = checkOptions(options, 'waitFor');
    const deadline = timeout === undefined ? Number.POSITIVE_INFINITY : performance.now() + timeout;
    let result = predicate();
    while (!result) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      await this.wait(Number.isFinite(left) ? { timeout: left, signal: options?.signal } : { signal: options?.signal });
      result = predicate();
    }
    return result;
  }

  /** Wakes up to `n` waiters (default 1); this process must hold the lock (sent without waiting). */
  notify(n = 1): void {
    this.post('notify', n);
  }

  /** Wakes every waiter; this process must hold the lock (sent without waiting). */
  notifyAll(): void {
    this.post('notifyAll');
  }

  /** Cannot block in a child: await `wait()`. */
  waitSync(_options?: { timeout?: number }): boolean {
    throw this.cannotBlock('waitSync', 'await condition.wait()');
  }

  /** Cannot block in a child: await `waitFor()`. */
  waitForSync<R>(_predicate: () => R, _options?: { timeout?: number }): R {
    throw this.cannotBlock('waitForSync', 'await condition.waitFor(predicate)');
  }
}

/** A `Semaphore` or `BoundedSemaphore` of the parent, in a child process. */
export class SemaphoreHandle extends PrimitiveProxy {
  /** Resolves true once a permit is taken, false after `timeout` ms. */
  acquire(options?: ProxyWaitOptions): Promise<boolean> {
    try {
      return this.remoteWait('acquire', [], options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Gives back `n` permits (sent without waiting; a BoundedSemaphore's refusal surfaces at the next call). */
  release(n = 1): void {
    this.post('release', n);
  }

  /** Runs `fn` holding a permit, and gives it back however `fn` ends. */
  async withPermit<R>(fn: () => R | PromiseLike<R>, options?: ProxyWaitOptions): Promise<R> {
    if (!(await this.acquire(options))) {
      throw new Error(`withPermit(): no permit within ${options?.timeout} ms`);
    }
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Cannot answer synchronously in a child: use `await acquire({ timeout: 0 })`. */
  tryAcquire(): boolean {
    throw this.cannotBlock('tryAcquire', 'await semaphore.acquire({ timeout: 0 })');
  }

  /** Cannot block in a child: await `acquire()`. */
  acquireSync(_options?: { timeout?: number }): boolean {
    throw this.cannotBlock('acquireSync', 'await semaphore.acquire()');
  }

  /** Permits free now. */
  state(): Promise<{ value: number }> {
    return this.call('state');
  }

  /** Needs the parent: use `(await semaphore.state()).value`. */
  get value(): number {
    throw this.needsState('value');
  }
}

/** An `Event` of the parent, in a child process. */
export class EventHandle extends PrimitiveProxy {
  /** Sets the flag, waking every waiter (sent without waiting). */
  set(): void {
    this.post('set');
  }

  /** Clears the flag (sent without waiting). */
  clear(): void {
    this.post('clear');
  }

  /** Resolves true once the flag is set, false after `timeout` ms. */
  wait(options?: ProxyWaitOptions): Promise<boolean> {
    try {
      return this.remoteWait('wait', [], options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Cannot block in a child: await `wait()`. */
  waitSync(_options?: { timeout?: number }): boolean {
    throw this.cannotBlock('waitSync', 'await event.wait()');
  }

  /** The flag now. */
  state(): Promise<{ isSet: boolean }> {
    return this.call('state');
  }

  /** Needs the parent: use `(await event.state()).isSet`. */
  isSet(): boolean {
    throw this.needsState('isSet()');
  }
}

/** A `Barrier` of the parent, in a child process. */
export class BarrierHandle extends PrimitiveProxy {
  readonly #parties: number;

  /** @internal */
  constructor(descriptor: PrimitiveDescriptor, channel: BrokerChannel) {
    super(descriptor, channel);
    this.#parties = descriptor.size;
  }

  /** How many parties must call `wait()` for the barrier to trip. */
  get parties(): number {
    return this.#parties;
  }

  /** Waits for all parties; resolves with this party's arrival index. BrokenBarrierError if it breaks. */
  wait(options?: ProxyWaitOptions): Promise<number> {
    try {
      return this.remoteWait('wait', [], options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Back to its initial state (waiters get BrokenBarrierError). */
  reset(): Promise<void> {
    return this.call('reset');
  }

  /** Breaks it: waiters and later waits get BrokenBarrierError. */
  abort(): Promise<void> {
    return this.call('abort');
  }

  /** Cannot block in a child: await `wait()`. */
  waitSync(_options?: { timeout?: number }): number {
    throw this.cannotBlock('waitSync', 'await barrier.wait()');
  }

  /** Parties waiting now, and whether it is broken. */
  state(): Promise<{ nWaiting: number; broken: boolean }> {
    return this.call('state');
  }

  /** Needs the parent: use `(await barrier.state()).nWaiting`. */
  get nWaiting(): number {
    throw this.needsState('nWaiting');
  }

  /** Needs the parent: use `(await barrier.state()).broken`. */
  get broken(): boolean {
    throw this.needsState('broken');
  }
}

const HANDLES: Record<PrimitiveKind, new (d: PrimitiveDescriptor, c: BrokerChannel) => PrimitiveProxy> = {
  Queue: QueueHandle,
  LifoQueue: QueueHandle,
  PriorityQueue: QueueHandle,
  Lock: LockHandle,
  RLock: LockHandle,
  Condition: ConditionHandle,
  Semaphore: SemaphoreHandle,
  BoundedSemaphore: SemaphoreHandle,
  Event: EventHandle,
  Barrier: BarrierHandle,
};

const made = new Map<number, PrimitiveProxy>();

/** @internal The proxy for a descriptor: one per object in this child, however often it arrives. */
export function revivePrimitive(descriptor: PrimitiveDescriptor, channel: BrokerChannel): PrimitiveProxy {
  const known = made.get(descriptor.$skeinPrimitive);
  if (known) return known;
  const Handle = HANDLES[descriptor.kind];
  if (!Handle) throw new TypeError(`unknown shared primitive kind ${String(descriptor.kind)}`);
  const proxy = new Handle(descriptor, channel);
  made.set(descriptor.$skeinPrimitive, proxy);
  return proxy;
}
