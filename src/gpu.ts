/**
 * skein/gpu: Numba/CuPy-style kernels from TypeScript, on WebGPU (Dawn, the optional `webgpu`
 * package), with a CPU path on the thread pool that gives the same bits. Loaded only by this
 * entry point: `import 'skein'` loads no GPU code.
 */

export { type GpuInfo, gpuInfo, releaseGpu } from './gpu/dawn.js';
export { GpuArray } from './gpu/device-array.js';
export { GpuUnavailableError, KernelCompileError } from './gpu/errors.js';
export type { ElementType, KernelArray } from './gpu/ir.js';
export {
  type Device,
  gpuArray,
  Kernel,
  type KernelInput,
  type KernelOptions,
  kernel,
  reduce,
  reduceWgsl,
} from './gpu/kernel.js';
export { CapturedVariableError } from './wire/task-reference.js';
