// The GPU rows of `npm run bench`. The CPU path of skein/gpu (a kernel run on 2 worker threads,
// every f32 operation rounded with Math.fround so it gives the device's bits) against a plain
// single-threaded JavaScript loop of the same function; and, on a machine with a hardware GPU,
// a device-resident kernel's throughput and the cost of moving the data. A software adapter
// (lavapipe) is no GPU: the device row then says it was not measured.
import { ThreadPoolExecutor } from 'skein';
import { gpuArray, gpuInfo, kernel, releaseGpu } from 'skein/gpu';

/** 20 flops per element: a degree-10 polynomial by Horner's rule (10 multiplications, 10 additions). */
const polynomial = (x) =>
  (((((((((x * 0.5 + 1) * x - 2) * x + 3) * x - 4) * x + 5) * x - 6) * x + 7) * x - 8) * x + 9) * x - 10;

function plainLoop(xs) {
  const out = new Float32Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = polynomial(xs[i]);
  return out;
}

export async function gpuKernels({ measure }, quick) {
  const n = quick ? 200_000 : 10_000_000;
  // In [-1, 1] (no overflow), in a SharedArrayBuffer (the workers read it in place) and, for the
  // second skein row, in an ordinary ArrayBuffer (copied into shared memory first).
  const plain = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
  const xs = new Float32Array(new SharedArrayBuffer(n * 4));
  xs.set(plain);
  const poly = kernel(polynomial);
  const pool = new ThreadPoolExecutor({ maxWorkers: 2, minWorkers: 2 });
  await poly.map(xs, { device: 'cpu', executor: pool }); // warm: workers started, kernel compiled there
  const time = async (run) => {
    const t0 = performance.now();
    await run();
    return performance.now() - t0;
  };
  const cpu = await measure(
    `GPU kernel on the CPU path: ${n.toLocaleString('en')} f32 elements, 20 flops each`,
    'ms',
    'lower',
    [
      {
        name: "skein/gpu kernel.map, device 'cpu', 2 worker threads (input in a SharedArrayBuffer)",
        once: () => time(() => poly.map(xs, { device: 'cpu', executor: pool })),
      },
      {
        name: "skein/gpu kernel.map, device 'cpu', 2 worker threads (input in an ArrayBuffer, copied first)",
        once: () => time(() => poly.map(plain, { device: 'cpu', executor: pool })),
      },
      { name: 'plain JavaScript loop, 1 thread', once: () => time(() => plainLoop(xs)) },
    ],
    'skein computes in f32 (WebAssembly; bit-identical to the device); the plain loop computes in doubles and rounds once.',
  );
  await pool.shutdown();
  return [cpu, await deviceResident(measure, quick)];
}

/** 100M f32 elements kept on the device through `y = x * 2 + 1` (8 bytes moved per element). */
async function deviceResident(measure, quick) {
  const title = 'GPU kernel on a hardware GPU: 100M f32 elements on the device, y = x * 2 + 1';
  const info = await gpuInfo();
  if (info === null || info.software) {
    const why = info === null ? 'no WebGPU adapter' : `only a software adapter, ${info.adapter}`;
    return {
      title: `${title}: not measured, no GPU available to this run`,
      unit: 'GB/s',
      better: 'higher',
      rows: [],
      note: `not measured: no GPU available to this run (${why}).`,
    };
  }
  const n = quick ? 1_000_000 : 100_000_000;
  const xs = new Float32Array(n).fill(1.5);
  const affine = kernel((x) => x * 2 + 1);
  const onDevice = await gpuArray(xs);
  (await affine.map(onDevice)).dispose(); // compiles the pipeline
  const downloads = [];
  const bandwidth = async () => {
    // map() returns once the work is submitted; reading back waits for it. The kernel's time is
    // (kernel + read back) minus (read back alone).
    const t0 = performance.now();
    const out = await affine.map(onDevice);
    await out.toArray();
    const t1 = performance.now();
    await out.toArray();
    const download = performance.now() - t1;
    downloads.push(download);
    out.dispose();
    return (n * 8) / ((t1 - t0 - download) / 1000) / 1e9;
  };
  const result = await measure(`${title} (${info.adapter})`, 'GB/s', 'higher', [
    { name: 'skein/gpu kernel.map over a GpuArray (bytes read + written / kernel time)', once: bandwidth },
  ]);
  const roundTrips = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await affine.map(xs, { device: 'gpu' });
    roundTrips.push(performance.now() - t0);
  }
  onDevice.dispose();
  releaseGpu();
  if (result) {
    const range = (ms) => `${Math.min(...ms).toFixed(1)}–${Math.max(...ms).toFixed(1)} ms`;
    result.note =
      `Compare with the GPU's memory bandwidth. Moving the data: reading the ${(n * 4) / 2 ** 20} MiB result back ` +
      `took ${range(downloads)}; the whole round trip from host arrays (upload, kernel, read back) ${range(roundTrips)}.`;
  }
  return result;
}
