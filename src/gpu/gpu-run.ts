/**
 * Running a compiled kernel on the device: elementwise over whole buffers, or as a tree
 * reduction, each split into dispatches that respect the device's limits.
 *
 *   array of n ─► chunks of C elements ─► one dispatch each (its own bind group: binding
 *                 offsets into the same buffers, and a uniform with the chunk's length)
 *
 * C is at most 65,535 workgroups (the per-dimension dispatch limit) and at most one storage
 * binding (128 MiB by default), and a multiple of what keeps every binding offset aligned.
 */
import type { GpuContext } from './dawn.js';
import { BUFFER_USAGE, createStorageBuffer } from './device-array.js';
import type { TypedKernel } from './ir.js';
import type { GpuBuffer, GpuComputePipeline } from './webgpu-types.js';
import { MAP_WORKGROUP, mapShader, REDUCE_BLOCK, reduceShader } from './wgsl.js';

/** Elements per dispatch: see the picture above. */
export function chunkElements(context: GpuContext, workgroup: number): number {
  const { limits } = context;
  // Offsets of a chunk (start * 4 bytes) and of its reduction partials (start / 256 * 4 bytes)
  // must both be multiples of the offset alignment.
  const unit = Math.max(REDUCE_BLOCK, (REDUCE_BLOCK * limits.minStorageBufferOffsetAlignment) / 4);
  const most = Math.min(limits.maxComputeWorkgroupsPerDimension * workgroup, limits.maxStorageBufferBindingSize / 4);
  return Math.max(unit, Math.floor(most / unit) * unit);
}

async function pipeline(context: GpuContext, code: string): Promise<GpuComputePipeline> {
  let cached = context.pipelines.get(code);
  if (!cached) {
    cached = (async () => {
      const { device } = context;
      device.pushErrorScope('validation');
      const module = device.createShaderModule({ code });
      const compiled = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      const error = await device.popErrorScope();
      if (error) {
        const messages = (await module.getCompilationInfo()).messages.map(
          (m) => `${m.lineNum}:${m.linePos} ${m.message}`,
        );
        throw new Error(
          `skein/gpu generated WGSL that the device refused (a bug): ${error.message}\n${messages.join('\n')}\n${code}`,
        );
      }
      return compiled;
    })();
    context.pipelines.set(code, cached);
    cached.catch(() => context.pipelines.delete(code));
  }
  return cached;
}

function uniform(context: GpuContext, count: number, temporary: GpuBuffer[]): GpuBuffer {
  const buffer = context.device.createBuffer({ size: 16, usage: BUFFER_USAGE.UNIFORM | BUFFER_USAGE.COPY_DST });
  // count, then the zero that skein_exact ORs in (a zero the shader compiler cannot see).
  context.device.queue.writeBuffer(buffer, 0, new Uint32Array([count, 0, 0, 0]));
  temporary.push(buffer);
  return buffer;
}

/** Submits `output[i] = kernel(inputs...[i])` over `length` elements; returns the output buffer. */
export async function dispatchMap(
  context: GpuContext,
  kernel: TypedKernel,
  inputs: readonly GpuBuffer[],
  length: number,
): Promise<GpuBuffer> {
  const compiled = await pipeline(context, mapShader(kernel));
  const output = createStorageBuffer(context, length);
  const { device } = context;
  const temporary: GpuBuffer[] = [];
  const encoder = device.createCommandEncoder();
  const chunk = chunkElements(context, MAP_WORKGROUP);
  for (let start = 0; start < length; start += chunk) {
    const count = Math.min(chunk, length - start);
    const range = { offset: start * 4, size: count * 4 };
    const bindGroup = device.createBindGroup({
      layout: compiled.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: uniform(context, count, temporary) } },
        ...inputs.map((buffer, i) => ({ binding: i + 1, resource: { buffer, ...range } })),
        { binding: inputs.length + 1, resource: { buffer: output, ...range } },
      ],
    });
    const pass = encoder.beginComputePass();
    pass.setPipeline(compiled);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(Math.ceil(count / MAP_WORKGROUP));
    pass.end();
  }
  device.queue.submit([encoder.finish()]);
  // WebGPU lets a buffer be destroyed once the work using it is submitted.
  for (const buffer of temporary) buffer.destroy();
  return output;
}

/**
 * Submits the reduction of `length` (> 0) elements of `input`, level by level, down to one
 * element; returns the buffer holding it (`input` itself when it has one element).
 */
export async function dispatchReduce(
  context: GpuContext,
  kernel: TypedKernel,
  input: GpuBuffer,
  length: number,
): Promise<GpuBuffer> {
  const compiled = await pipeline(context, reduceShader(kernel));
  const { device } = context;
  const temporary: GpuBuffer[] = [];
  const levels: GpuBuffer[] = [];
  const encoder = device.createCommandEncoder();
  const chunk = chunkElements(context, REDUCE_BLOCK);
  let source = input;
  for (let count = length; count > 1; count = Math.ceil(count / REDUCE_BLOCK)) {
    const partials = createStorageBuffer(context, Math.ceil(count / REDUCE_BLOCK));
    levels.push(partials);
    for (let start = 0; start < count; start += chunk) {
      const n = Math.min(chunk, count - start);
      const groups = Math.ceil(n / REDUCE_BLOCK);
      const bindGroup = device.createBindGroup({
        layout: compiled.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: uniform(context, n, temporary) } },
          { binding: 1, resource: { buffer: source, offset: start * 4, size: n * 4 } },
          { binding: 2, resource: { buffer: partials, offset: (start / REDUCE_BLOCK) * 4, size: groups * 4 } },
        ],
      });
      const pass = encoder.beginComputePass();
      pass.setPipeline(compiled);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(groups);
      pass.end();
    }
    source = partials;
  }
  device.queue.submit([encoder.finish()]);
  for (const buffer of [...temporary, ...levels]) if (buffer !== source) buffer.destroy();
  return source;
}
