/**
 * `Queue`, `LifoQueue`, `PriorityQueue`: Python's `queue` classes over shared memory, so that
 * threads (and async tasks) pass items to each other. Items travel by structured clone, as
 * arguments to a worker do (see item-codec.ts): a consumer gets a copy.
 *
 *   put ─► storeItem ─► core.tryPut: [lock] store, PUTS+1 [/lock] ─► a getter asleep on PUTS? wake one
 *   get ◄─ finishItem ◄─ core.tryGet: [lock] take (readItem), GETS+1 [/lock] ─► a putter asleep on GETS? wake one
 *
 * The core (queue-core.ts) is a ring with a lock per side for a FIFO queue (record-ring.ts), a
 * heap under one lock for the others; a number, boolean, null or undefined is kept in place in its
 * entry, without bytes. A lock guards only a few synchronous lines, never an await, so any thread,
 * the main one included, may take it by blocking briefly. Waiting for an item or for room is done
 * on the PUTS and GETS counters: a getter reads PUTS before it looks and sleeps only while PUTS is
 * unchanged, so a put between its look and its sleep cannot be missed. Before it sleeps it spins a little, as long as
 * spinning has lately paid (futex.ts's AdaptiveSpin: on a busy machine it soon stops). Whoever
 * wakes a sleeper takes it off the sleepers count, so a sleeper costs one wake-up, not one per
 * item put until it runs. Async waiters of one thread queue in FIFO lists with one driver each
 * per thread. The locks (owner words) and the drivers are futex.ts's, as the Lock's are.
 */
import { checkOptions, optionKeys, shownValue } from '../futures/options.js';
import { QueueEmpty, QueueFull } from './errors.js';
import {
  AdaptiveSpin,
  type DriverRounds,
  sleepTakenOffByWaker,
  WaitDriver,
  wakeAllCounted,
  wakeOneCounted,
} from './futex.js';
import type { RecordBuffers, StoredItem } from './item-arena.js';
import { finishItem, storedItem, storeItem } from './item-codec.js';
import {
  CAPACITY,
  EMPTY,
  GET_SLEEPERS,
  GETS,
  HEADER_WORDS,
  HeapCore,
  MAXSIZE,
  PUT_SLEEPERS,
  PUTS,
  type QueueCore,
  SHUTDOWN,
  STOPPED,
  UNFINISHED,
} from './queue-core.js';
import { allocateRecordHeap } from './record-heap.js';
import { allocateRecordRing, RingCore } from './record-ring.js';
import {
  allocateWords,
  assertMayBlock,
  DESCRIBE,
  deadlineOf,
  holdEventLoop,
  rebuild,
  rebuildingFrom,
  registerKind,
  releaseEventLoop,
  type SharedDescriptor,
  SharedPrimitive,
  THREAD_EXITED,
} from './shared-memory.js';
import { assertNotStopped, stoppedError, taskStopped } from './task-stop.js';
import { abortReason, checkBlockingWaitOptions, checkWaitOptions, WaiterList, type WaitOptions } from './waiters.js';

const TIMED_OUT = Symbol('timed out');
const RESOLVED = Promise.resolve();

/** The order items leave a queue in. */
export type QueueOrder = 'fifo' | 'lifo' | 'priority';

/** Options of `new Queue(options)` (and LifoQueue, PriorityQueue). */
export interface QueueOptions {
  /**
   * Items at most; 0 (default) means unbounded. `put` waits while the queue is full. A FIFO queue,
   * and any unbounded one, holds 2^22 (4,194,304) items at most whatever this says.
   */
  maxsize?: number;
  /** Bytes of serialized items at most (default 256 MiB, reserved, not allocated). `put` waits while they do not fit. */
  maxBytes?: number;
}

/** The option names of `new Queue(options)` (an unknown one is a TypeError, as in Python). */
export const QUEUE_OPTION_KEYS = optionKeys<QueueOptions>({ maxsize: true, maxBytes: true });

