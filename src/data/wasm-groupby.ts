/**
 * The fused group-by (plain-groupby.ts) with its row loop in WebAssembly (kernel/groupby.wat):
 * the same query, the same bytes, the same groups, ~2.5x less CPU, because finding field ends byte
 * by byte in JS was the bound and the kernel finds them 16 bytes at a time with SIMD.
 *
 * Division of work: the kernel reads rows, converts the value fields, and finds each row's group
 * (a dictionary per key column, keys of at most 16 bytes, then the codes' group); it writes a batch of
 * (group, values) rows, and BatchAccumulators applies the aggregation ops in JS. A row the kernel
 * does not take (an exponent, a long number, a missing-value word, a malformed row) stops it: that
 * row is read here with csv-plain.ts's JS readers, and the kernel goes on after it. A key longer
 * than 16 bytes, or a row those readers do not take either, gives the range up (undefined): the
 * caller then runs the JS path, which falls back in turn to the general parser.
 *
 * The kernel is compiled once per worker, on first use; where WebAssembly SIMD is missing, or
 * SKEIN_DATA_WASM=0 is set (to compare with the JS path), this path is never taken.
 */

import { BatchAccumulators } from './batch-accumulators.js';
import { fieldEnd, isPlain, readFloatField, readInt32Field } from './csv-plain.js';
import { NEWLINE } from './csv-range.js';
import { GROUPBY_WASM } from './kernel/groupby-wasm.js';
import { FLOAT64, KEY, type Layout, layoutOf, SKIPPED } from './plain-groupby.js';
import type { AggSpec, CsvSchema, GroupPartial } from './types.js';

/** The kernel's fixed addresses (see groupby.wat's header). */
const MASKS = 256;
const CODES = 1104;
const POW10 = 1152;
const DICTS = 1280;
const KINDS = 2048;
const SLOTS = 6144;
const INPUT = 16384;
const MAX_FIELDS = 1024;
const MAX_KEYS = 4;
/** The longest key the kernel packs into one v128. */
const MAX_KEY_BYTES = 16;
/** Rows per batch handed from the kernel to the accumulators. */
const BATCH = 4096;
const PAGE = 65536;

/** Why scan stopped. */
const DONE = 0;
const FULL = 1;
const GROW = 2;
const BAIL = 3;
/** How rows find their group (see $group in groupby.wat). */
const ONE_KEY = 1;
const PAIR_TABLE = 2;
const HASHED = 3;
/** The largest dense pair table (entries), as plain-groupby.ts's; past it the codes are hashed. */
const MAX_PAIRS = 1 << 22;
const FIRST_CAPACITY = 256;

/** The parts of the WebAssembly API used here (this project's TypeScript libs do not declare it). */
interface WasmGlobal {
  value: number;
}
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object) => { readonly exports: object };
}

interface KernelExports {
  readonly memory: WasmMemory;
  readonly width: WasmGlobal;
  readonly delim: WasmGlobal;
  readonly keyCount: WasmGlobal;
  readonly groupsOut: WasmGlobal;
  readonly valuesOut: WasmGlobal;
  readonly batchCap: WasmGlobal;
  readonly mode: WasmGlobal;
  readonly pairs: WasmGlobal;
  readonly shift: WasmGlobal;
  readonly pairRows: WasmGlobal;
  readonly htable: WasmGlobal;
  readonly hmask: WasmGlobal;
  readonly groupCodes: WasmGlobal;
  readonly groups: WasmGlobal;
  readonly groupCapacity: WasmGlobal;
  readonly room: WasmGlobal;
  readonly n: WasmGlobal;
  readonly rows: WasmGlobal;
  readonly status: WasmGlobal;
  scan(pos: number, stop: number): number;
  group(): number;
  rehashDict(k: number, at: number, size: number): void;
  rehashGroups(at: number, size: number): void;
  setKey(k: number, start: number, len: number): void;
}

/** The kernel of this worker: undefined until first used, null where it cannot run. */
let kernel: KernelExports | null | undefined;
/** The compiled module, kept when an instance is dropped (see RETAINED_MEMORY). */
let compiled: object | undefined;

/**
 * A WebAssembly memory never shrinks: after a run that grew it past this (a huge range, millions
 * of groups), the instance is dropped, its memory left to the GC, and the next run gets a new one.
 */
const RETAINED_MEMORY = 256 * 1024 * 1024;

