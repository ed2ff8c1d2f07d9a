/**
 * `SharedValue` and `SharedArray`: numbers in shared memory (Python's `multiprocessing.Value` and
 * `Array`), each with its own Lock for compound updates (`getLock()`).
 *
 * Layout of the one SharedArrayBuffer: [lock words | padding to 8 bytes | the values]. `add` and
 * `compareExchange` are atomic for every type: integers use Atomics directly; floats, which
 * Atomics does not do arithmetic on, use a compare-and-swap loop on their bits.
 */
import { shownValue } from '../futures/options.js';
import { attachLock, LOCK_WORDS, Lock } from './lock.js';
import {
  allocateWords,
  DESCRIBE,
  rebuild,
  rebuildingFrom,
  registerKind,
  type SharedDescriptor,
  SharedPrimitive,
  THREAD_EXITED,
} from './shared-memory.js';

const ARRAYS = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
  bigint64: BigInt64Array,
  biguint64: BigUint64Array,
} as const;

/** Python's `array` type codes, for code ported from `multiprocessing.Value('i', 0)`. */
const TYPE_CODES = {
  b: 'int8',
  B: 'uint8',
  h: 'int16',
  H: 'uint16',
  i: 'int32',
  I: 'uint32',
  f: 'float32',
  d: 'float64',
  q: 'bigint64',
  Q: 'biguint64',
} as const;

/** The element types a SharedValue or SharedArray can hold, by name: `'int32'`, `'float64'`, ... */
export type SharedTypeName = keyof typeof ARRAYS;
/** An element type by name, or by Python's `array` type code (`'i'`, `'d'`, ...). */
export type SharedType = SharedTypeName | keyof typeof TYPE_CODES;
/** What a cell of `T` holds: bigint for the 64-bit integer types, number otherwise. */
export type SharedNumber<T extends SharedType> = T extends 'bigint64' | 'biguint64' | 'q' | 'Q' ? bigint : number;

type Cells = InstanceType<(typeof ARRAYS)[SharedTypeName]>;

/** Bytes before the values: the lock's words, rounded up so 8-byte values are aligned. */
const HEADER_BYTES = Math.ceil((LOCK_WORDS * 4) / 8) * 8;

function typeName(type: SharedType): SharedTypeName {
  const name = (TYPE_CODES as Record<string, SharedTypeName>)[type] ?? (type as SharedTypeName);
  if (!(name in ARRAYS)) {
    throw new TypeError(
      `unknown shared type ${JSON.stringify(type)}: use one of ${Object.keys(ARRAYS).join(', ')} ` +
        `(or a Python type code: ${Object.keys(TYPE_CODES).join(' ')})`,
    );
  }
  return name;
}

function allocateCells(type: SharedTypeName, length: number): Int32Array {
  const bytes = HEADER_BYTES + length * ARRAYS[type].BYTES_PER_ELEMENT;
  return allocateWords(Math.ceil(bytes / 8) * 2);
}

/** Atomic read-modify-write on one typed array, whatever its element type. */
class AtomicCells {
  readonly cells: Cells;
  /** For floats: the same bytes as integers, which Atomics can compare-and-swap. */
  private readonly bits: Int32Array | BigInt64Array | undefined;
  private readonly scratchFloat: Float32Array | Float64Array | undefined;
  private readonly scratchBits: Int32Array | BigInt64Array | undefined;

  constructor(type: SharedTypeName, buffer: SharedArrayBuffer, length: number) {
    this.cells = new ARRAYS[type](buffer as unknown as ArrayBuffer, HEADER_BYTES, length) as Cells;
    if (type === 'float64') {
      this.bits = new BigInt64Array(buffer, HEADER_BYTES, length);
      this.scratchFloat = new Float64Array(1);
      this.scratchBits = new BigInt64Array(this.scratchFloat.buffer);
    } else if (type === 'float32') {
      this.bits = new Int32Array(buffer, HEADER_BYTES, length);
      this.scratchFloat = new Float32Array(1);
      this.scratchBits = new Int32Array(this.scratchFloat.buffer);
    }
  }

  add(index: number, n: number | bigint): number | bigint {
    if (!this.bits) return Atomics.add(this.cells as Int32Array, index, n as number);
    return this.update(index, (current) => current + (n as number));
  }

  compareExchange(index: number, expected: number | bigint, next: number | bigint): number | bigint {
    if (!this.bits) return Atomics.compareExchange(this.cells as Int32Array, index, expected as number, next as number);
    return this.update(index, (current) =>
      current === expected || (Number.isNaN(current) && Number.isNaN(expected as number)) ? (next as number) : current,
    );
  }

  /** Float cells: apply `f` atomically by swapping bit patterns; returns the previous value. */
  private update(index: number, f: (current: number) => number): number {
    const bits = this.bits as Int32Array;
    const scratchFloat = this.scratchFloat as Float64Array;
    const scratchBits = this.scratchBits as unknown as Int32Array;
    for (;;) {
      const oldBits = Atomics.load(bits, index);
      scratchBits[0] = oldBits;
      const current = scratchFloat[0] as number;
      scratchFloat[0] = f(current);
      if (Atomics.compareExchange(bits, index, oldBits, scratchBits[0] as number) === oldBits) return current;
    }
  }
}

