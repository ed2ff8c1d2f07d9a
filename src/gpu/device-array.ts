/**
 * `GpuArray`: data that stays on the device between kernels, as CuPy's arrays do. A kernel given
 * one returns one, so a chain of kernels copies nothing to or from the host until `toArray()`.
 */
import type { GpuContext } from './dawn.js';
import { GpuUnavailableError } from './errors.js';
import type { ElementType, KernelArray } from './ir.js';
import { typedArrayOf } from './ir.js';
import type { GpuBuffer } from './webgpu-types.js';

/** Map-for-reading, as WebGPU's GPUMapMode.READ (Node has no WebGPU globals). */
const MAP_READ_MODE = 1;
/** GPUBufferUsage flags, as the WebGPU specification numbers them. */
export const BUFFER_USAGE = {
  MAP_READ: 0x1,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  UNIFORM: 0x40,
  STORAGE: 0x80,
} as const;

/** Where a device array's data is; module-private, so only skein's kernels reach the buffer. */
const storage = new WeakMap<GpuArray, { buffer: GpuBuffer; context: GpuContext }>();

/** An array on the device. Made by `gpuArray(xs)` or returned by a kernel given a device array. */
export class GpuArray {
  /** Elements, as in a typed array. */
  readonly length: number;
  /** The element type: 'f32' (Float32Array), 'i32' (Int32Array) or 'u32' (Uint32Array). */
  readonly type: ElementType;

  /** @internal Made by skein only: use `gpuArray(xs)`. */
  constructor(context: GpuContext, buffer: GpuBuffer, type: ElementType, length: number) {
    this.length = length;
    this.type = type;
    storage.set(this, { buffer, context });
  }

  /** Copies the data back to the host, as a new typed array. */
  async toArray(): Promise<KernelArray> {
    const { buffer, context } = deviceBuffer(this);
    return readBuffer(context, buffer, this.type, this.length);
  }

  /** Frees the device memory now (otherwise at `releaseGpu()` or exit). Using the array afterwards throws. */
  dispose(): void {
    const held = storage.get(this);
    storage.delete(this);
    if (held && !held.context.released) held.buffer.destroy();
  }

  /** `using array = ...`: `dispose()` at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** The buffer behind a device array; throws when it was disposed or its device released. */
export function deviceBuffer(array: GpuArray): { buffer: GpuBuffer; context: GpuContext } {
  const held = storage.get(array);
  if (!held) throw new TypeError('this GpuArray was disposed: its data is gone');
  if (held.context.released) {
    throw new GpuUnavailableError('this GpuArray belonged to a device that releaseGpu() destroyed: its data is gone');
  }
  return held;
}

/** A storage buffer of `length` elements (WebGPU buffers cannot be empty: at least 4 bytes). */
export function createStorageBuffer(context: GpuContext, length: number): GpuBuffer {
  const size = Math.max(4, length * 4);
  if (size > context.limits.maxBufferSize) {
    throw new RangeError(
      `an array of ${length} elements (${size} bytes) exceeds this adapter's largest buffer ` +
        `(${context.limits.maxBufferSize} bytes): split it, or use device: 'cpu'`,
    );
  }
  return context.device.createBuffer({
    size,
    usage: BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.COPY_DST,
  });
}

/** A new device buffer holding `array`. */
export function uploadArray(context: GpuContext, array: KernelArray): GpuBuffer {
  const buffer = createStorageBuffer(context, array.length);
  if (array.length > 0) context.device.queue.writeBuffer(buffer, 0, array.buffer, array.byteOffset, array.byteLength);
  return buffer;
}

/** Reads `length` elements of `buffer` back to the host (after all work submitted so far). */
export async function readBuffer(
  context: GpuContext,
  buffer: GpuBuffer,
  type: ElementType,
  length: number,
): Promise<KernelArray> {
  if (length === 0) return typedArrayOf(type, new ArrayBuffer(0), 0);
  const { device } = context;
  const staging = device.createBuffer({ size: length * 4, usage: BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST });
  try {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, length * 4);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_READ_MODE);
    // slice: the mapped range is detached at unmap, the copy is ours.
    return typedArrayOf(type, staging.getMappedRange().slice(0), length);
  } finally {
    staging.destroy();
  }
}
