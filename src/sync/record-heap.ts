/**
 * The storage of a shared Queue: serialized items in shared memory, in the order they leave.
 * Not thread-safe by itself: the queue calls it with its mutex held.
 *
 *   index (growable SAB, Float64)   [meta: counter, top, live, size][key, seq, offset, length]...
 *                                     a binary heap ordered by (key, seq)
 *   arena (growable SAB, bytes)     item bytes, bump-allocated at `top`; compacted when full
 *
 * One heap serves all three orders: FIFO is key 0 with seq rising, LIFO key 0 with seq falling,
 * a priority queue key = priority with seq rising (equal priorities leave in the order they
 * came, like Python's usual (priority, count, item) tuples).
 */

const STRIDE = 4;
const KEY = 0;
const SEQ = 1;
const OFFSET = 2;
const LENGTH = 3;
// Entry 0 is metadata.
const META_COUNTER = 0;
const META_TOP = 1;
const META_LIVE = 2;
const META_SIZE = 3;

export type QueueOrder = 'fifo' | 'lifo' | 'priority';

const INITIAL_ENTRIES = 64;
const INITIAL_ARENA = 64 * 1024;

export interface RecordHeapBuffers {
  readonly index: SharedArrayBuffer;
  readonly arena: SharedArrayBuffer;
}

export function allocateRecordHeap(maxItems: number, maxBytes: number): RecordHeapBuffers {
  const maxEntries = maxItems > 0 ? maxItems + 1 : 2 ** 22;
  return {
    index: new SharedArrayBuffer(Math.min(INITIAL_ENTRIES, maxEntries) * STRIDE * 8, {
      maxByteLength: maxEntries * STRIDE * 8,
    }),
    arena: new SharedArrayBuffer(Math.min(INITIAL_ARENA, maxBytes), { maxByteLength: maxBytes }),
  };
}

export class RecordHeap {
  // Length-tracking views: they see a growth made by any thread.
  private readonly index: Float64Array;
  private readonly arena: Uint8Array;

  constructor(
    private readonly buffers: RecordHeapBuffers,
    private readonly order: QueueOrder,
  ) {
    this.index = new Float64Array(buffers.index);
    this.arena = new Uint8Array(buffers.arena);
  }

  get size(): number {
    return this.index[META_SIZE] as number;
  }

  /** Stores an item's bytes; false if the queue's memory (maxBytes or its item limit) has no room. */
  push(bytes: Uint8Array, priority: number): boolean {
    const index = this.index;
    const size = this.size;
    if ((size + 2) * STRIDE > index.length && !this.growIndex(size + 2)) return false;
    const offset = this.allocate(bytes.length);
    if (offset < 0) return false;
    this.arena.set(bytes, offset);
    const counter = index[META_COUNTER] as number;
    index[META_COUNTER] = counter + 1;
    let at = size + 1;
    index[META_SIZE] = size + 1;
    this.write(
      at,
      this.order === 'priority' ? priority : 0,
      this.order === 'lifo' ? -counter : counter,
      offset,
      bytes.length,
    );
    // Sift up.
    while (at > 1) {
      const parent = at >> 1;
      if (!this.less(at, parent)) break;
      this.swap(at, parent);
      at = parent;
    }
    return true;
  }

  /** Removes the first item and returns what `read` makes of its bytes; `empty` if there is none. */
  pop<R, E>(read: (arena: Uint8Array, offset: number, length: number) => R, empty: E): R | E {
    const index = this.index;
    const size = this.size;
    if (size === 0) return empty;
    const offset = index[STRIDE + OFFSET] as number;
    const length = index[STRIDE + LENGTH] as number;
    const item = read(this.arena, offset, length);
    this.swap(1, size);
    index[META_SIZE] = size - 1;
    // Sift down.
    let at = 1;
    for (;;) {
      const left = at * 2;
      if (left > size - 1) break;
      const right = left + 1;
      const child = right <= size - 1 && this.less(right, left) ? right : left;
      if (!this.less(child, at)) break;
      this.swap(child, at);
      at = child;
    }
    if (size === 1) {
      index[META_TOP] = 0;
      index[META_LIVE] = 0;
    } else {
      index[META_LIVE] = (index[META_LIVE] as number) - length;
    }
    return item;
  }

  clear(): number {
    const removed = this.size;
    this.index[META_SIZE] = 0;
    this.index[META_TOP] = 0;
    this.index[META_LIVE] = 0;
    return removed;
  }

  /** An offset for `length` bytes: bump, else compact, else grow; -1 if maxBytes cannot hold it. */
  private allocate(length: number): number {
    const index = this.index;
    const top = index[META_TOP] as number;
    const live = index[META_LIVE] as number;
    const capacity = this.arena.length;
    if (top + length > capacity) {
      const max = this.buffers.arena.maxByteLength;
      if (live + length > max) return -1;
      // Compact when that frees enough to stay under half full; grow otherwise.
      if (live + length > capacity / 2 && capacity < max) {
        let grown = capacity * 2;
        while (grown < top + length && grown < max) grown *= 2;
        this.buffers.arena.grow(Math.min(grown, max));
      }
      if ((index[META_TOP] as number) + length > this.arena.length) this.compact();
    }
    const offset = index[META_TOP] as number;
    index[META_TOP] = offset + length;
    index[META_LIVE] = (index[META_LIVE] as number) + length;
    return offset;
  }

  /** Moves every live item down to the start of the arena, in offset order. */
  private compact(): void {
    const index = this.index;
    const size = this.size;
    const entries: number[] = [];
    for (let at = 1; at <= size; at++) entries.push(at);
    entries.sort((a, b) => (index[a * STRIDE + OFFSET] as number) - (index[b * STRIDE + OFFSET] as number));
    let top = 0;
    for (const at of entries) {
      const offset = index[at * STRIDE + OFFSET] as number;
      const length = index[at * STRIDE + LENGTH] as number;
      if (offset !== top) this.arena.copyWithin(top, offset, offset + length);
      index[at * STRIDE + OFFSET] = top;
      top += length;
    }
    index[META_TOP] = top;
  }

  private growIndex(entries: number): boolean {
    const max = this.buffers.index.maxByteLength;
    let bytes = this.buffers.index.byteLength;
    while (bytes < entries * STRIDE * 8) bytes *= 2;
    if (bytes > max) {
      if (entries * STRIDE * 8 > max) return false;
      bytes = max;
    }
    this.buffers.index.grow(bytes);
    return true;
  }

  private write(at: number, key: number, seq: number, offset: number, length: number): void {
    const base = at * STRIDE;
    this.index[base + KEY] = key;
    this.index[base + SEQ] = seq;
    this.index[base + OFFSET] = offset;
    this.index[base + LENGTH] = length;
  }

  private less(a: number, b: number): boolean {
    const index = this.index;
    const ka = index[a * STRIDE + KEY] as number;
    const kb = index[b * STRIDE + KEY] as number;
    return ka < kb || (ka === kb && (index[a * STRIDE + SEQ] as number) < (index[b * STRIDE + SEQ] as number));
  }

  private swap(a: number, b: number): void {
    const index = this.index;
    for (let i = 0; i < STRIDE; i++) {
      const t = index[a * STRIDE + i] as number;
      index[a * STRIDE + i] = index[b * STRIDE + i] as number;
      index[b * STRIDE + i] = t;
    }
  }
}