function loadKernel(): KernelExports | null {
  if (kernel !== undefined) return kernel;
  kernel = null;
  if (process.env.SKEIN_DATA_WASM === '0') return kernel;
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (wasm === undefined) return kernel;
  try {
    compiled ??= new wasm.Module(Buffer.from(GROUPBY_WASM, 'base64'));
    const loaded = new wasm.Instance(compiled).exports as KernelExports;
    const bytes = new Uint8Array(loaded.memory.buffer);
    for (let len = 0; len <= MAX_KEY_BYTES; len++) bytes.fill(0xff, MASKS + 16 * len, MASKS + 16 * len + len);
    new Float64Array(loaded.memory.buffer, POW10, 16).set(Array.from({ length: 16 }, (_, i) => 10 ** i));
    kernel = loaded;
  } catch {
    // No WebAssembly SIMD here (an old engine or a --jitless process): the JS path does the work.
  }
  return kernel;
}

/** Whether this process can run the kernel (for the tests and the bench's notes). */
export function wasmGroupbyAvailable(): boolean {
  return loadKernel() !== null;
}

const align = (at: number): number => (at + 15) & ~15;

/**
 * A buffer of `size` bytes where the kernel reads its input, for readRange to read a range into:
 * then reduceWasmGroups finds the bytes in place and copies nothing. Undefined where the kernel
 * cannot run. The view is valid until the kernel's memory grows, which its next run may do: a
 * caller whose run gives the range up reads it again into a buffer of its own.
 */
export function wasmInput(size: number): Buffer | undefined {
  const k = loadKernel();
  if (k === null) return undefined;
  const end = INPUT + size + 16;
  if (end > k.memory.buffer.byteLength) k.memory.grow(Math.ceil((end - k.memory.buffer.byteLength) / PAGE));
  return Buffer.from(k.memory.buffer, INPUT, size);
}

/** One range's run of the kernel: the memory plan, and the tables grown as the kernel asks. */
class Run {
  private top: number;
  private u8: Uint8Array;
  private readonly i32: () => Int32Array;

  constructor(
    private readonly k: KernelExports,
    private readonly layout: Layout,
    inputEnd: number,
  ) {
    const { keyCount, valueCount } = layout;
    // 16 readable bytes after the input (the kernel loads 16 at a time), then the batch and tables.
    this.top = align(inputEnd + 16);
    this.u8 = new Uint8Array(k.memory.buffer);
    this.i32 = () => new Int32Array(this.bytes().buffer);
    k.groupsOut.value = this.allocate(4 * BATCH);
    k.valuesOut.value = this.allocate(8 * BATCH * Math.max(1, valueCount));
    k.batchCap.value = BATCH;
    for (let key = 0; key < keyCount; key++) {
      const entries = this.allocate(16 * FIRST_CAPACITY);
      const lens = this.allocate(4 * FIRST_CAPACITY);
      const table = this.allocate(4 * 4 * FIRST_CAPACITY, true);
      this.i32().set([table, 4 * FIRST_CAPACITY - 1, entries, lens, 0, FIRST_CAPACITY], (DICTS + 32 * key) / 4);
    }
    k.mode.value = keyCount === 1 ? ONE_KEY : keyCount === 2 ? PAIR_TABLE : HASHED;
    k.groups.value = 0;
    k.groupCodes.value = this.allocate(4 * keyCount * FIRST_CAPACITY);
    k.groupCapacity.value = FIRST_CAPACITY;
    k.shift.value = 6;
    k.pairRows.value = 64;
    k.pairs.value = keyCount === 2 ? this.allocate(4 * 64 * 64, true) : 0;
    k.hmask.value = 4 * FIRST_CAPACITY - 1;
    k.htable.value = keyCount > 2 ? this.allocate(4 * 4 * FIRST_CAPACITY, true) : 0;
    k.n.value = 0;
    k.keyCount.value = keyCount;
    this.grow();
  }

  /** `size` bytes of the kernel's memory (zeroed if asked), grown if needed. */
  private allocate(size: number, zeroed = false): number {
    const at = this.top;
    this.top = align(at + size);
    const memory = this.k.memory;
    if (this.top > memory.buffer.byteLength) memory.grow(Math.ceil((this.top - memory.buffer.byteLength) / PAGE));
    if (zeroed) this.bytes().fill(0, at, at + size);
    return at;
  }

  /** The kernel's memory as bytes (a fresh view after it grew). */
  bytes(): Uint8Array {
    if (this.u8.buffer !== this.k.memory.buffer) this.u8 = new Uint8Array(this.k.memory.buffer);
    return this.u8;
  }

  /** A copy of `size` bytes at `from` in larger room: where they now are. */
  private move(from: number, size: number, room: number): number {
    const to = this.allocate(room);
    this.bytes().copyWithin(to, from, from + size);
    return to;
  }

