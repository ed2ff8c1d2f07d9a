/**
 * The storage of a FIFO Queue: a ring of entries in the index of an ItemStore (item-arena.ts),
 * after its meta words:
 *
 *   index   [meta: head, top, live, size][offset, length][offset, length]...   (a ring of `capacity`)
 *            next out ─► entry `head`; next in ─► entry (head + size) mod capacity
 *
 * Put and get are O(1) and touch one entry each (four to a cache line), where a heap would sift
 * on every get with the queue's mutex held. The ring grows (doubling, up to the queue's maxsize
 * or 2^22 entries) when full. Not thread-safe: called with the queue's mutex held.
 */
import {
  allocateRecordBuffers,
  type ItemReader,
  ItemStore,
  META_SIZE,
  META_WORDS,
  type RecordBuffers,
  type StoredItem,
} from './item-arena.js';

const STRIDE = 2;
const META_HEAD = 0;

const INITIAL_ENTRIES = 1024;
const UNBOUNDED_ENTRIES = 2 ** 22;

export function allocateRecordRing(maxItems: number, maxBytes: number): RecordBuffers {
  const maxEntries = maxItems > 0 ? maxItems : UNBOUNDED_ENTRIES;
  return allocateRecordBuffers(INITIAL_ENTRIES, maxEntries, STRIDE, maxBytes);
}

export class RecordRing extends ItemStore {
  /** Entries the ring holds now (the index may have grown in another thread: read it each time). */
  private get capacity(): number {
    return (this.index.length - META_WORDS) / STRIDE;
  }

  push(item: StoredItem, _priority: number): boolean {
    const index = this.index;
    const size = index[META_SIZE] as number;
    let capacity = this.capacity;
    if (size === capacity) {
      if (!this.grow()) return false;
      capacity = this.capacity;
    }
    let slot = (index[META_HEAD] as number) + size;
    if (slot >= capacity) slot -= capacity;
    if (!this.place(META_WORDS + slot * STRIDE, item)) return false;
    index[META_SIZE] = size + 1;
    return true;
  }

  pop<E>(read: ItemReader, empty: E): unknown {
    const index = this.index;
    const size = index[META_SIZE] as number;
    if (size === 0) return empty;
    const head = index[META_HEAD] as number;
    const item = this.take(META_WORDS + head * STRIDE, read);
    index[META_HEAD] = head + 1 === this.capacity ? 0 : head + 1;
    index[META_SIZE] = size - 1;
    return item;
  }

  clear(): number {
    const removed = this.size;
    this.index[META_SIZE] = 0;
    this.index[META_HEAD] = 0;
    this.resetArena();
    return removed;
  }

  protected entryOffsets(): number[] {
    const out: number[] = [];
    const capacity = this.capacity;
    const head = this.index[META_HEAD] as number;
    for (let i = 0; i < this.size; i++) out.push(META_WORDS + ((head + i) % capacity) * STRIDE);
    return out;
  }

  /**
   * Grows a full ring; the entries from `head` to the old end move to the new end, so that the
   * ring reads in order again. False if it is at its maximum.
   */
  private grow(): boolean {
    const before = this.capacity;
    if (!this.growIndex(META_WORDS + (before + 1) * STRIDE)) return false;
    const after = this.capacity;
    const index = this.index;
    const head = index[META_HEAD] as number;
    if (head > 0) {
      const moved = before - head;
      index.copyWithin(META_WORDS + (after - moved) * STRIDE, META_WORDS + head * STRIDE, META_WORDS + before * STRIDE);
      index[META_HEAD] = after - moved;
    }
    return true;
  }
}
