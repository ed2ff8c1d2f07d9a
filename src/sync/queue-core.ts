/**
 * A queue's shared header and its core: the few synchronous lines, under a lock, that put an
 * item in or take one out. queue.ts does the waiting around them; the core does the storing.
 *
 *   header (Int32, three cache lines, so that a putter and a getter do not write the same one):
 *     line 0, read-mostly   identity, SHUTDOWN, MAXSIZE, CAPACITY, GET_SLEEPERS, PUT_SLEEPERS
 *     line 1, getters       HEAD_LOCK (+ sleepers), HEAD, GETS, FREED, CACHED_TAIL
 *     line 2, putters       TAIL_LOCK (+ sleepers), TAIL, PUTS, ALLOCATED, CACHED_HEAD, UNFINISHED
 *
 * Two cores: a FIFO Queue's ring (record-ring.ts) has a lock per side, so a putter and a getter
 * never wait for each other; a LifoQueue's or PriorityQueue's heap (HeapCore, here) is one
 * structure that both change, under HEAD_LOCK alone.
 */
import { BrokenLockError, QueueShutDown } from './errors.js';
import { breakIfHeldBy, lockBriefly, unlockBriefly } from './futex.js';
import { ItemArena, type RecordBuffers, type StoredItem } from './item-arena.js';
import { readItem } from './item-codec.js';
import { type HeapOrder, RecordHeap } from './record-heap.js';
import { taskStopped } from './task-stop.js';

export const SHUTDOWN = 2;
export const MAXSIZE = 3;
export const CAPACITY = 4;
export const GET_SLEEPERS = 5;
export const PUT_SLEEPERS = 6;
export const HEAD_LOCK = 16;
export const HEAD_LOCK_SLEEPERS = 17;
export const HEAD = 18;
export const GETS = 19;
export const FREED = 20;
export const CACHED_TAIL = 21;
export const TAIL_LOCK = 32;
export const TAIL_LOCK_SLEEPERS = 33;
export const TAIL = 34;
export const PUTS = 35;
export const ALLOCATED = 36;
export const CACHED_HEAD = 37;
export const UNFINISHED = 38;
export const HEADER_WORDS = 48;

/** tryGet: the queue holds no item. */
export const EMPTY = Symbol('empty');
/** tryGet: the running task was stopped by its pool, so it takes nothing. */
export const STOPPED = Symbol('stopped');

/** Its locks are held for microseconds; this long means a holder died inside put/get. */
const LOCK_PATIENCE_MS = 5000;

export function brokenQueue(): BrokenLockError {
  return new BrokenLockError('the queue is broken: a thread died in the middle of a put or get');
}

/** Takes one of the queue's locks (HEAD_LOCK or TAIL_LOCK; its sleepers count is the next word). */
export function enter(memory: Int32Array, lock: number): void {
  if (!lockBriefly(memory, lock, lock + 1, LOCK_PATIENCE_MS)) throw brokenQueue();
}

export function leave(memory: Int32Array, lock: number): void {
  unlockBriefly(memory, lock, lock + 1);
}

export function putAfterShutdown(): QueueShutDown {
  return new QueueShutDown('put() on a queue that was shut down');
}

export function getAfterShutdown(): QueueShutDown {
  return new QueueShutDown('get() on a queue that was shut down and is empty');
}

export interface QueueCore {
  /** Items in the queue now (a snapshot). */
  readonly size: number;
  /**
   * Stores an item if there is room (maxsize, memory), counting it in UNFINISHED and PUTS.
   * Throws QueueShutDown after shutdown.
   */
  tryPut(item: StoredItem, priority: number): boolean;
  /**
   * Takes the next item as readItem left it (finishItem it), counting GETS; EMPTY if there is
   * none (QueueShutDown if none will come); STOPPED if the pool stopped the running task. The
   * stop check and the take are made under the getters' lock, and the item is one that was in the
   * queue before the check (the ring reads TAIL first): no other thread takes or puts that item
   * between the two, so an item never leaves for a task that was stopped before it left.
   */
  tryGet(): unknown;
  /** Marks the queue shut down; with `immediate`, drops every item. Returns how many were dropped. */
  shutDown(immediate: boolean): number;
  /** A thread died: if it held a lock of the queue, the queue is broken. */
  threadExited(deadThread: number): void;
}

/** A LifoQueue's or PriorityQueue's core: a heap under one lock. */
export class HeapCore implements QueueCore {
  readonly #heap: RecordHeap;

  constructor(
    private readonly memory: Int32Array,
    buffers: RecordBuffers,
    order: HeapOrder,
  ) {
    const arena = new ItemArena(
      buffers,
      memory,
      ALLOCATED,
      FREED,
      () => this.#heap.entryOffsets(),
      (compact) => compact(),
    );
    this.#heap = new RecordHeap(buffers, arena, order);
  }

  get size(): number {
    return this.#heap.size;
  }

  tryPut(item: StoredItem, priority: number): boolean {
    const memory = this.memory;
    enter(memory, HEAD_LOCK);
    try {
      if (Atomics.load(memory, SHUTDOWN) === 1) throw putAfterShutdown();
      const maxsize = memory[MAXSIZE] as number;
      if ((maxsize > 0 && this.#heap.size >= maxsize) || !this.#heap.push(item, priority)) return false;
      Atomics.add(memory, UNFINISHED, 1);
      Atomics.add(memory, PUTS, 1);
      return true;
    } finally {
      leave(memory, HEAD_LOCK);
    }
  }

  tryGet(): unknown {
    const memory = this.memory;
    enter(memory, HEAD_LOCK);
    try {
      if (taskStopped()) return STOPPED;
      const read = this.#heap.pop(readItem, EMPTY);
      if (read === EMPTY) {
        if (Atomics.load(memory, SHUTDOWN) === 1) throw getAfterShutdown();
        return EMPTY;
      }
      Atomics.add(memory, GETS, 1);
      return read;
    } finally {
      leave(memory, HEAD_LOCK);
    }
  }

  shutDown(immediate: boolean): number {
    const memory = this.memory;
    enter(memory, HEAD_LOCK);
    try {
      Atomics.store(memory, SHUTDOWN, 1);
      return immediate ? this.#heap.clear() : 0;
    } finally {
      leave(memory, HEAD_LOCK);
    }
  }

  threadExited(deadThread: number): void {
    breakIfHeldBy(this.memory, HEAD_LOCK, deadThread);
  }
}
