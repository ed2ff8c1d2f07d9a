/**
 * `kernel(fn)`, `reduce`, `gpuArray`: the public face of skein/gpu, and where each call picks
 * its path (device or CPU) and its compiled form.
 *
 *   kernel(fn) ─ parse (acorn), refuse captured variables and unsupported constructs ─ Kernel
 *   kernel.map(xs, ys, { device }) ─ input types → lowerKernel (cached per types) → TypedKernel
 *        ├─ device: mapShader → dispatchMap (gpu-run.ts)   inputs and result may stay on the device
 *        └─ cpu:    mapChunkSource → cpuMap (cpu-run.ts)   the same bits, on the thread pool
 */
import type { Node } from 'acorn';
import type { ThreadPoolExecutor } from '../executors/thread.js';
import { freeVariables, parseFunctionSource } from '../wire/free-variables.js';
import { CapturedVariableError } from '../wire/task-reference.js';
import {
  combineWithInit,
  cpuMap,
  cpuMapWasm,
  cpuReduce,
  fitsWasmMemory,
  functionFromSource,
  type MapChunk,
  type ReduceChunk,
} from './cpu-run.js';
import { mapChunkSource, reduceChunkSource } from './cpu-source.js';
import { checked, type GpuContext, gpuDevice, hasHardwareGpu } from './dawn.js';
import { deviceBuffer, GpuArray, readBuffer, uploadArray } from './device-array.js';
import { KernelCompileError } from './errors.js';
import { dispatchMap, dispatchReduce } from './gpu-run.js';
import { type ElementType, elementTypeOf, type KernelArray, type TypedKernel, typedArrayOf } from './ir.js';
import { lowerKernel, type SourceText } from './lower.js';
import { type WasmModule, WebAssemblyApi } from './wasm.js';
import { mapModule } from './wasm-module.js';
import type { GpuBuffer } from './webgpu-types.js';
import { mapShader, reduceShader } from './wgsl.js';

/** Where a kernel runs. `auto`: a hardware GPU when there is one, else the CPU path. */
export type Device = 'auto' | 'gpu' | 'cpu';

/** Options of a kernel call: where it runs, and the pool of the CPU path. */
export interface KernelOptions {
  /** Default 'auto'. A software adapter (lavapipe) is used only when asked for with 'gpu'. */
  device?: Device;
  /** The pool of the CPU path. Default: one shared ThreadPoolExecutor with a worker per core. */
  executor?: ThreadPoolExecutor;
}

/** What a kernel takes: typed arrays of WGSL's 32-bit types, or arrays already on the device. */
export type KernelInput = KernelArray | GpuArray;

/** One kernel compiled for one combination of input types: the typed tree and what is made from it. */
interface Compiled {
  readonly typed: TypedKernel;
  mapChunk?: MapChunk;
  wasm?: WasmModule;
  reduceChunk?: ReduceChunk;
}

const MAX_INPUTS = 7; // WebGPU guarantees 8 storage buffers per stage: the inputs and the output.

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a plain array';
  if (ArrayBuffer.isView(value)) return (value as object).constructor.name;
  return typeof value === 'object' ? ((value as object).constructor?.name ?? 'an object') : typeof value;
}

function inputType(value: unknown, position: number): ElementType {
  if (value instanceof GpuArray) return value.type;
  if (value instanceof Float64Array) {
    throw new TypeError(
      `argument ${position}: Float64Array is not supported, because WGSL has no f64. ` +
        'Convert it with Float32Array.from(xs), or keep integers in an Int32Array.',
    );
  }
  const type = ArrayBuffer.isView(value) ? elementTypeOf(value) : undefined;
  if (!type) {
    throw new TypeError(
      `argument ${position}: a kernel takes Float32Array, Int32Array, Uint32Array or GpuArray, got ${describe(value)}` +
        (Array.isArray(value) ? ' (convert it with Float32Array.from(array))' : ''),
    );
  }
  return type;
}

/** The trailing options object, if the last argument is one. */
function splitOptions(args: readonly unknown[]): { inputs: unknown[]; options: KernelOptions } {
  const last = args.at(-1);
  const isOptions =
    last !== null &&
    typeof last === 'object' &&
    !ArrayBuffer.isView(last) &&
    !(last instanceof GpuArray) &&
    !Array.isArray(last);
  return isOptions ? { inputs: args.slice(0, -1), options: last as KernelOptions } : { inputs: [...args], options: {} };
}

function checkDevice(device: unknown): Device {
  if (device === undefined) return 'auto';
  if (device === 'auto' || device === 'gpu' || device === 'cpu') return device;
  throw new TypeError(`device must be 'auto', 'gpu' or 'cpu', got ${JSON.stringify(device)}`);
}

/**
 * A function compiled for the GPU and the CPU path. Made by `kernel(fn)`.
 *
 * @typeParam F - the compiled function's type: its parameters are the kernel's inputs, one array each.
 */
