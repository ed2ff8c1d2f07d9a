/**
 * Runs one chunk of a kernel compiled to WebAssembly (wasm.ts), in whichever thread calls it: a
 * pool worker (the pool imports this module by reference, as any exported task) or the main
 * thread for a small array. The module and the shared memory arrive as arguments; this function
 * is the only code the worker runs, and it evaluates no text.
 */
import { type KernelArray, typedArrayOf, typeOfArray } from './ir.js';
import { type WasmMemory, type WasmModule, WebAssemblyApi } from './wasm.js';

/** What the module may import: JavaScript's Math functions that WebAssembly lacks. */
const MATH_IMPORTS = {
  exp: Math.exp,
  log: Math.log,
  log2: Math.log2,
  pow: Math.pow,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  atan2: Math.atan2,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
};

/**
 * Copies this chunk's slice of each input that lives outside the module's memory (a
 * SharedArrayBuffer the caller passed; `null` when the data is already in place), then computes
 * out[i] for i in [start, end). Addresses are byte offsets into `memory`.
 */
export function runWasmChunk(
  module: WasmModule,
  memory: WasmMemory,
  sources: readonly (KernelArray | null)[],
  bases: readonly number[],
  out: number,
  start: number,
  end: number,
): void {
  sources.forEach((source, k) => {
    if (!source) return;
    const slice = typedArrayOf(typeOfArray(source), memory.buffer, end - start, (bases[k] as number) + start * 4);
    slice.set(source.subarray(start, end));
  });
  const instance = new WebAssemblyApi.Instance(module, { env: { memory }, m: MATH_IMPORTS });
  (instance.exports.run as (...args: number[]) => void)(start, end, ...bases, out);
}
