/**
 * The CPU path: the kernel's generated JavaScript (cpu-source.ts) run in chunks on a
 * ThreadPoolExecutor, over SharedArrayBuffers so that every worker reads its inputs and writes
 * its slice of the output in place; nothing but four numbers per chunk crosses a thread.
 *
 * How the code reaches the workers: the generated source becomes a function here, on the main
 * thread, and is submitted like any self-contained function; the pool sends such a function as
 * its source text and each worker evaluates it once (the pool's own mechanism, nothing added).
 */
import { availableParallelism } from 'node:os';
import { ThreadPoolExecutor } from '../executors/thread.js';
import type { Future } from '../futures/base.js';
import { type ElementType, type KernelArray, typedArrayOf, typeOfArray } from './ir.js';
import { type WasmModule, WebAssemblyApi } from './wasm.js';
import { runWasmChunk } from './wasm-chunk.js';
import { REDUCE_BLOCK } from './wgsl.js';

export type MapChunk = (inputs: KernelArray[], output: KernelArray, start: number, end: number) => void;
export type ReduceChunk = (
  source: KernelArray,
  partials: KernelArray,
  start: number,
  end: number,
  count: number,
) => void;

/** Below this many elements a chunk costs more to send than to compute: the main thread runs it. */
const SMALLEST_CHUNK = 1 << 16;

let sharedPool: ThreadPoolExecutor | undefined;

/** The pool the CPU path uses unless given one: made on first use, idle workers let the process exit. */
function defaultPool(): ThreadPoolExecutor {
  sharedPool ??= new ThreadPoolExecutor({ name: 'skein-gpu-cpu' });
  return sharedPool;
}

/** A function from generated source (never from the user's text: from the checked tree). */
export function functionFromSource<T>(source: string): T {
  return new Function(`"use strict"; return (${source});`)() as T;
}

/** `array` itself when it already lives in shared memory, else a shared copy. */
export function shared(array: KernelArray): KernelArray {
  if (array.buffer instanceof SharedArrayBuffer) return array;
  const copy = typedArrayOf(typeOfArray(array), new SharedArrayBuffer(array.byteLength), array.length);
  copy.set(array);
  return copy;
}

/** [start, end) ranges covering [0, length), aligned to `align`, about two per worker. */
function ranges(length: number, workers: number, align: number): [number, number][] {
  const pieces = Math.max(1, Math.min(workers * 2, Math.floor(length / SMALLEST_CHUNK)));
  const size = Math.ceil(length / pieces / align) * align;
  const out: [number, number][] = [];
  for (let start = 0; start < length; start += size) out.push([start, Math.min(length, start + size)]);
  return out;
}

function poolOf(executor: ThreadPoolExecutor | undefined): { pool: ThreadPoolExecutor; workers: number } {
  const pool = executor ?? defaultPool();
  return { pool, workers: Math.min(pool.maxWorkers, availableParallelism()) };
}

/** `output[i] = kernel(inputs...[i])` on the pool; the output is a view of a SharedArrayBuffer. */
export async function cpuMap(
  chunk: MapChunk,
  inputs: readonly KernelArray[],
  returns: ElementType,
  length: number,
  executor: ThreadPoolExecutor | undefined,
): Promise<KernelArray> {
  const output = typedArrayOf(returns, new SharedArrayBuffer(length * 4), length);
  if (length <= SMALLEST_CHUNK) {
    chunk([...inputs], output, 0, length);
    return output;
  }
  const { pool, workers } = poolOf(executor);
  const sharedInputs = inputs.map(shared);
  const futures: Future<void>[] = ranges(length, workers, 1).map(([start, end]) =>
    pool.submit(chunk, sharedInputs, output, start, end),
  );
  await Promise.all(futures);
  return output;
}

/** The most memory one WebAssembly map may take (inputs and output); beyond it the JavaScript chunks run. */
const WASM_MEMORY_LIMIT = 2 ** 31;
const PAGE = 65_536;

