/**
 * The fused group-by (plain-groupby.ts) with its row loop in WebAssembly (kernel/groupby.wat):
 * the same query, the same bytes, the same partial, several times faster, because finding field
 * ends byte by byte in JS was the bound and the kernel finds them 16 bytes at a time with SIMD.
 *
 * Division of work: the kernel reads rows, converts the value fields, and finds each row's group
 * (a hash table over the tuple of key bytes, keys of at most 16 bytes); it writes a batch of
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
const POW10 = 1152;
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
  readonly table: WasmGlobal;
  readonly mask: WasmGlobal;
  readonly entries: WasmGlobal;
  readonly lens: WasmGlobal;
  readonly groups: WasmGlobal;
  readonly capacity: WasmGlobal;
  readonly n: WasmGlobal;
  readonly rows: WasmGlobal;
  readonly status: WasmGlobal;
  scan(pos: number, stop: number): number;
  lookup(): number;
  rehash(at: number, size: number): void;
  setKey(k: number, start: number, len: number): void;
}

/** The kernel of this worker: undefined until first used, null where it cannot run. */
let kernel: KernelExports | null | undefined;

function loadKernel(): KernelExports | null {
  if (kernel !== undefined) return kernel;
  kernel = null;
  if (process.env.SKEIN_DATA_WASM === '0') return kernel;
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (wasm === undefined) return kernel;
  try {
    const module = new wasm.Module(Buffer.from(GROUPBY_WASM, 'base64'));
    const loaded = new wasm.Instance(module).exports as KernelExports;
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

/** One range's run of the kernel: the memory plan and the growing group storage. */
class Run {
  private top: number;
  private tableSize = 1024;
  private u8: Uint8Array;

  constructor(
    private readonly k: KernelExports,
    private readonly layout: Layout,
    inputEnd: number,
  ) {
    const { keyCount, valueCount } = layout;
    // 16 readable bytes after the input (the kernel loads 16 at a time), then the batch and groups.
    let top = align(inputEnd + 16);
    const groupsOut = top;
    top = align(top + 4 * BATCH);
    const valuesOut = top;
    top = align(top + 8 * BATCH * Math.max(1, valueCount));
    const capacity = 256;
    const entries = top;
    top = align(top + 16 * keyCount * capacity);
    const lens = top;
    top = align(top + 4 * keyCount * capacity);
    const table = top;
    top = align(top + 4 * this.tableSize);
    this.top = top;
    this.reserve(top);
    this.u8 = new Uint8Array(k.memory.buffer);
    this.u8.fill(0, table, table + 4 * this.tableSize);
    k.groupsOut.value = groupsOut;
    k.valuesOut.value = valuesOut;
    k.batchCap.value = BATCH;
    k.entries.value = entries;
    k.lens.value = lens;
    k.capacity.value = capacity;
    k.table.value = table;
    k.mask.value = this.tableSize - 1;
    k.groups.value = 0;
    k.n.value = 0;
    k.keyCount.value = keyCount;
  }

  /** Memory up to `end`, grown if needed (views of the old buffer are then stale: see bytes()). */
  reserve(end: number): void {
    const memory = this.k.memory;
    if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / PAGE));
  }

  /** The kernel's memory as bytes (a fresh view after a grow). */
  bytes(): Uint8Array {
    if (this.u8.buffer !== this.k.memory.buffer) this.u8 = new Uint8Array(this.k.memory.buffer);
    return this.u8;
  }

  /** Room for one more group: more entries when they are full, a larger table when half full. */
  grow(): void {
    const k = this.k;
    const groups = k.groups.value;
    const keyCount = this.layout.keyCount;
    if (groups >= k.capacity.value) {
      const capacity = 2 * k.capacity.value;
      const entries = this.top;
      const lens = align(entries + 16 * keyCount * capacity);
      this.top = align(lens + 4 * keyCount * capacity);
      this.reserve(this.top);
      const u8 = this.bytes();
      u8.copyWithin(entries, k.entries.value, k.entries.value + 16 * keyCount * groups);
      u8.copyWithin(lens, k.lens.value, k.lens.value + 4 * keyCount * groups);
      k.entries.value = entries;
      k.lens.value = lens;
      k.capacity.value = capacity;
    }
    if (2 * groups >= k.mask.value) {
      this.tableSize *= 2;
      const table = this.top;
      this.top = align(table + 4 * this.tableSize);
      this.reserve(this.top);
      k.rehash(table, this.tableSize);
    }
  }

  /** Each group's keys, decoded (as ByteDictionary decodes them: UTF-8). */
  keys(): string[][] {
    const k = this.k;
    const groups = k.groups.value;
    const keyCount = this.layout.keyCount;
    const memory = Buffer.from(k.memory.buffer);
    const lens = new Int32Array(k.memory.buffer, k.lens.value, groups * keyCount);
    const entries = k.entries.value;
    return Array.from({ length: keyCount }, (_, key) =>
      Array.from({ length: groups }, (_, g) => {
        const at = g * keyCount + key;
        return memory.toString('utf8', entries + 16 * at, entries + 16 * at + (lens[at] as number));
      }),
    );
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
  new Int32Array(k.memory.buffer, k.groupsOut.value, BATCH)[n] = missing ? -1 : k.lookup();
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
  // The kernel needs a newline at the end: a last row without one (the file's end) gets one.
  const length = stop - begin;
  const end = INPUT + length + (length > 0 && bytes[stop - 1] !== NEWLINE ? 1 : 0);
  const run = new Run(k, layout, end);
  const memory = run.bytes();
  memory.set(bytes.subarray(begin, stop), INPUT);
  if (end > INPUT) memory[end - 1] = NEWLINE;
  memory.fill(0, end, end + 16);
  new Int32Array(k.memory.buffer, KINDS, layout.kinds.length).set(layout.kinds);
  new Int32Array(k.memory.buffer, SLOTS, layout.slots.length).set(layout.slots);
  k.width.value = layout.kinds.length;
  k.delim.value = schema.delimiter;
  const accumulators = new BatchAccumulators(layout);
  let rows = 0;
  for (let pos = INPUT; ; ) {
    pos = k.scan(pos, end);
    rows += k.rows.value;
    const status = k.status.value;
    if (status === DONE) break;
    if (status === FULL) flush(k, accumulators, layout.valueCount);
    else if (status === GROW) run.grow();
    else {
      // BAIL: this one row by the JS readers (the kernel stopped before a full batch or table).
      pos = readRowInJs(k, run, layout, schema.delimiter, pos);
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
