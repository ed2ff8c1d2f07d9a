/**
 * How a Queue item becomes bytes and back. Structured clone (v8.serialize) for anything, but
 * numbers, strings, booleans, null and undefined, the usual queue items, take a direct path:
 * v8.serialize + deserialize costs ~2 µs an item through Node's serializer classes, which
 * would cap a queue at a few hundred thousand items a second; a tag byte and the raw value
 * costs a tenth of that.
 */
import { deserialize, serialize } from 'node:v8';

const CLONED = 0;
const NUMBER = 1;
const STRING = 2;
const TRUE = 3;
const FALSE = 4;
const NULL = 5;
const UNDEFINED = 6;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SMALL = [TRUE, FALSE, NULL, UNDEFINED].map((tag) => Uint8Array.of(tag));
const scratchNumber = new Float64Array(1);
const scratchBytes = new Uint8Array(scratchNumber.buffer);

/** An item that needs v8.deserialize: copied out of shared memory under the queue's mutex, decoded after. */
export class ClonedItem {
  constructor(readonly bytes: Uint8Array) {}
}

export function encodeItem(item: unknown): Uint8Array {
  switch (typeof item) {
    case 'number': {
      const bytes = new Uint8Array(9);
      bytes[0] = NUMBER;
      scratchNumber[0] = item;
      bytes.set(scratchBytes, 1);
      return bytes;
    }
    case 'string': {
      // Worst case 3 bytes per UTF-16 unit; trimmed to what encodeInto wrote.
      const bytes = new Uint8Array(1 + item.length * 3);
      bytes[0] = STRING;
      const { written } = encoder.encodeInto(item, bytes.subarray(1));
      return bytes.subarray(0, 1 + written);
    }
    case 'boolean':
      return SMALL[item ? 0 : 1] as Uint8Array;
    case 'undefined':
      return SMALL[3] as Uint8Array;
  }
  if (item === null) return SMALL[2] as Uint8Array;
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
  return bytes;
}

/**
 * Reads the item stored at `arena[offset, offset + length)`. Called under the queue's mutex, so
 * it does only quick work: a cloned item is copied out, to be `finishItem`ed after the mutex.
 */
export function readItem(arena: Uint8Array, offset: number, length: number): unknown {
  switch (arena[offset]) {
    case NUMBER:
      for (let i = 0; i < 8; i++) scratchBytes[i] = arena[offset + 1 + i] as number;
      return scratchNumber[0];
    case STRING:
      return decoder.decode(arena.subarray(offset + 1, offset + length));
    case TRUE:
      return true;
    case FALSE:
      return false;
    case NULL:
      return null;
    case UNDEFINED:
      return undefined;
    default:
      return new ClonedItem(arena.slice(offset + 1, offset + length));
  }
}

/** The item itself, outside the mutex. */
export function finishItem(read: unknown): unknown {
  return read instanceof ClonedItem ? deserialize(read.bytes) : read;
}
