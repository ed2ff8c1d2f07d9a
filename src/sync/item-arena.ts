/**
 * What both kinds of queue storage share: the arena of item bytes and the entry format. Called
 * by a queue core (queue-core.ts, record-ring.ts) with the right lock held: a put's side of it
 * (place) by putters only, a get's side (take) by getters only, so that a FIFO ring with one lock
 * per side can use it.
 *
 *   index (growable SAB, Float64)   [meta: counter, top, size, -][entries...]: each entry has an
 *                                     (offset, length) pair: the item's bytes in the arena
 *   arena (growable SAB, bytes)     item bytes, bump-allocated at `top` by putters; compacted
 *                                     (with getters kept out) when it fills with holes
 *
 * Bytes in use are ALLOCATED - FREED, two words of the queue's header, one written by each side.
 * An item that is a number, a boolean, null or undefined (most queue items) has no bytes: its
 * entry holds it in place, a negative code in `offset` and the number in `length`
 * (item-codec.ts's inline codes). That saves an allocation, a copy in and a copy out per item.
 */
import { readInline } from './item-codec.js';

/** Meta doubles at the start of the index: a heap's counter, the arena's top, a heap's size. */
export const META_COUNTER = 0;
const META_TOP = 1;
export const META_SIZE = 2;
export const META_WORDS = 4;

export interface RecordBuffers {
  readonly index: SharedArrayBuffer;
  readonly arena: SharedArrayBuffer;
}

/** An item's storage: `code` < 0 is an inline item (`value` holds it), 0 means `bytes` hold it. */
export interface StoredItem {
  code: number;
  value: number;
  bytes: Uint8Array | undefined;
}

/** Reads an item's bytes from the arena; `readItem` of item-codec.ts in practice. */
export type ItemReader = (arena: Uint8Array, offset: number, length: number) => unknown;

const INITIAL_ARENA = 64 * 1024;

/** The buffers of a store whose index holds at most `maxEntries` entries of `stride` doubles. */
export function allocateRecordBuffers(
  initialEntries: number,
  maxEntries: number,
  stride: number,
  maxBytes: number,
): RecordBuffers {
  const words = (entries: number) => META_WORDS + entries * stride;
  return {
    index: new SharedArrayBuffer(words(Math.min(initialEntries, maxEntries)) * 8, {
      maxByteLength: words(maxEntries) * 8,
    }),
    arena: new SharedArrayBuffer(Math.min(INITIAL_ARENA, maxBytes), { maxByteLength: maxBytes }),
  };
}

/** Grows a growable SAB to `bytes` at least (by doubling, capped at its maximum); false if it cannot. */
export function growBuffer(buffer: SharedArrayBuffer, bytes: number): boolean {
  const max = buffer.maxByteLength;
  if (bytes > max) return false;
  let size = buffer.byteLength;
  while (size < bytes) size *= 2;
  buffer.grow(Math.min(size, max));
  return true;
}

export class ItemArena {
  // Length-tracking views: they see a growth made by any thread.
  readonly index: Float64Array;
  readonly arena: Uint8Array;

  /**
   * @param words The queue's header; `allocated` and `freed` are its byte counters (wrapping Int32).
   * @param entriesWithBytes Index positions of the `offset` word of every entry that may hold bytes.
   * @param withGettersOut Runs a compaction with every getter kept out (they read offsets).
   */
  constructor(
    private readonly buffers: RecordBuffers,
    private readonly words: Int32Array,
    private readonly allocated: number,
    private readonly freed: number,
    private readonly entriesWithBytes: () => number[],
    private readonly withGettersOut: (compact: () => void) => void,
  ) {
    this.index = new Float64Array(buffers.index);
    this.arena = new Uint8Array(buffers.arena);
  }

  /** Fills the (offset, length) pair at index position `at` with the item; false if out of memory. Putters' side. */
  place(at: number, item: StoredItem): boolean {
    const index = this.index;
    const bytes = item.bytes;
    if (bytes === undefined) {
      index[at] = item.code;
      index[at + 1] = item.value;
      return true;
    }
    const offset = this.#allocate(bytes.length);
    if (offset < 0) return false;
    this.arena.set(bytes, offset);
    index[at] = offset;
    index[at + 1] = bytes.length;
    return true;
  }

  /** Reads the entry at index position `at` and frees its bytes. Getters' side. */
  take(at: number, read: ItemReader): unknown {
    const index = this.index;
    const offset = index[at] as number;
    const length = index[at + 1] as number;
    if (offset < 0) return readInline(offset, length);
    const item = read(this.arena, offset, length);
    // After the read: a putter that sees these bytes freed may write over them.
    Atomics.add(this.words, this.freed, length);
    return item;
  }

  /** Every item is gone (cleared with both sides' locks held). */
  reset(): void {
    Atomics.store(this.words, this.freed, Atomics.load(this.words, this.allocated));
    this.index[META_TOP] = 0;
  }

  #inUse(): number {
    return (Atomics.load(this.words, this.allocated) - Atomics.load(this.words, this.freed)) >>> 0;
  }

  /** An offset for `length` bytes: bump, else grow, else compact; -1 if maxBytes cannot hold it. */
  #allocate(length: number): number {
    const index = this.index;
    const live = this.#inUse();
    // Nothing in use: start again at the beginning (the usual case of a queue that keeps up).
    if (live === 0) index[META_TOP] = 0;
    const top = index[META_TOP] as number;
    const capacity = this.arena.length;
    if (top + length > capacity) {
      const max = this.buffers.arena.maxByteLength;
      if (live + length > max) return -1;
      // Compact when that frees enough to stay under half full; grow otherwise (in place: no
      // offset moves, so getters need not be kept out).
      if (live + length > capacity / 2 && capacity < max) {
        growBuffer(this.buffers.arena, Math.min(top + length, max));
      }
      if ((index[META_TOP] as number) + length > this.arena.length) this.withGettersOut(() => this.#compact());
    }
    const offset = index[META_TOP] as number;
    index[META_TOP] = offset + length;
    Atomics.add(this.words, this.allocated, length);
    return offset;
  }

  /** Moves every item's bytes down to the start of the arena, in offset order. */
  #compact(): void {
    const index = this.index;
    const entries = this.entriesWithBytes().filter((at) => (index[at] as number) >= 0);
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
