/**
 * The storage of a LifoQueue or PriorityQueue: a binary heap of entries ordered by (key, seq), in
 * the index of an ItemArena (item-arena.ts), after its meta words:
 *
 *   index   [meta: counter, top, live, size][key, seq, offset, length]...
 *
 * LIFO is key 0 with seq falling, a priority queue key = priority with seq rising (equal
 * priorities leave in the order they came, like Python's usual (priority, count, item) tuples).
 * A FIFO queue needs no heap: record-ring.ts. Not thread-safe: called with the queue's mutex held.
 */
import {
  allocateRecordBuffers,
  growBuffer,
  type ItemArena,
  type ItemReader,
  META_COUNTER,
  META_SIZE,
  META_WORDS,
  type RecordBuffers,
  type StoredItem,
} from './item-arena.js';

const STRIDE = 4;
const KEY = 0;
const SEQ = 1;
const OFFSET = 2;

export type HeapOrder = 'lifo' | 'priority';

const INITIAL_ENTRIES = 64;
const UNBOUNDED_ENTRIES = 2 ** 22;

export function allocateRecordHeap(maxItems: number, maxBytes: number): RecordBuffers {
  const maxEntries = maxItems > 0 ? maxItems : UNBOUNDED_ENTRIES;
  return allocateRecordBuffers(INITIAL_ENTRIES, maxEntries, STRIDE, maxBytes);
}

/** Index position of entry `at` (1-based, as binary heaps are). */
function base(at: number): number {
  return META_WORDS + (at - 1) * STRIDE;
}

export class RecordHeap {
  private readonly index: Float64Array;

  /** `arena` is made by the caller with `entryOffsets` as its list of entries. */
  constructor(
    private readonly buffers: RecordBuffers,
    private readonly arena: ItemArena,
    private readonly order: HeapOrder,
  ) {
    this.index = arena.index;
  }

  get size(): number {
    return this.index[META_SIZE] as number;
  }

  /** Stores an item; false if the queue's memory (maxBytes or its item limit) has no room. */
  push(item: StoredItem, priority: number): boolean {
    const index = this.index;
    const size = this.size;
    if (base(size + 2) > index.length && !growBuffer(this.buffers.index, base(size + 2) * 8)) return false;
    let at = size + 1;
    if (!this.arena.place(base(at) + OFFSET, item)) return false;
    const counter = index[META_COUNTER] as number;
    index[META_COUNTER] = counter + 1;
    index[base(at) + KEY] = this.order === 'priority' ? priority : 0;
    index[base(at) + SEQ] = this.order === 'lifo' ? -counter : counter;
    index[META_SIZE] = size + 1;
    // Sift up.
    while (at > 1) {
      const parent = at >> 1;
      if (!this.less(at, parent)) break;
      this.swap(at, parent);
      at = parent;
    }
    return true;
  }

  /** Removes the first item and returns it (bytes read by `read`); `empty` if there is none. */
  pop<E>(read: ItemReader, empty: E): unknown {
    const index = this.index;
    const size = this.size;
    if (size === 0) return empty;
    const item = this.arena.take(base(1) + OFFSET, read);
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
    return item;
  }

  clear(): number {
    const removed = this.size;
    this.index[META_SIZE] = 0;
    this.arena.reset();
    return removed;
  }

  /** Index positions of every entry's offset word. */
  entryOffsets(): number[] {
    const out: number[] = [];
    for (let at = 1; at <= this.size; at++) out.push(base(at) + OFFSET);
    return out;
  }

  private less(a: number, b: number): boolean {
    const index = this.index;
    const ka = index[base(a) + KEY] as number;
    const kb = index[base(b) + KEY] as number;
    return ka < kb || (ka === kb && (index[base(a) + SEQ] as number) < (index[base(b) + SEQ] as number));
  }

  private swap(a: number, b: number): void {
    const index = this.index;
    const ba = base(a);
    const bb = base(b);
    for (let i = 0; i < STRIDE; i++) {
      const t = index[ba + i] as number;
      index[ba + i] = index[bb + i] as number;
      index[bb + i] = t;
    }
  }
}