  /**
   * Grows the tables near full (status GROW), and tells the kernel how many more codes and groups
   * fit (its `room`): a table grows when fewer than a row's worth and a margin are left, so that
   * the kernel stops for this every so often, not every row.
   */
  grow(): void {
    const k = this.k;
    const keyCount = this.layout.keyCount;
    const need = keyCount + 1 + 16;
    let room = Number.POSITIVE_INFINITY;
    for (let key = 0; key < keyCount; key++) {
      const at = (DICTS + 32 * key) / 4;
      const [, mask, entries, lens, count, capacity] = this.i32().subarray(at, at + 6) as unknown as number[];
      let free = (capacity as number) - (count as number);
      if (free < need) {
        const bigger = 2 * (capacity as number);
        const movedEntries = this.move(entries as number, 16 * (count as number), 16 * bigger);
        const movedLens = this.move(lens as number, 4 * (count as number), 4 * bigger);
        this.i32().set([movedEntries, movedLens, count as number, bigger], at + 2);
        free = bigger - (count as number);
      }
      // A table at most half full keeps probes short.
      let size = (mask as number) + 1;
      if (size / 2 - (count as number) < need) {
        size *= 2;
        k.rehashDict(key, this.allocate(4 * size), size);
      }
      room = Math.min(room, free, size / 2 - (count as number));
    }
    const groups = k.groups.value;
    if (k.mode.value !== ONE_KEY) {
      if (k.groupCapacity.value - groups < need) {
        const bigger = 2 * k.groupCapacity.value;
        k.groupCodes.value = this.move(k.groupCodes.value, 4 * keyCount * groups, 4 * keyCount * bigger);
        k.groupCapacity.value = bigger;
      }
      room = Math.min(room, k.groupCapacity.value - groups);
    }
    if (k.mode.value === HASHED) {
      if ((k.hmask.value + 1) / 2 - groups < need) this.hashGroups();
      room = Math.min(room, (k.hmask.value + 1) / 2 - groups);
    }
    k.room.value = room;
  }

  /** The hash table over the groups' codes, at most half full (mode HASHED). */
  private hashGroups(): void {
    let size = 4 * FIRST_CAPACITY;
    while (size < 2 * (this.k.groups.value + FIRST_CAPACITY)) size *= 2;
    this.k.rehashGroups(this.allocate(4 * size), size);
    this.k.mode.value = HASHED;
  }

  /**
   * A pair table that holds the row's codes (CODES; status RELAYOUT), or the hash table when it
   * would be too large.
   */
  relayout(): void {
    const k = this.k;
    const [code1, code2] = this.i32().subarray(CODES / 4, CODES / 4 + 2) as unknown as number[];
    let shift = k.shift.value;
    while (1 << shift <= (code2 as number)) shift++;
    let rows = k.pairRows.value;
    while (rows <= (code1 as number)) rows *= 2;
    if (rows * 2 ** shift > MAX_PAIRS) {
      this.hashGroups();
      this.grow(); // the hash table's room
      return;
    }
    const pairs = this.allocate(4 * (rows << shift), true);
    const i32 = this.i32();
    const codes = k.groupCodes.value / 4;
    for (let g = 0; g < k.groups.value; g++) {
      i32[pairs / 4 + (((i32[codes + 2 * g] as number) << shift) + (i32[codes + 2 * g + 1] as number))] = g + 1;
    }
    k.pairs.value = pairs;
    k.shift.value = shift;
    k.pairRows.value = rows;
  }

  /**
   * Each group's keys, decoded as ByteDictionary decodes them (UTF-8): one key's dictionary is its
   * groups (code = group); more keys are coded against their dictionaries (CodedKeys).
   */
  keys(): GroupPartial['keys'] {
    const k = this.k;
    const groups = k.groups.value;
    const keyCount = this.layout.keyCount;
    const memory = Buffer.from(k.memory.buffer);
    const i32 = this.i32();
    return Array.from({ length: keyCount }, (_, key) => {
      const [, , entries, lens, count] = i32.subarray((DICTS + 32 * key) / 4) as unknown as number[];
      const values = Array.from({ length: count as number }, (_, code) => {
        const at = (entries as number) + 16 * code;
        return memory.toString('utf8', at, at + (i32[(lens as number) / 4 + code] as number));
      });
      if (k.mode.value === ONE_KEY) return values.slice(0, groups);
      const codes = i32.subarray(k.groupCodes.value / 4);
      return { codes: Int32Array.from({ length: groups }, (_, g) => codes[g * keyCount + key] as number), values };
    });
  }
}

/**
 * Reads the row at `pos` of the kernel's memory with the JS readers into batch row `k.n`, as the
 * kernel would have. Returns where the next row starts, or -1: give the range up.
 */