abstract class SharedCells<T extends SharedType> extends SharedPrimitive {
  /** Its element type, by name (a type code given to the constructor is translated). */
  readonly type: SharedTypeName;
  /** @internal */
  readonly memory: Int32Array;
  /** @internal The cells, with the atomic operations their type allows. */
  protected readonly atomic: AtomicCells;
  #lock: Lock | undefined;

  protected constructor(type: T, memory: Int32Array, length: number) {
    super();
    this.type = typeName(type);
    this.memory = memory;
    this.atomic = new AtomicCells(this.type, memory.buffer as SharedArrayBuffer, length);
  }

  /** The Lock that guards compound updates (`v.value = f(v.value)`), shared like the values. */
  getLock(): Lock {
    this.#lock ??= attachLock(Lock, this.memory);
    return this.#lock;
  }

  /** @internal */
  [DESCRIBE](): SharedDescriptor {
    return {
      $skein: this instanceof SharedValue ? 'SharedValue' : 'SharedArray',
      buffers: [this.memory.buffer as SharedArrayBuffer],
      options: [this.type, this.atomic.cells.length],
    };
  }

  /** @internal */
  [THREAD_EXITED](deadThread: number): void {
    this.getLock()[THREAD_EXITED](deadThread);
  }
}

/** `multiprocessing.Value`: one number in shared memory. */
export class SharedValue<T extends SharedType = 'float64'> extends SharedCells<T> {
  constructor(type: T, initial?: SharedNumber<T>) {
    const attached = rebuildingFrom<Int32Array>();
    super(type, attached ?? allocateCells(typeName(type), 1), 1);
    if (initial !== undefined && !attached) this.value = initial;
  }

  /** A plain read or write, not atomic with anything else: `v.value += 1` can lose updates. Use `add` or `getLock()`. */
  get value(): SharedNumber<T> {
    return this.atomic.cells[0] as SharedNumber<T>;
  }

  /** A plain write, not atomic with anything else (see the getter). */
  set value(value: SharedNumber<T>) {
    (this.atomic.cells as Int32Array)[0] = value as number;
  }

  /** Atomically adds `n`; returns the value before (as `Atomics.add` does). */
  add(n: SharedNumber<T>): SharedNumber<T> {
    return this.atomic.add(0, n) as SharedNumber<T>;
  }

  /** Atomically sets `next` if the value is `expected`; returns the value before either way. */
  compareExchange(expected: SharedNumber<T>, next: SharedNumber<T>): SharedNumber<T> {
    return this.atomic.compareExchange(0, expected, next) as SharedNumber<T>;
  }
}

/** `multiprocessing.Array`: a fixed-length array of numbers in shared memory. */
export class SharedArray<T extends SharedType = 'float64'> extends SharedCells<T> {
  /** Its number of elements (fixed at creation). */
  readonly length: number;

  constructor(type: T, lengthOrValues: number | Iterable<SharedNumber<T>>) {
    const attached = rebuildingFrom<Int32Array>();
    const values = typeof lengthOrValues === 'number' ? undefined : Array.from(lengthOrValues);
    const length = values ? values.length : (lengthOrValues as number);
    if (!attached && (!Number.isInteger(length) || length < 0)) {
      throw new RangeError(`SharedArray length must be an integer >= 0, got ${shownValue(lengthOrValues)}`);
    }
    super(type, attached ?? allocateCells(typeName(type), length), length);
    this.length = length;
    if (values && !attached) (this.atomic.cells as Int32Array).set(values as number[]);
  }

  /** The values as a typed array over the shared memory: fast bulk reads and writes, none atomic. */
  get array(): Cells {
    return this.atomic.cells;
  }

  /** The element at `index` (a plain read). */
  get(index: number): SharedNumber<T> {
    return this.atomic.cells[this.#check(index)] as SharedNumber<T>;
  }

  /** Writes the element at `index` (a plain write; use `add` or `compareExchange` for atomic updates). */
  set(index: number, value: SharedNumber<T>): void {
    (this.atomic.cells as Int32Array)[this.#check(index)] = value as number;
  }

  /** Atomically adds `n` to element `index`; returns its value before. */
  add(index: number, n: SharedNumber<T>): SharedNumber<T> {
    return this.atomic.add(this.#check(index), n) as SharedNumber<T>;
  }

  /** Atomically sets element `index` to `next` if it is `expected`; returns its value before. */
  compareExchange(index: number, expected: SharedNumber<T>, next: SharedNumber<T>): SharedNumber<T> {
    return this.atomic.compareExchange(this.#check(index), expected, next) as SharedNumber<T>;
  }

  /** A copy of the elements, as a plain array. */
  toArray(): SharedNumber<T>[] {
    return Array.from(this.atomic.cells as unknown as ArrayLike<SharedNumber<T>>);
  }

  /** Iterates the elements (plain reads). */
  [Symbol.iterator](): Iterator<SharedNumber<T>> {
    return (this.atomic.cells as unknown as Iterable<SharedNumber<T>>)[Symbol.iterator]();
  }

  #check(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`index ${shownValue(index)} is out of range for a SharedArray of length ${this.length}`);
    }
    return index;
  }
}

const cellsOf = (d: SharedDescriptor) => new Int32Array(d.buffers[0] as SharedArrayBuffer);

registerKind('SharedValue', (d) => {
  const [type] = d.options as [SharedTypeName, number];
  return rebuild(() => new SharedValue(type), cellsOf(d));
});
registerKind('SharedArray', (d) => {
  const [type, length] = d.options as [SharedTypeName, number];
  return rebuild(() => new SharedArray(type, length), cellsOf(d));
});