/** `queue.Queue` / `asyncio.Queue` in one: FIFO, shared by every thread it is passed to. */
export class Queue<T = unknown> extends SharedPrimitive {
  /** @internal */
  readonly memory: Int32Array;
  readonly #buffers: RecordBuffers;
  readonly #core: QueueCore;
  /** How the item being put now is stored; reused from put to put (a waiting putter keeps a copy). */
  readonly #putting = storedItem();
  readonly #getSpin = new AdaptiveSpin();
  readonly #putSpin = new AdaptiveSpin();
  readonly #getters = new WaiterList<T | typeof TIMED_OUT>('take an item from a Queue');
  readonly #putters = new WaiterList<true | typeof TIMED_OUT>('wait to put an item in a Queue');
  readonly #getterDriver: WaitDriver;
  readonly #putterDriver: WaitDriver;

  constructor(options: QueueOptions = {}) {
    super();
    if (typeof options === 'number') {
      throw new TypeError(
        `new ${this.constructor.name}(options): pass the size as { maxsize: ${options} }, got the number ${options}`,
      );
    }
    checkOptions(`new ${this.constructor.name}(options)`, options, QUEUE_OPTION_KEYS);
    const attached = rebuildingFrom<{ memory: Int32Array; store: RecordBuffers }>();
    if (attached) {
      this.memory = attached.memory;
      this.#buffers = attached.store;
    } else {
      const maxsize = options.maxsize ?? 0;
      if (!Number.isInteger(maxsize) || maxsize < 0 || maxsize > 2 ** 31 - 1) {
        throw new RangeError(
          `Queue maxsize must be an integer >= 0 (0: unbounded), got ${shownValue(options.maxsize)}`,
        );
      }
      const maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
      if (!Number.isInteger(maxBytes) || maxBytes < 1024 || maxBytes >= 2 ** 32) {
        throw new RangeError(
          `Queue maxBytes must be an integer from 1024 to 2**32 - 1, got ${shownValue(options.maxBytes)}`,
        );
      }
      this.memory = allocateWords(HEADER_WORDS);
      this.memory[MAXSIZE] = maxsize;
      if (this.order === 'fifo') {
        const ring = allocateRecordRing(maxsize, maxBytes);
        this.#buffers = ring.buffers;
        this.memory[CAPACITY] = ring.capacity;
      } else {
        this.#buffers = allocateRecordHeap(maxsize, maxBytes);
      }
    }
    const order = this.order;
    this.#core =
      order === 'fifo' ? new RingCore(this.memory, this.#buffers) : new HeapCore(this.memory, this.#buffers, order);
    this.#getterDriver = new WaitDriver(
      this.memory,
      PUTS,
      GET_SLEEPERS,
      this.#rounds(this.#getters, PUTS, GET_SLEEPERS),
      true,
    );
    this.#putterDriver = new WaitDriver(
      this.memory,
      GETS,
      PUT_SLEEPERS,
      this.#rounds(this.#putters, GETS, PUT_SLEEPERS),
      true,
    );
  }

  /** @internal How items leave: overridden by LifoQueue and PriorityQueue. */
  get order(): QueueOrder {
    return 'fifo';
  }

  /** Items the queue holds at most (0: unbounded), as given to the constructor. */
  get maxsize(): number {
    return this.memory[MAXSIZE] as number;
  }

  /** Items in the queue right now (already stale when another thread is busy with it). */
  qsize(): number {
    return this.#core.size;
  }

  /** True when it holds no item now (a snapshot: another thread may put one at once). */
  empty(): boolean {
    return this.qsize() === 0;
  }

  /** True when it holds `maxsize` items now (a snapshot), never for an unbounded queue. */
  full(): boolean {
    return this.maxsize > 0 && this.qsize() >= this.maxsize;
  }

  /**
   * Puts an item, waiting while the queue is full. Rejects with QueueFull if `timeout` ms pass
   * first, the signal's reason if `signal` aborts first, QueueShutDown after shutdown().
   */
  put(item: T, options?: WaitOptions): Promise<void> {
    try {
      checkWaitOptions('Queue.put(item, options)', options);
      const signal = options?.signal;
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      const stored = storeItem(item, this.#putting);
      const priority = this.priorityOf(item);
      if (this.#putters.length === 0 && this.#tryPut(stored, priority)) {
        this.#pump();
        return RESOLVED;
      }
      const deadline = deadlineOf(options?.timeout);
      if (options?.timeout === 0) return Promise.reject(this.#full());
      const waiter = this.#putters.add(deadline, signal, TIMED_OUT);
      waiter.data = [{ ...stored }, priority];
      this.#putterDriver.start();
      return waiter.promise.then((result) => {
        if (result === TIMED_OUT) throw this.#full(options?.timeout);
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Puts an item if there is room now; otherwise throws QueueFull. */
  putNowait(item: T): void {
    const stored = storeItem(item, this.#putting);
    if (this.#putters.length > 0 || !this.#tryPut(stored, this.priorityOf(item))) throw this.#full();
    this.#pump();
  }

  /** `put` for worker code: blocks this thread while the queue is full. */
  putSync(item: T, options?: { timeout?: number }): void {
    assertMayBlock('Queue.putSync');
    checkBlockingWaitOptions('Queue.putSync(item, options)', options);
    const stored = storeItem(item, this.#putting);
    const priority = this.priorityOf(item);
    const deadline = deadlineOf(options?.timeout);
    const memory = this.memory;
    for (;;) {
      const gets = Atomics.load(memory, GETS);
      if (this.#tryPut(stored, priority)) return;
      if (performance.now() >= deadline) throw this.#full(options?.timeout);
      assertNotStopped('wait to put an item in a Queue');
      if (this.#putSpin.untilChanged(memory, GETS, gets)) continue;
      sleepTakenOffByWaker(memory, GETS, PUT_SLEEPERS, gets, deadline);
      if (taskStopped()) {
        // Stopped while asleep: the room this wake-up announced belongs to another putter.
        if (Atomics.load(memory, PUT_SLEEPERS) > 0) wakeOneCounted(memory, GETS, PUT_SLEEPERS);
        throw stoppedError('wait to put an item in a Queue');
      }
    }
  }

  /**
   * Takes the next item, waiting while the queue is empty. Rejects with QueueEmpty if `timeout`
   * ms pass first, the signal's reason if `signal` aborts first, QueueShutDown once the queue is
   * shut down and empty.
   */
  get(options?: WaitOptions): Promise<T> {
    try {
      checkWaitOptions('Queue.get(options)', options);
      const signal = options?.signal;
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      if (this.#getters.length === 0) {
        const read = this.#tryGet();
        if (read !== EMPTY) {
          this.#pump();
          return Promise.resolve(finishItem(read) as T);
        }
      }
      const deadline = deadlineOf(options?.timeout);
      if (options?.timeout === 0) return Promise.reject(new QueueEmpty('the queue is empty'));
      const waiter = this.#getters.add(deadline, signal, TIMED_OUT);
      this.#getterDriver.start();
      return waiter.promise.then((result) => {
        if (result === TIMED_OUT) throw new QueueEmpty(`no item came within ${options?.timeout} ms`);
        return result;
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Takes the next item if there is one now; otherwise throws QueueEmpty. */
  getNowait(): T {
    const read = this.#getters.length === 0 ? this.#tryGet() : EMPTY;
    if (read === EMPTY) throw new QueueEmpty('the queue is empty');
    this.#pump();
    return finishItem(read) as T;
  }

  /** `get` for worker code: blocks this thread while the queue is empty. */
  getSync(options?: { timeout?: number }): T {
    assertMayBlock('Queue.getSync');
    checkBlockingWaitOptions('Queue.getSync(options)', options);
    const deadline = deadlineOf(options?.timeout);
    const memory = this.memory;
    for (;;) {
      const puts = Atomics.load(memory, PUTS);
      const read = this.#tryGet();
      if (read !== EMPTY) return finishItem(read) as T;
      if (performance.now() >= deadline) throw new QueueEmpty(`no item came within ${options?.timeout} ms`);
      assertNotStopped('take an item from a Queue');
      if (this.#getSpin.untilChanged(memory, PUTS, puts)) continue;
      sleepTakenOffByWaker(memory, PUTS, GET_SLEEPERS, puts, deadline);
    }
  }

  /** Marks one item taken by `get` as processed; `join()` returns when every put item is. */
  taskDone(): void {
    const before = Atomics.sub(this.memory, UNFINISHED, 1);
    if (before <= 0) {
      Atomics.add(this.memory, UNFINISHED, 1);
      throw new RangeError('taskDone() called more times than there were items put');
    }
    if (before === 1) Atomics.notify(this.memory, UNFINISHED);
  }

  /** Resolves once every item ever put has been marked done with `taskDone()`. */
  async join(): Promise<void> {
    const memory = this.memory;
    for (;;) {
      const unfinished = Atomics.load(memory, UNFINISHED);
      if (unfinished === 0) return;
      holdEventLoop();
      try {
        const wait = Atomics.waitAsync(memory, UNFINISHED, unfinished);
        if (wait.async) await wait.value;
      } finally {
        releaseEventLoop();
      }
    }
  }

  /** `join` for worker code: blocks this thread. */
  joinSync(): void {
    assertMayBlock('Queue.joinSync');
    for (;;) {
      const unfinished = Atomics.load(this.memory, UNFINISHED);
      if (unfinished === 0) return;
      Atomics.wait(this.memory, UNFINISHED, unfinished);
    }
  }

  /**
   * Python 3.13's shutdown: later puts throw QueueShutDown, and gets do once the queue is empty;
   * every waiter wakes to find that out. `immediate` also discards the items left (and counts
   * them done for join()).
   */
  shutdown(options: { immediate?: boolean } = {}): void {
    const memory = this.memory;
    const removed = this.#core.shutDown(options.immediate === true);
    if (removed > 0 && Atomics.sub(memory, UNFINISHED, removed) - removed <= 0) Atomics.store(memory, UNFINISHED, 0);
    Atomics.add(memory, PUTS, 1);
    Atomics.add(memory, GETS, 1);
    wakeAllCounted(memory, PUTS, GET_SLEEPERS);
    wakeAllCounted(memory, GETS, PUT_SLEEPERS);
    if (Atomics.load(memory, UNFINISHED) === 0) Atomics.notify(memory, UNFINISHED);
    this.#pump();
  }

  /** True after `shutdown()`: puts fail with QueueShutDown, gets drain what is left, then fail. */
  get isShutDown(): boolean {
    return Atomics.load(this.memory, SHUTDOWN) === 1;
  }

  /** @internal The priority of an item (PriorityQueue); 0 elsewhere. */
  protected priorityOf(_item: T): number {
    return 0;
  }

  #full(timeout?: number): QueueFull {
    return new QueueFull(
      timeout === undefined ? 'the queue is full' : `the queue stayed full (or out of maxBytes) for ${timeout} ms`,
    );
  }

  // ---- around the core

  /** Stores the item if there is room, then wakes a getter if one is asleep. */
  #tryPut(stored: StoredItem, priority: number): boolean {
    if (!this.#core.tryPut(stored, priority)) return false;
    const memory = this.memory;
    if (Atomics.load(memory, GET_SLEEPERS) > 0) wakeOneCounted(memory, PUTS, GET_SLEEPERS);
    return true;
  }

  /** The next item as readItem left it (finishItem it), or EMPTY; a stopped task gets none. */
  #tryGet(): unknown {
    const memory = this.memory;
    const read = this.#core.tryGet();
    if (read === EMPTY) return EMPTY;
    if (read === STOPPED) {
      // This thread may have been woken for an item: pass the wake-up on to another getter.
      if (this.#core.size > 0 && Atomics.load(memory, GET_SLEEPERS) > 0) wakeOneCounted(memory, PUTS, GET_SLEEPERS);
      throw stoppedError('take an item from a Queue');
    }
    if (Atomics.load(memory, PUT_SLEEPERS) > 0) wakeOneCounted(memory, GETS, PUT_SLEEPERS);
    return read;
  }

  // ---- this thread's async waiters

  /** Serves this thread's waiting putters and getters for as long as that makes progress. */
  #pump(): void {
    for (let progress = true; progress; ) {
      progress = false;
      for (let getter = this.#getters.first(); getter; getter = this.#getters.first()) {
        let read: unknown;
        try {
          read = this.#tryGet();
        } catch (error) {
          this.#getters.failAll(error);
          break;
        }
        if (read === EMPTY) break;
        this.#getters.settle(getter, finishItem(read) as T);
        progress = true;
      }
      this.#putters.refuseIfStopped();
      for (let putter = this.#putters.first(); putter; putter = this.#putters.first()) {
        const [stored, priority] = putter.data as [StoredItem, number];
        let put: boolean;
        try {
          put = this.#tryPut(stored, priority);
        } catch (error) {
          this.#putters.failAll(error);
          break;
        }
        if (!put) break;
        this.#putters.settle(putter, true);
        progress = true;
      }
    }
  }

  /**
   * A driver's rounds for `waiters` (getters or putters), asleep on `counter` (PUTS or GETS):
   * each round notes the counter, serves every waiter it can, and sleeps while it is unchanged.
   */
  #rounds(waiters: { readonly length: number }, counter: number, sleepers: number): DriverRounds {
    const memory = this.memory;
    return {
      pending: () => waiters.length,
      serve: () => {
        const seen = Atomics.load(memory, counter);
        this.#pump();
        return seen;
      },
      woken: (result) => {
        // Woken for waiters that have all given up: pass the wake-up on.
        if (result === 'ok' && waiters.length === 0) wakeOneCounted(memory, counter, sleepers);
      },
    };
  }

  /** @internal */
  [DESCRIBE](): SharedDescriptor {
    return {
      $skein:
        this.constructor === PriorityQueue ? 'PriorityQueue' : this.constructor === LifoQueue ? 'LifoQueue' : 'Queue',
      buffers: [this.memory.buffer as SharedArrayBuffer, this.#buffers.index, this.#buffers.arena],
    };
  }

  /** @internal */
  [THREAD_EXITED](deadThread: number): void {
    const memory = this.memory;
    this.#core.threadExited(deadThread);
    // It may have died just as it was woken, taking the wake-up with it: let sleepers look again.
    wakeAllCounted(memory, PUTS, GET_SLEEPERS);
    wakeAllCounted(memory, GETS, PUT_SLEEPERS);
  }
}

/** `queue.LifoQueue`: the last item put is the first out. */
export class LifoQueue<T = unknown> extends Queue<T> {
  override get order(): QueueOrder {
    return 'lifo';
  }
}

/**
 * `queue.PriorityQueue`: the item with the lowest priority number comes out first; equal
 * priorities in the order put. The priority is the item itself if it is a number, or its first
 * element (`put([priority, data])`, as in Python).
 */
export class PriorityQueue<T = unknown> extends Queue<T> {
  override get order(): QueueOrder {
    return 'priority';
  }

  protected override priorityOf(item: T): number {
    const priority = typeof item === 'number' ? item : Array.isArray(item) ? item[0] : undefined;
    if (typeof priority !== 'number' || Number.isNaN(priority)) {
      throw new TypeError(
        'a PriorityQueue orders items by a number: put the number itself, or [priority, data] (as in Python)',
      );
    }
    return priority;
  }
}

function attach<Q extends Queue>(Kind: new () => Q, d: SharedDescriptor): Q {
  const [header, index, arena] = d.buffers as [SharedArrayBuffer, SharedArrayBuffer, SharedArrayBuffer];
  return rebuild(() => new Kind(), { memory: new Int32Array(header), store: { index, arena } });
}

registerKind('Queue', (d) => attach(Queue, d));
registerKind('LifoQueue', (d) => attach(LifoQueue, d));
registerKind('PriorityQueue', (d) => attach(PriorityQueue, d));