/** Whether `cpuMapWasm` can hold these arrays (the inputs: the output reuses one) in one WebAssembly memory. */
export function fitsWasmMemory(arrays: number, length: number): boolean {
  return arrays * (Math.ceil((length * 4) / 16) * 16) <= WASM_MEMORY_LIMIT;
}

/**
 * `out[i] = kernel(inputs...[i])` on the pool, with the kernel as WebAssembly over one shared
 * memory holding the inputs, then the output in place of the first. An input in a SharedArrayBuffer is copied into the
 * memory by the workers, each its own slice, in parallel; any other input is copied here first.
 * The result is a view of that memory (a SharedArrayBuffer).
 */
export async function cpuMapWasm(
  module: WasmModule,
  inputs: readonly KernelArray[],
  returns: ElementType,
  length: number,
  executor: ThreadPoolExecutor | undefined,
): Promise<KernelArray> {
  const stride = Math.ceil((length * 4) / 16) * 16;
  const bases = inputs.map((_, k) => k * stride);
  // The output overwrites the copy of input 0, element by element after reading it: half the
  // fresh memory to fault in (measured: first touch of a new memory costs as much as the kernel).
  const out = 0;
  const pages = Math.max(1, Math.ceil((inputs.length * stride) / PAGE));
  const memory = new WebAssemblyApi.Memory({ initial: pages, maximum: pages, shared: true });
  const sources = inputs.map((input, k) => {
    if (input.buffer instanceof SharedArrayBuffer) return input;
    typedArrayOf(typeOfArray(input), memory.buffer, length, bases[k]).set(input);
    return null;
  });
  if (length <= SMALLEST_CHUNK) runWasmChunk(module, memory, sources, bases, out, 0, length);
  else {
    const { pool, workers } = poolOf(executor);
    // Chunks start at multiples of 4, so the four-lane loop reads aligned vectors.
    const futures: Future<void>[] = ranges(length, workers, 4).map(([start, end]) =>
      pool.submit(runWasmChunk, module, memory, sources, bases, out, start, end),
    );
    await Promise.all(futures);
  }
  return typedArrayOf(returns, memory.buffer, length, out);
}

/**
 * The reduction folded as the device folds it: blocks of 256 by halving strides, level after
 * level. The first level (all the data) runs on the pool; the next ones (1/256 of it, then
 * less) on this thread.
 */
export async function cpuReduce(
  chunk: ReduceChunk,
  input: KernelArray,
  type: ElementType,
  executor: ThreadPoolExecutor | undefined,
): Promise<number> {
  let count = input.length;
  let level = input;
  if (count > SMALLEST_CHUNK) {
    const { pool, workers } = poolOf(executor);
    const source = shared(input);
    const partials = typedArrayOf(
      type,
      new SharedArrayBuffer(Math.ceil(count / REDUCE_BLOCK) * 4),
      Math.ceil(count / REDUCE_BLOCK),
    );
    const futures: Future<void>[] = ranges(count, workers, REDUCE_BLOCK).map(([start, end]) =>
      pool.submit(chunk, source, partials, start, end, count),
    );
    await Promise.all(futures);
    level = partials;
    count = partials.length;
  }
  while (count > 1) {
    const next = typedArrayOf(
      type,
      new ArrayBuffer(Math.ceil(count / REDUCE_BLOCK) * 4),
      Math.ceil(count / REDUCE_BLOCK),
    );
    chunk(level, next, 0, count, count);
    level = next;
    count = next.length;
  }
  return level[0] as number;
}

/** `kernel(init, total)`, computed as a two-element reduction so that it rounds as the device would. */
export function combineWithInit(chunk: ReduceChunk, type: ElementType, init: number, total: number): number {
  const pair = typedArrayOf(type, new ArrayBuffer(8), 2);
  pair[0] = init;
  pair[1] = total;
  const out = typedArrayOf(type, new ArrayBuffer(4), 1);
  chunk(pair, out, 0, 2, 2);
  return out[0] as number;
}
