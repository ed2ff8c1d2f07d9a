/**
 * Large binary arguments to a worker thread, copied once instead of structured-cloned.
 *
 * A typed array passed by value (the caller keeps it) is structured-cloned by postMessage: its
 * whole buffer is serialised into the message (a copy, grown by doubling), then copied again into
 * a new buffer on the worker's side: two or three passes over fresh memory. Copying the buffer
 * once here (`ArrayBuffer.prototype.slice`) and *transferring* the copy moves it with one pass.
 * The task sees what a clone would give it: a typed array of the same class, length and values
 * over a plain ArrayBuffer of its own (not shared memory: the worker owns it, its GC frees it,
 * and what the task writes there stays there). The caller's array is never touched.
 *
 * Measured on the 2-core bench machine (bench/results.md, "Large arguments"), one task after
 * another with the same array: from 32 MiB the copy is 1.7x (32 MiB) to 2.5x (256 MiB) faster;
 * at 16 MiB and below the two are even. That is where glibc's malloc stops reusing freed memory
 * (its mmap threshold tops out at 32 MiB): a bigger buffer is fresh pages every time, and each
 * pass over fresh memory pays its page faults, so one pass instead of two or three is what counts.
 * Only threads: a child process gets its arguments over Node's IPC, which takes no transfer list.
 *
 * Why not a copy into a SharedArrayBuffer: as fast, but a worker's GC does not count a received
 * SharedArrayBuffer as memory of its own, so a worker whose tasks allocate little never collects
 * them: 30 tasks of 64 MiB held 1.9 GB until the worker's next GC. A transferred buffer is
 * counted, and freed a few tasks later (~250 MiB at most in the same loop).
 */
import type { TransferListItem } from 'node:worker_threads';

/** Buffers of at least this many bytes are copied once and transferred (smaller ones are cloned). */
export const LARGE_ARGUMENT_BYTES = 32 * 1024 * 1024;

/**
 * Buffers of at least this many bytes make a task "bulky": its worker collects its young garbage
 * once it is idle (pool/young-garbage.ts), so that the memory of the copy it received is free
 * for the next task's instead of fresh pages each time.
 */
export const BULKY_ARGUMENT_BYTES = 1024 * 1024;

/** The built-in typed array classes: a clone turns a subclass (Node's Buffer) into its built-in base. */
const TYPED_ARRAYS = [
  Float64Array,
  Float32Array,
  Int32Array,
  Uint32Array,
  Int16Array,
  Uint16Array,
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  BigInt64Array,
  BigUint64Array,
] as const;

type TypedArray = InstanceType<(typeof TYPED_ARRAYS)[number]>;

/** The buffer behind a value a large copy applies to, or undefined (small, shared, resizable, or not binary). */
function copyableBuffer(value: object): ArrayBuffer | undefined {
  const buffer = ArrayBuffer.isView(value) ? value.buffer : value instanceof ArrayBuffer ? value : undefined;
  // A SharedArrayBuffer already travels by reference; a resizable buffer must stay resizable,
  // which a clone keeps and slice() does not.
  if (!(buffer instanceof ArrayBuffer) || (buffer as { resizable?: boolean }).resizable) return undefined;
  return buffer.byteLength >= LARGE_ARGUMENT_BYTES ? buffer : undefined;
}

/**
 * Whether `value` itself is a large typed array, DataView or ArrayBuffer that `copyLargeArrays`
 * would copy: asked of each object in the submit-time walk over the arguments (arguments.ts).
 */
export function isLargeArgument(value: object): boolean {
  return copyableBuffer(value) !== undefined;
}

/** Whether `value` is a typed array, DataView or ArrayBuffer whose (not shared) buffer a clone or a copy sends whole, of at least BULKY_ARGUMENT_BYTES. */
export function isBulkyArgument(value: object): boolean {
  const buffer = ArrayBuffer.isView(value) ? value.buffer : value instanceof ArrayBuffer ? value : undefined;
  return buffer instanceof ArrayBuffer && buffer.byteLength >= BULKY_ARGUMENT_BYTES;
}

const isPlainObject = (value: object): boolean => {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

/**
 * `args` with every large typed array, DataView and ArrayBuffer (at any depth of arrays and plain
 * objects) replaced by a view of the same class over a copy of its buffer, each copy pushed onto
 * `transfer`. Views of one buffer share one copy, so they alias in the worker as after a clone.
 * Buffers in `keep` (the caller's own transfer list) move as they are. Containers on the way are
 * copied, the rest is left alone: values inside a Map, a Set or a class instance are cloned. An
 * object reached twice is replaced by one replacement, so it arrives as one object, as after a clone.
 */
export function copyLargeArrays(
  args: readonly unknown[],
  keep: readonly TransferListItem[] | undefined,
  transfer: TransferListItem[],
): unknown[] {
  const copies = new Map<ArrayBuffer, ArrayBuffer>();
  const copyOf = (buffer: ArrayBuffer): ArrayBuffer => {
    let copy = copies.get(buffer);
    if (copy === undefined) {
      copy = buffer.slice(0);
      copies.set(buffer, copy);
      transfer.push(copy);
    }
    return copy;
  };
  // What each view or container was replaced by: one object passed twice must stay one object.
  const replaced = new Map<object, unknown>();
  const visit = (value: unknown, path: Set<object>): unknown => {
    if (value === null || typeof value !== 'object') return value;
    if (replaced.has(value)) return replaced.get(value);
    const result = visitObject(value, path);
    if (result !== value) replaced.set(value, result);
    return result;
  };
  const visitObject = (value: object, path: Set<object>): unknown => {
    const buffer = copyableBuffer(value);
    if (buffer !== undefined) {
      if (keep?.includes(buffer)) return value;
      return rebuild(value as ArrayBuffer | DataView | TypedArray, copyOf(buffer));
    }
    // A cycle is left to the clone (which keeps it); containers are rebuilt only on the way down.
    if (ArrayBuffer.isView(value) || path.has(value)) return value;
    if (Array.isArray(value)) {
      path.add(value);
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item = visit(value[i], path);
        if (item !== value[i]) {
          copy ??= value.slice();
          copy[i] = item;
        }
      }
      path.delete(value);
      return copy ?? value;
    }
    if (!isPlainObject(value)) return value;
    path.add(value);
    let copy: Record<string, unknown> | undefined;
    for (const [key, item] of Object.entries(value)) {
      const visited = visit(item, path);
      if (visited !== item) {
        copy ??= { ...value };
        copy[key] = visited;
      }
    }
    path.delete(value);
    return copy ?? value;
  };
  return visit(args, new Set()) as unknown[];
}

/** A value like `original` (an ArrayBuffer, a DataView, a typed array) over `copy` instead of its buffer. */
function rebuild(
  original: ArrayBuffer | DataView | TypedArray,
  copy: ArrayBuffer,
): ArrayBuffer | DataView | TypedArray {
  if (original instanceof ArrayBuffer) return copy;
  if (original instanceof DataView) return new DataView(copy, original.byteOffset, original.byteLength);
  for (const TypedArrayClass of TYPED_ARRAYS) {
    if (original instanceof TypedArrayClass)
      return new TypedArrayClass(copy as never, original.byteOffset, original.length);
  }
  return original; // not reached: every view is a DataView or a built-in typed array
}
