/**
 * A FIFO Queue's core: a ring of entries with one lock per side (Michael & Scott's two-lock
 * queue, on a ring), so that a putter and a getter never wait for each other, and a putter the
 * OS deschedules in the middle of a put does not stop getters from taking what is there.
 *
 *   putter: [TAIL_LOCK] room? (CACHED_HEAD, else HEAD) ─► write entry TAIL ─► TAIL+1 [/TAIL_LOCK]
 *   getter: [HEAD_LOCK] item? (CACHED_TAIL, else TAIL) ─► read entry HEAD ─► HEAD+1 [/HEAD_LOCK]
 *
 *   index   [meta][offset, length][offset, length]...   a ring of CAPACITY entries (a power of
 *            two); HEAD and TAIL count puts and gets (wrapping Int32), entry = position & (CAPACITY-1)
 *
 * A putter writes an entry before it publishes TAIL and a getter reads one before it publishes
 * HEAD, both with Atomics.store, so the other side never sees a half-written entry. Each side
 * keeps the last value it read of the other side's position (CACHED_*), and reads the other
 * side's cache line only when that value says full or empty. What changes both sides' view (the
 * ring growing, the arena compacting, shutdown) takes TAIL_LOCK then HEAD_LOCK, in that order.
 */

import { breakIfHeldBy } from './futex.js';
import { allocateRecordBuffers, ItemArena, META_WORDS, type RecordBuffers, type StoredItem } from './item-arena.js';
import { readItem } from './item-codec.js';
import {
  ALLOCATED,
  CACHED_HEAD,
  CACHED_TAIL,
  CAPACITY,
  EMPTY,
  enter,
  FREED,
  GETS,
  getAfterShutdown,
  HEAD,
  HEAD_LOCK,
  leave,
  MAXSIZE,
  PUTS,
  putAfterShutdown,
  type QueueCore,
  SHUTDOWN,
  STOPPED,
  TAIL,
  TAIL_LOCK,
  UNFINISHED,
} from './queue-core.js';
import { taskStopped } from './task-stop.js';

const STRIDE = 2;
const INITIAL_ENTRIES = 1024;
/** Entries at most of an unbounded queue (and of a bounded one: a larger maxsize holds this many). */
const MAX_ENTRIES = 2 ** 22;

function ringSize(maxItems: number): number {
  let entries = 1;
  while (entries < Math.min(maxItems > 0 ? maxItems : MAX_ENTRIES, MAX_ENTRIES)) entries *= 2;
  return entries;
}

/** The ring's buffers, and its first capacity, to store in the header's CAPACITY word. */
export function allocateRecordRing(maxItems: number, maxBytes: number): { buffers: RecordBuffers; capacity: number } {
  const maxEntries = ringSize(maxItems);
  const capacity = Math.min(INITIAL_ENTRIES, maxEntries);
  return { buffers: allocateRecordBuffers(capacity, maxEntries, STRIDE, maxBytes), capacity };
}

function entry(position: number, capacity: number): number {
  return META_WORDS + (position & (capacity - 1)) * STRIDE;
}

export class RingCore implements QueueCore {
  readonly #arena: ItemArena;

