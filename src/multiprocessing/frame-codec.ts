/**
 * The bytes of a Process child's channel (child-channel.ts): one frame per message,
 *
 *   ┌────────────┬──────┬──────────┬─────┬───────────────┐
 *   │ length u32 │ kind │ id u32   │ tag │ value bytes … │   (u32s little-endian; length counts
 *   └────────────┴──────┴──────────┴─────┴───────────────┘    everything after itself)
 *
 * `kind` says what the frame is for (a Connection's value or EOF, proxy calls or their replies),
 * `id` which Connection. The value is a structured clone (v8.serialize, as Node's
 * 'advanced' IPC), except that a number, a string, a boolean, null and undefined get a tag of
 * their own: a Pipe mostly carries small scalars, and v8's serializer costs ~1 µs a value each way
 * where writing a float64 costs nothing.
 */
import { deserialize, serialize } from 'node:v8';

/** What a frame is for. */
export const FrameKind = {
  /** A value sent on Connection `id`. */
  data: 1,
  /** Connection `id`'s sender closed its end. */
  eof: 2,
  /** One proxy call (broker-channel.ts), flat: `[call, objectId, method, ...args]`. */
  call: 3,
  /** One reply to a proxy call, flat: `[call, ok, value]`. */
  reply: 4,
  /** A batch of proxy calls: the `calls` of a BrokerCallsMessage. */
  calls: 5,
  /** A batch of replies: the `replies` of a BrokerRepliesMessage. */
  replies: 6,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

const Tag = { v8: 0, number: 1, string: 2, true: 3, false: 4, null: 5, undefined: 6, list: 7 } as const;

/** length + kind + id + tag */
const HEAD = 10;
/** Strings up to this many characters are written as UTF-8 straight into the frame. */
const SHORT_STRING = 4096;
/** Arrays of up to this many scalars are written element by element (a Manager call's arguments). */
const SHORT_LIST = 16;

/** Bytes of `value` written as a tagged scalar (a string with its length), or -1 if it is not one. */
function scalarSize(value: unknown): number {
  switch (typeof value) {
    case 'number':
      return 9;
    case 'boolean':
    case 'undefined':
      return 1;
    case 'string':
      return value.length <= SHORT_STRING ? 5 + Buffer.byteLength(value) : -1;
    default:
      return value === null ? 1 : -1;
  }
}

/** Writes a scalar that `scalarSize` accepted at `at`; returns where the next one goes. */
function writeScalar(frame: Buffer, at: number, value: unknown): number {
  switch (typeof value) {
    case 'number':
      frame[at] = Tag.number;
      frame.writeDoubleLE(value, at + 1);
      return at + 9;
    case 'string': {
      frame[at] = Tag.string;
      const length = frame.write(value, at + 5, 'utf8');
      frame.writeUInt32LE(length, at + 1);
      return at + 5 + length;
    }
    case 'boolean':
      frame[at] = value ? Tag.true : Tag.false;
      return at + 1;
    default:
      frame[at] = value === null ? Tag.null : Tag.undefined;
      return at + 1;
  }
}

/** The size of `list` written as tagged scalars, or -1 if it is not a short list of scalars. */
function listSize(list: unknown[]): number {
  if (list.length > SHORT_LIST || Object.getPrototypeOf(list) !== Array.prototype) return -1;
  if (Object.keys(list).length !== list.length) return -1; // a hole or a named property: v8 keeps them
  let size = 2; // tag + count
  for (let i = 0; i < list.length; i++) {
    const bytes = scalarSize(list[i]);
    if (bytes < 0) return -1;
    size += bytes;
  }
  return size;
}

/**
 * One frame, ready to write. Throws (in the caller) if `value` cannot be cloned: a function, a
 * class instance with private state, a socket.
 */
export function encodeFrame(kind: FrameKind, id: number, value?: unknown): Buffer {
  let frame: Buffer;
  const size = scalarSize(value);
  const asList = size < 0 && Array.isArray(value) ? listSize(value) : -1;
  if (size >= 0) {
    frame = Buffer.allocUnsafe(HEAD - 1 + size);
    writeScalar(frame, HEAD - 1, value);
  } else if (asList >= 0) {
    frame = listFrame(value as unknown[], asList);
  } else {
    const body = serialize(value);
    frame = Buffer.allocUnsafe(HEAD + body.length);
    frame[9] = Tag.v8;
    body.copy(frame, HEAD);
  }
  return withHead(frame, kind, id);
}

/**
 * `encodeFrame(kind, 0, list)` for a list skein made itself (a proxy call `[call, id, method,
 * ...args]`, a reply `[call, ok, value]`): a plain array without holes or named properties, so
 * only its elements are looked at.
 */
export function encodeFlatList(kind: FrameKind, list: unknown[]): Buffer {
  if (list.length > SHORT_LIST) return encodeFrame(kind, 0, list);
  let size = 2;
  for (let i = 0; i < list.length; i++) {
    const bytes = scalarSize(list[i]);
    if (bytes < 0) return encodeFrame(kind, 0, list);
    size += bytes;
  }
  return withHead(listFrame(list, size), kind, 0);
}

/** A frame (its head not yet written) holding `list`, whose scalars take `size` bytes with tag and count. */
function listFrame(list: unknown[], size: number): Buffer {
  const frame = Buffer.allocUnsafe(HEAD - 1 + size);
  frame[9] = Tag.list;
  frame[10] = list.length;
  let at = 11;
  for (let i = 0; i < list.length; i++) at = writeScalar(frame, at, list[i]);
  return frame;
}

function withHead(frame: Buffer, kind: FrameKind, id: number): Buffer {
  frame.writeUInt32LE(frame.length - 4, 0);
  frame[4] = kind;
  frame.writeUInt32LE(id, 5);
  return frame;
}

/** Receives each whole frame, in order. */
export type FrameHandler = (kind: FrameKind, id: number, value: unknown) => void;

/**
 * Cuts a byte stream into frames. `feed` may be given any slice of the stream (a frame split
 * across reads is kept until its end arrives), and may reuse the memory it passed once `feed`
 * returns: every value is decoded into memory of its own.
 */
export class FrameReader {
  readonly #onFrame: FrameHandler;
  /** Copies of the pieces of a frame whose end has not arrived yet... */
  #pieces: Buffer[] = [];
  #piecesLength = 0;
  /** ...and how many bytes that frame has in all, once its length has arrived (else 0). */
  #needed = 0;

  constructor(onFrame: FrameHandler) {
    this.#onFrame = onFrame;
  }

  feed(bytes: Buffer): void {
    let chunk = bytes;
    if (this.#piecesLength > 0) {
      // A long frame arrives in many reads: its pieces are kept until it is whole, and joined
      // once (joining at every read would copy it over and over).
      const length = this.#piecesLength + bytes.length;
      if (this.#needed === 0 && length >= 4) {
        const head = Buffer.concat([...this.#pieces, bytes.subarray(0, 4)], 4);
        this.#needed = 4 + head.readUInt32LE(0);
      }
      if (this.#needed === 0 || length < this.#needed) {
        this.#pieces.push(Buffer.from(bytes));
        this.#piecesLength = length;
        return;
      }
      chunk = Buffer.concat([...this.#pieces, bytes], length);
      this.#pieces = [];
      this.#piecesLength = 0;
      this.#needed = 0;
    }
    let at = 0;
    while (chunk.length - at >= 4) {
      const end = at + 4 + chunk.readUInt32LE(at);
      if (end > chunk.length) break;
      this.#onFrame(chunk[at + 4] as FrameKind, chunk.readUInt32LE(at + 5), decodeValue(chunk, at + 9, end));
      at = end;
    }
    if (at < chunk.length) {
      const rest = Buffer.from(chunk.subarray(at));
      this.#pieces.push(rest);
      this.#piecesLength = rest.length;
      if (rest.length >= 4) this.#needed = 4 + rest.readUInt32LE(0);
    }
  }
}

/** Where a decoded scalar ended, for the next element of a list. */
let scalarEnd = 0;

function readScalar(chunk: Buffer, at: number): unknown {
  switch (chunk[at]) {
    case Tag.number:
      scalarEnd = at + 9;
      return chunk.readDoubleLE(at + 1);
    case Tag.string: {
      const start = at + 5;
      scalarEnd = start + chunk.readUInt32LE(at + 1);
      return chunk.toString('utf8', start, scalarEnd);
    }
    default:
      scalarEnd = at + 1;
      return chunk[at] === Tag.true
        ? true
        : chunk[at] === Tag.false
          ? false
          : chunk[at] === Tag.null
            ? null
            : undefined;
  }
}

function decodeValue(chunk: Buffer, tagAt: number, end: number): unknown {
  switch (chunk[tagAt]) {
    case Tag.list: {
      const list = new Array<unknown>(chunk[tagAt + 1] as number);
      let at = tagAt + 2;
      for (let i = 0; i < list.length; i++) {
        list[i] = readScalar(chunk, at);
        at = scalarEnd;
      }
      return list;
    }
    case Tag.v8: {
      // A typed array that v8 decodes is a view on the bytes it decodes from: they are copied
      // first, so that it never shares memory with the next read.
      const body = Buffer.allocUnsafeSlow(end - tagAt - 1);
      chunk.copy(body, 0, tagAt + 1, end);
      return deserialize(body);
    }
    default:
      return readScalar(chunk, tagAt);
  }
}
