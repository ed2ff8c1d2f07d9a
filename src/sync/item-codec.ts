/**
 * How a Queue item is stored and read back. Numbers, booleans, null and undefined, the usual
 * queue items, are stored in place in their index entry (an inline code and a number: no bytes,
 * no allocation); strings as UTF-8 bytes; anything else by structured clone (v8.serialize),
 * which alone costs ~2 µs an item through Node's serializer classes.
 */
import { deserialize, serialize } from 'node:v8';
import type { StoredItem } from './item-arena.js';

// Inline codes: negative, so that an entry's offset word tells them from arena offsets.
const INLINE_NUMBER = -1;
const INLINE_TRUE = -2;
const INLINE_FALSE = -3;
const INLINE_NULL = -4;
const INLINE_UNDEFINED = -5;

// Tag byte of an item in the arena.
const CLONED = 0;
const STRING = 2;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An item that needs v8.deserialize: copied out of shared memory under the queue's lock, decoded after. */
export class ClonedItem {
  constructor(readonly bytes: Uint8Array) {}
}

/**
 * Fills `out` with how `item` is stored: an inline code and value, or its bytes. `out` is reused
 * by the caller from item to item, so that a number costs no allocation at all.
 */
export function storeItem(item: unknown, out: StoredItem): StoredItem {
  out.bytes = undefined;
  out.value = 0;
  switch (typeof item) {
    case 'number':
      out.code = INLINE_NUMBER;
      out.value = item;
      return out;
    case 'boolean':
      out.code = item ? INLINE_TRUE : INLINE_FALSE;
      return out;
    case 'undefined':
      out.code = INLINE_UNDEFINED;
      return out;
    case 'string': {
      // Worst case 3 bytes per UTF-16 unit; trimmed to what encodeInto wrote.
      const bytes = new Uint8Array(1 + item.length * 3);
      bytes[0] = STRING;
      const { written } = encoder.encodeInto(item, bytes.subarray(1));
      out.code = 0;
      out.bytes = bytes.subarray(0, 1 + written);
      return out;
    }
  }
  if (item === null) {
    out.code = INLINE_NULL;
    return out;
  }
  let cloned: Uint8Array;
  try {
    cloned = serialize(item);
  } catch (error) {
    throw new TypeError(
      `a queue item travels by structured clone, and this one cannot: ${(error as Error).message}. ` +
        'Put plain data (numbers, strings, arrays, objects, typed arrays, Maps, Sets, Dates).',
    );
  }
  const bytes = new Uint8Array(1 + cloned.length);
  bytes[0] = CLONED;
  bytes.set(cloned, 1);
  out.code = 0;
  out.bytes = bytes;
  return out;
}

/** A fresh holder for storeItem (one for a waiting putter: the shared one is reused at once). */
export function storedItem(): StoredItem {
  return { code: 0, value: 0, bytes: undefined };
}

/** The item an entry holds in place (`code` < 0). */
export function readInline(code: number, value: number): unknown {
  switch (code) {
    case INLINE_NUMBER:
      return value;
    case INLINE_TRUE:
      return true;
    case INLINE_FALSE:
      return false;
    case INLINE_NULL:
      return null;
    default:
      return undefined;
  }
}

/**
 * Reads the item stored at `arena[offset, offset + length)`. Called under the queue's getters' lock, so
 * it does only quick work: a cloned item is copied out, to be `finishItem`ed after the lock.
 */
export function readItem(arena: Uint8Array, offset: number, length: number): unknown {
  if (arena[offset] === STRING) return decoder.decode(arena.subarray(offset + 1, offset + length));
  return new ClonedItem(arena.slice(offset + 1, offset + length));
}

/** The item itself, outside the lock. */
export function finishItem(read: unknown): unknown {
  return read instanceof ClonedItem ? deserialize(read.bytes) : read;
}