  constructor(
    private readonly memory: Int32Array,
    private readonly buffers: RecordBuffers,
  ) {
    this.#arena = new ItemArena(
      buffers,
      memory,
      ALLOCATED,
      FREED,
      () => this.#entries(),
      (compact) => this.#withGettersOut(compact),
    );
  }

  get size(): number {
    const memory = this.memory;
    // HEAD first: TAIL read after it is at least as far on, so the difference is never negative.
    const head = Atomics.load(memory, HEAD);
    const size = (Atomics.load(memory, TAIL) - head) | 0;
    const maxsize = memory[MAXSIZE] as number;
    return maxsize > 0 && size > maxsize ? maxsize : size;
  }

  tryPut(item: StoredItem, _priority: number): boolean {
    const memory = this.memory;
    enter(memory, TAIL_LOCK);
    try {
      if (Atomics.load(memory, SHUTDOWN) === 1) throw putAfterShutdown();
      const tail = memory[TAIL] as number;
      const maxsize = memory[MAXSIZE] as number;
      let capacity = memory[CAPACITY] as number;
      const limit = maxsize > 0 ? maxsize : MAX_ENTRIES;
      let size = (tail - (memory[CACHED_HEAD] as number)) | 0;
      if (size >= limit || size >= capacity) {
        const head = Atomics.load(memory, HEAD);
        memory[CACHED_HEAD] = head;
        size = (tail - head) | 0;
        if (size >= limit) return false;
        if (size >= capacity) {
          if (!this.#grow()) return false;
          capacity = memory[CAPACITY] as number;
        }
      }
      if (!this.#arena.place(entry(tail, capacity), item)) return false;
      // Counted unfinished before any getter can see it (its taskDone() may come at once).
      Atomics.add(memory, UNFINISHED, 1);
      Atomics.store(memory, TAIL, (tail + 1) | 0);
      Atomics.add(memory, PUTS, 1);
      return true;
    } finally {
      leave(memory, TAIL_LOCK);
    }
  }

  tryGet(): unknown {
    const memory = this.memory;
    enter(memory, HEAD_LOCK);
    try {
      const head = memory[HEAD] as number;
      let tail = memory[CACHED_TAIL] as number;
      if (head === tail) {
        tail = Atomics.load(memory, TAIL);
        memory[CACHED_TAIL] = tail;
      }
      // After TAIL was read: only an item put before the check can be taken (see QueueCore.tryGet).
      if (taskStopped()) return STOPPED;
      if (head === tail) {
        if (Atomics.load(memory, SHUTDOWN) === 1) throw getAfterShutdown();
        return EMPTY;
      }
      const read = this.#arena.take(entry(head, memory[CAPACITY] as number), readItem);
      Atomics.store(memory, HEAD, (head + 1) | 0);
      Atomics.add(memory, GETS, 1);
      return read;
    } finally {
      leave(memory, HEAD_LOCK);
    }
  }

  shutDown(immediate: boolean): number {
    const memory = this.memory;
    enter(memory, TAIL_LOCK);
    try {
      enter(memory, HEAD_LOCK);
      try {
        Atomics.store(memory, SHUTDOWN, 1);
        if (!immediate) return 0;
        const tail = Atomics.load(memory, TAIL);
        const removed = (tail - Atomics.load(memory, HEAD)) | 0;
        Atomics.store(memory, HEAD, tail);
        memory[CACHED_TAIL] = tail;
        memory[CACHED_HEAD] = tail;
        this.#arena.reset();
        return removed;
      } finally {
        leave(memory, HEAD_LOCK);
      }
    } finally {
      leave(memory, TAIL_LOCK);
    }
  }

  threadExited(deadThread: number): void {
    breakIfHeldBy(this.memory, TAIL_LOCK, deadThread);
    breakIfHeldBy(this.memory, HEAD_LOCK, deadThread);
  }

  /** Index positions of the entries from HEAD to TAIL (a putter holds TAIL_LOCK, getters are kept out). */
  #entries(): number[] {
    const memory = this.memory;
    const capacity = memory[CAPACITY] as number;
    const tail = memory[TAIL] as number;
    const out: number[] = [];
    for (let position = memory[HEAD] as number; position !== tail; position = (position + 1) | 0) {
      out.push(entry(position, capacity));
    }
    return out;
  }

  /** Runs `work` (a putter, holding TAIL_LOCK) with HEAD_LOCK held too: no getter reads an entry meanwhile. */
  #withGettersOut(work: () => void): void {
    enter(this.memory, HEAD_LOCK);
    try {
      work();
    } finally {
      leave(this.memory, HEAD_LOCK);
    }
  }

  /**
   * Doubles a full ring (a putter holding TAIL_LOCK, getters kept out). An entry's place is its
   * position & (capacity - 1): after doubling, the entries whose position has the old capacity's
   * bit set move up by the old capacity, into the new half, where nothing lives yet.
   */
  #grow(): boolean {
    const memory = this.memory;
    const before = memory[CAPACITY] as number;
    const after = before * 2;
    if (!growBufferTo(this.buffers.index, (META_WORDS + after * STRIDE) * 8)) return false;
    this.#withGettersOut(() => {
      const index = this.#arena.index;
      const tail = memory[TAIL] as number;
      for (let position = memory[HEAD] as number; position !== tail; position = (position + 1) | 0) {
        if ((position & before) === 0) continue;
        const from = entry(position, before);
        index[from + before * STRIDE] = index[from] as number;
        index[from + before * STRIDE + 1] = index[from + 1] as number;
      }
      Atomics.store(memory, CAPACITY, after);
    });
    return true;
  }
}

/** Grows a SAB to exactly `bytes`; false if that is past its maximum. */
function growBufferTo(buffer: SharedArrayBuffer, bytes: number): boolean {
  if (bytes > buffer.maxByteLength) return false;
  if (bytes > buffer.byteLength) buffer.grow(bytes);
  return true;
}
