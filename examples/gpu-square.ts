// Ported from seed article 002 (CuPy):
//
//   @cp.jit
//   def square(x):
//       return x ** 2
//   x_cpu = np.arange(10)
//   x_gpu = cp.arange(10)
//   print(square(x_cpu))  # Output: [ 0 1 4 9 16 25 36 49 64 81]
//   print(square(x_gpu))  # Output: [ 0 1 4 9 16 25 36 49 64 81]
//
// One kernel, compiled to WGSL for the device and to JavaScript for the CPU path, over a host
// array and over an array kept on the device. Run: npx tsx examples/gpu-square.ts
import { gpuArray, gpuInfo, kernel } from 'skein/gpu';

const square = kernel((x: number) => x ** 2);
const show = (xs: ArrayLike<number>) => `[${Array.from(xs).join(' ')}]`;

const xCpu = Int32Array.from({ length: 10 }, (_, i) => i);
console.log('cpu:', show(await square.map(xCpu, { device: 'cpu' })));

const info = await gpuInfo();
if (info === null) {
  console.log('gpu: skipped, no WebGPU adapter here (npm install webgpu, and a Vulkan driver)');
} else {
  using xGpu = await gpuArray(Int32Array.from({ length: 10 }, (_, i) => i)); // CuPy's cp.arange(10)
  using squared = await square.map(xGpu); // stays on the device
  console.log('gpu:', show(await squared.toArray()));
  console.error(`(on ${info.adapter}${info.software ? ', a software adapter' : ''})`);
}