export class Kernel<F extends (...args: number[]) => number = (...args: number[]) => number> {
  /** The function as written. */
  readonly fn: F;
  readonly #node: Node & Record<string, unknown>;
  readonly #source: SourceText;
  readonly #compiled = new Map<string, Compiled>();

  /** @internal Use `kernel(fn)`. */
  constructor(fn: F) {
    if (typeof fn !== 'function') throw new TypeError(`kernel(fn): fn must be a function, got ${describe(fn)}`);
    const text = Function.prototype.toString.call(fn);
    let parsed: ReturnType<typeof parseFunctionSource>;
    try {
      parsed = parseFunctionSource(text);
    } catch {
      throw new KernelCompileError(
        'kernel(fn): the function has no JavaScript source to compile (a bound or built-in function?)',
      );
    }
    this.fn = fn;
    this.#node = parsed.node;
    // parseFunctionSource reads `(source)`, or `({source})` for a method: offsets start 1 or 2 in.
    this.#source = { text, offset: parsed.expression === text ? 1 : 2 };
    const captured = freeVariables(parsed.node).filter((name) => name !== 'Math');
    const outer = captured.filter((name) => !(name in globalThis));
    if (outer.length > 0) {
      const names = outer.map((n) => `"${n}"`).join(', ');
      throw new CapturedVariableError(
        `kernel(fn): the function uses the outer variable${outer.length > 1 ? 's' : ''} ${names}, which a kernel cannot see. ` +
          `Pass ${names} as an array argument, or write the value into the function.`,
      );
    }
    const params = (parsed.node.params as unknown[]).length;
    if (params === 0)
      throw new KernelCompileError('kernel(fn): a kernel takes at least one parameter (one per input array)');
    if (params > MAX_INPUTS)
      throw new KernelCompileError(`kernel(fn): a kernel takes at most ${MAX_INPUTS} inputs, got ${params}`);
    // Everything but the input types is known now: refuse what cannot compile here, not at map().
    this.compiled(new Array<ElementType>(params).fill('f32'));
  }