function readRowInJs(k: KernelExports, run: Run, layout: Layout, delimiter: number, pos: number): number {
  const bytes = run.bytes();
  const { kinds, slots } = layout;
  const last = kinds.length - 1;
  const n = k.n.value;
  const values = new Float64Array(k.memory.buffer, k.valuesOut.value, BATCH * Math.max(1, layout.valueCount));
  let missing = false;
  let at = pos;
  for (let field = 0; ; field++) {
    const kind = kinds[field] as number;
    if (kind === SKIPPED || kind === KEY) {
      const start = at;
      let c = bytes[at] as number;
      while (c !== delimiter && c !== NEWLINE) c = bytes[++at] as number;
      if (kind === KEY) {
        if (at === start) missing = true;
        else if (at - start > MAX_KEY_BYTES) return -1;
        else k.setKey(slots[field] as number, start, at - start);
      }
    } else {
      const value = kind === FLOAT64 ? readFloatField(bytes, at, delimiter) : readInt32Field(bytes, at, delimiter);
      at = fieldEnd[0] as number;
      if (at < 0) return -1;
      values[(slots[field] as number) * BATCH + n] = value;
    }
    const c = bytes[at++] as number;
    if (field === last) {
      if (c !== NEWLINE) return -1;
      break;
    }
    if (c !== delimiter) return -1;
  }
  let group = -1;
  if (!missing) {
    group = k.group();
    if (group === -2) {
      run.relayout();
      group = k.group();
    }
  }
  new Int32Array(k.memory.buffer, k.groupsOut.value, BATCH)[n] = group;
  k.n.value = n + 1;
  return at;
}

/** Hands the batch to the accumulators and empties it. */
function flush(k: KernelExports, accumulators: BatchAccumulators, valueCount: number): void {
  const n = k.n.value;
  if (n === 0) return;
  const buffer = k.memory.buffer;
  accumulators.add(
    new Int32Array(buffer, k.groupsOut.value, n),
    new Float64Array(buffer, k.valuesOut.value, BATCH * Math.max(1, valueCount)),
    BATCH,
    n,
    k.groups.value,
  );
  k.n.value = 0;
}

/**
 * One partition's group-by from plain bytes [begin, stop) by the WebAssembly kernel, or undefined
 * when the query, the bytes or this engine are not for it (the caller then runs the JS path).
 * Same result as reducePlainGroups.
 */
export function reduceWasmGroups(
  bytes: Uint8Array,
  begin: number,
  stop: number,
  schema: CsvSchema,
  keys: readonly string[],
  aggs: readonly AggSpec[],
): { partial: GroupPartial; rows: number } | undefined {
  const layout = layoutOf(schema, keys, aggs);
  if (layout === undefined || layout.kinds.length > MAX_FIELDS || layout.keyCount > MAX_KEYS) return undefined;
  const k = loadKernel();
  if (k === null || !isPlain(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), begin, stop)) return undefined;
  // Bytes read by readRange into wasmInput() are in place already; others are copied in.
  const inPlace = bytes.buffer === k.memory.buffer && bytes.byteOffset === INPUT;
  const from = inPlace ? INPUT + begin : INPUT;
  // The kernel needs a newline at the end: a last row without one (the file's end) gets one.
  const length = stop - begin;
  const end = from + length + (length > 0 && bytes[stop - 1] !== NEWLINE ? 1 : 0);
  // From here on `bytes` in place may be detached (the kernel's memory grows): only that memory is read.
  const run = new Run(k, layout, end);
  const memory = run.bytes();
  if (!inPlace) memory.set(bytes.subarray(begin, stop), INPUT);
  if (end > from) memory[end - 1] = NEWLINE;
  memory.fill(0, end, end + 16);
  new Int32Array(k.memory.buffer, KINDS, layout.kinds.length).set(layout.kinds);
  new Int32Array(k.memory.buffer, SLOTS, layout.slots.length).set(layout.slots);
  k.width.value = layout.kinds.length;
  k.delim.value = schema.delimiter;
  try {
    return runKernel(k, run, layout, schema.delimiter, from, end);
  } finally {
    if (k.memory.buffer.byteLength > RETAINED_MEMORY) kernel = undefined;
  }
}

/** Scans [from, end) of the kernel's memory to its end, or undefined: the range is given up. */
function runKernel(
  k: KernelExports,
  run: Run,
  layout: Layout,
  delimiter: number,
  from: number,
  end: number,
): { partial: GroupPartial; rows: number } | undefined {
  const accumulators = new BatchAccumulators(layout);
  let rows = 0;
  for (let pos = from; ; ) {
    pos = k.scan(pos, end);
    rows += k.rows.value;
    const status = k.status.value;
    if (status === DONE) break;
    if (status === FULL) flush(k, accumulators, layout.valueCount);
    else if (status === GROW) run.grow();
    else if (status !== BAIL) run.relayout();
    else {
      // BAIL: this one row by the JS readers (the kernel stopped before a full batch or table).
      pos = readRowInJs(k, run, layout, delimiter, pos);
      if (pos < 0) return undefined;
      rows++;
    }
  }
  flush(k, accumulators, layout.valueCount);
  const groups = k.groups.value;
  return {
    partial: { kind: 'groups', count: groups, keys: run.keys(), accs: accumulators.toAccumulators(groups) },
    rows,
  };
}
