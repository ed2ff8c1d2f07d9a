/**
 * The part of a shared Queue's storage that both its orders share: the arena of item bytes, and
 * the entry format. Not thread-safe by itself: the queue calls it with its mutex held.
 *
 *   index (growable SAB, Float64)   [meta: a, top, live, size] then the store's entries, each with
 *                                     an (offset, length) pair: the item's bytes in the arena
 *   arena (growable SAB, bytes)     item bytes, bump-allocated at `top`; compacted when full
 *
 * An item that is a number, a boolean, null or undefined (most queue items) has no bytes: its
 * entry holds it in place, a negative code in `offset` and the number in `length`
 * (item-codec.ts's inline codes). That saves an allocation, a copy in and a copy out per item.
 */
import { readInline } from './item-codec.js';

/** Meta words every store keeps at the start of its index. */
export const META_TOP = 1;
export const META_LIVE = 2;
export const META_SIZE = 3;
/** Doubles of meta before the first entry. */
export const META_WORDS = 4;

export interface RecordBuffers {
  readonly index: SharedArrayBuffer;
  readonly arena: SharedArrayBuffer;
}

const INITIAL_ARENA = 64 * 1024;

/** The buffers of a store whose index holds at most `maxEntries` entries of `stride` doubles. */
export function allocateRecordBuffers(initialEntries: number, maxEntries: number, stride: number, maxBytes: number) {
  const words = (entries: number) => META_WORDS + entries * stride;
  return {
    index: new SharedArrayBuffer(words(Math.min(initialEntries, maxEntries)) * 8, {
      maxByteLength: words(maxEntries) * 8,
    }),
    arena: new SharedArrayBuffer(Math.min(INITIAL_ARENA, maxBytes), { maxByteLength: maxBytes }),
  };
}

/** Reads an item's bytes from the arena; `readItem` of item-codec.ts in practice. */
export type ItemReader = (arena: Uint8Array, offset: number, length: number) => unknown;

/** An item's storage: `code` < 0 is an inline item (`value` holds it), 0 means `bytes` hold it. */
export interface StoredItem {
  code: number;
  value: number;
  bytes: Uint8Array | undefined;
}

export abstract class ItemStore {
  // Length-tracking views: they see a growth made by any thread.
  protected readonly index: Float64Array;
  protected readonly arena: Uint8Array;

  constructor(protected readonly buffers: RecordBuffers) {
    this.index = new Float64Array(buffers.index);
    this.arena = new Uint8Array(buffers.arena);
  }

  get size(): number {
    return this.index[META_SIZE] as number;
  }

  /** Stores an item; false if the queue's memory (maxBytes or its item limit) has no room. */
  abstract push(item: StoredItem, priority: number): boolean;

  /** Removes the next item and returns it (bytes read by `read`); `empty` if there is none. */
  abstract pop<E>(read: ItemReader, empty: E): unknown;

  /** Empties the store; returns how many items it held. */
  abstract clear(): number;

  /** Index positions of the `offset` word of every entry (its `length` word follows it). */
  protected abstract entryOffsets(): number[];

  /** Fills an entry's (offset, length) pair at index position `at` with the item; false if out of memory. */
  protected place(at: number, item: StoredItem): boolean {
    const index = this.index;
    const bytes = item.bytes;
    if (bytes === undefined) {
      index[at] = item.code;
      index[at + 1] = item.value;
      return true;
    }
    const offset = this.allocate(bytes.length);
    if (offset < 0) return false;
    this.arena.set(bytes, offset);
    index[at] = offset;
    index[at + 1] = bytes.length;
    return true;
  }

  /** Reads the entry at `at` and frees its bytes (the entry itself is the caller's to drop). */
  protected take(at: number, read: ItemReader): unknown {
    const index = this.index;
    const offset = index[at] as number;
    const length = index[at + 1] as number;
    if (offset < 0) return readInline(offset, length);
    const item = read(this.arena, offset, length);
    const live = (index[META_LIVE] as number) - length;
    index[META_LIVE] = live;
    // Nothing left in the arena: the next item starts at its beginning again.
    if (live === 0) index[META_TOP] = 0;
    return item;
  }

  protected resetArena(): void {
    this.index[META_TOP] = 0;
    this.index[META_LIVE] = 0;
  }

  /** Grows the index to hold `words` doubles at least (by doubling, capped at its maximum); false if it cannot. */
  protected growIndex(words: number): boolean {
    const max = this.buffers.index.maxByteLength;
    if (words * 8 > max) return false;
    let bytes = this.buffers.index.byteLength;
    while (bytes < words * 8) bytes *= 2;
    this.buffers.index.grow(Math.min(bytes, max));
    return true;
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

  /** Moves every item's bytes down to the start of the arena, in offset order. */
  private compact(): void {
    const index = this.index;
    const entries = this.entryOffsets().filter((at) => (index[at] as number) >= 0);
    entries.sort((a, b) => (index[a] as number) - (index[b] as number));
    let top = 0;
    for (const at of entries) {
      const offset = index[at] as number;
      const length = index[at + 1] as number;
      if (offset !== top) this.arena.copyWithin(top, offset, offset + length);
      index[at] = top;
      top += length;
    }
    index[META_TOP] = top;
  }
}