  /** Inputs, as the function's parameter count. */
  get arity(): number {
    return (this.#node.params as unknown[]).length;
  }

  /** @internal The typed kernel for these input types, compiled once. */
  compiled(types: readonly ElementType[]): Compiled {
    const key = types.join(',');
    let compiled = this.#compiled.get(key);
    if (!compiled) {
      compiled = { typed: lowerKernel(this.#node, this.#source, types) };
      this.#compiled.set(key, compiled);
    }
    return compiled;
  }

  /** The WGSL the device runs for these input types (to read, or to debug). */
  wgsl(...types: ElementType[]): string {
    return mapShader(this.compiled(types).typed);
  }

  /** @internal */
  mapChunk(compiled: Compiled): MapChunk {
    compiled.mapChunk ??= functionFromSource<MapChunk>(mapChunkSource(compiled.typed));
    return compiled.mapChunk;
  }

  /** @internal */
  reduceChunk(compiled: Compiled): ReduceChunk {
    compiled.reduceChunk ??= functionFromSource<ReduceChunk>(reduceChunkSource(compiled.typed));
    return compiled.reduceChunk;
  }

  /**
   * The function applied elementwise: `result[i] = fn(a[i], b[i], ...)`, one array per
   * parameter, all of one length; a trailing `{ device, executor }` picks the path. Returns a
   * typed array of the function's return type (an integer expression gives Int32Array), or a
   * GpuArray when an input is one.
   */
  map(...args: [first: GpuArray, ...rest: (KernelInput | KernelOptions)[]]): Promise<GpuArray>;
  map(...args: [...inputs: KernelArray[], options: KernelOptions] | KernelArray[]): Promise<KernelArray>;
  map(...args: [...inputs: KernelInput[], options: KernelOptions] | KernelInput[]): Promise<KernelArray | GpuArray>;
  async map(...args: unknown[]): Promise<KernelArray | GpuArray> {
    const { inputs, options } = splitOptions(args);
    const device = checkDevice(options.device);
    if (inputs.length !== this.arity) {
      throw new TypeError(
        `this kernel takes ${this.arity} input array${this.arity > 1 ? 's' : ''}, got ${inputs.length}`,
      );
    }
    const types = inputs.map((input, i) => inputType(input, i + 1));
    const length = (inputs[0] as KernelInput).length;
    inputs.forEach((input, i) => {
      if ((input as KernelInput).length !== length) {
        throw new RangeError(
          `input ${i + 1} has ${(input as KernelInput).length} elements, input 1 has ${length}: they must be equal`,
        );
      }
    });
    const compiled = this.compiled(types);
    const onDevice = inputs.some((input) => input instanceof GpuArray);
    if (onDevice && device === 'cpu') {
      throw new TypeError("device: 'cpu' cannot take a GpuArray: read it back with toArray() first");
    }
    if (onDevice || device === 'gpu' || (device === 'auto' && (await hasHardwareGpu()))) {
      const context = await gpuDevice();
      const output = await this.#mapOnDevice(context, compiled.typed, inputs as KernelInput[], length);
      if (onDevice) return new GpuArray(context, output, compiled.typed.returns, length);
      try {
        return await readBuffer(context, output, compiled.typed.returns, length);
      } finally {
        output.destroy();
      }
    }
    const arrays = inputs as KernelArray[];
    if (fitsWasmMemory(arrays.length, length)) {
      compiled.wasm ??= new WebAssemblyApi.Module(mapModule(compiled.typed).bytes);
      return cpuMapWasm(compiled.wasm, arrays, compiled.typed.returns, length, options.executor);
    }
    return cpuMap(this.mapChunk(compiled), arrays, compiled.typed.returns, length, options.executor);
  }

  async #mapOnDevice(context: GpuContext, typed: TypedKernel, inputs: KernelInput[], length: number) {
    const uploaded: GpuBuffer[] = [];
    try {
      const buffers = inputs.map((input) => {
        if (input instanceof GpuArray) return deviceBuffer(input).buffer;
        const buffer = uploadArray(context, input);
        uploaded.push(buffer);
        return buffer;
      });
      return await checked(context, 'running a kernel', () => dispatchMap(context, typed, buffers, length));
    } finally {
      for (const buffer of uploaded) buffer.destroy();
    }
  }
}

/**
 * Compiles `fn` (a self-contained function of numbers) for the GPU and the CPU path, as Numba's
 * `@vectorize` or CuPy's ElementwiseKernel: `const square = kernel((x: number) => x * x)`.
 * Throws `KernelCompileError` naming what cannot compile and where, `CapturedVariableError`
 * naming an outer variable.
 *
 * @typeParam F - the type of `fn`: numbers in, a number out; each parameter becomes an input array.
 */
export function kernel<F extends (...args: number[]) => number>(fn: F): Kernel<F> {
  return new Kernel(fn);
}

/**
 * Folds `xs` with `fn` as a tree (on the device: one workgroup per 256 elements, level after
 * level; on the CPU path: the same tree), then combines `init` with the total:
 * `fn(init, fold(xs))`. `fn` takes and returns the element type. An empty array gives `init`.
 */
export async function reduce(
  fn: ((a: number, b: number) => number) | Kernel,
  xs: KernelInput,
  init: number,
  options: KernelOptions = {},
): Promise<number> {
  const compiledKernel = fn instanceof Kernel ? fn : kernel(fn);
  const device = checkDevice(options.device);
  const type = inputType(xs, 1);
  if (compiledKernel.arity !== 2)
    throw new TypeError(`reduce: fn must take two arguments, it takes ${compiledKernel.arity}`);
  if (typeof init !== 'number') throw new TypeError(`reduce: init must be a number, got ${describe(init)}`);
  const compiled = compiledKernel.compiled([type, type]);
  if (compiled.typed.returns !== type) {
    throw new KernelCompileError(
      `reduce: fn must return the element type (${type}), but it returns ${compiled.typed.returns}`,
    );
  }
  if (xs instanceof GpuArray && device === 'cpu') {
    throw new TypeError("device: 'cpu' cannot take a GpuArray: read it back with toArray() first");
  }
  const chunk = compiledKernel.reduceChunk(compiled);
  if (xs.length === 0) return typedArrayOf(type, new ArrayBuffer(4), 1).fill(init)[0] as number;
  let total: number;
  if (xs instanceof GpuArray || device === 'gpu' || (device === 'auto' && (await hasHardwareGpu()))) {
    const context = await gpuDevice();
    const input = xs instanceof GpuArray ? deviceBuffer(xs).buffer : uploadArray(context, xs);
    let result: GpuBuffer;
    try {
      result = await checked(context, 'reducing', () => dispatchReduce(context, compiled.typed, input, xs.length));
    } catch (error) {
      if (!(xs instanceof GpuArray)) input.destroy();
      throw error;
    }
    try {
      total = (await readBuffer(context, result, type, 1))[0] as number;
    } finally {
      if (result !== input) result.destroy();
      if (!(xs instanceof GpuArray)) input.destroy();
    }
  } else {
    total = await cpuReduce(chunk, xs, type, options.executor);
  }
  return combineWithInit(chunk, type, init, total);
}

/** The WGSL of `fn`'s reduction for this element type (to read, or to debug). */
export function reduceWgsl(fn: Kernel, type: ElementType): string {
  return reduceShader(fn.compiled([type, type]).typed);
}

/** Copies `xs` to the device (CuPy's `cp.asarray`): kernels given the result return device arrays. */
export async function gpuArray(xs: KernelArray): Promise<GpuArray> {
  const type = inputType(xs, 1);
  const context = await gpuDevice();
  return new GpuArray(context, uploadArray(context, xs), type, xs.length);
}
