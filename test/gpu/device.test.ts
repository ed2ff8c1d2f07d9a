/**
 * The device path beyond single kernels: reductions, device arrays, arrays larger than one
 * dispatch, the choice `device: 'auto'` makes, and what happens with no adapter at all.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { GpuArray, gpuArray, gpuInfo, type KernelArray, kernel, reduce } from 'skein/gpu';
import { firstDifference, floats, ints, noAdapterReason, random } from './inputs.ts';

const skip = await noAdapterReason();
const add = kernel((a: number, b: number) => a + b);
const square = kernel((x: number) => x * x);

function wrappedSum(xs: Int32Array): number {
  let sum = 0;
  for (const x of xs) sum = (sum + x) | 0;
  return sum;
}

describe('reduce', { skip }, () => {
  it('an f32 sum over 1M + 13 elements (three levels) is the same on the device and the CPU path', async () => {
    const xs = floats((1 << 20) + 13, 11);
    const gpu = await reduce(add, xs, 0.5, { device: 'gpu' });
    const cpu = await reduce(add, xs, 0.5, { device: 'cpu' });
    assert.ok(Object.is(gpu, cpu), `device ${gpu}, CPU path ${cpu}`);
    assert.ok(Number.isFinite(gpu));
  });

  it('an i32 sum wraps as WGSL does and equals a plain loop, whatever the order', async () => {
    const xs = ints(300_001, 12);
    const expected = (wrappedSum(xs) + 10) | 0;
    assert.equal(await reduce(add, xs, 10, { device: 'gpu' }), expected);
    assert.equal(await reduce(add, xs, 10, { device: 'cpu' }), expected);
  });

  it('a max over f32, with init taking part', async () => {
    const xs = floats(100_003, 13);
    const max = (a: number, b: number) => Math.max(a, b);
    const expected = xs.reduce((a, b) => Math.max(a, b), -Infinity);
    assert.equal(await reduce(max, xs, -1e30, { device: 'gpu' }), expected);
    assert.equal(await reduce(max, xs, 3.4e38, { device: 'gpu' }), Math.fround(3.4e38));
  });

  it('small arrays: one and two elements, and init alone', async () => {
    assert.equal(await reduce(add, new Int32Array([5]), 1, { device: 'gpu' }), 6);
    assert.equal(await reduce(add, new Int32Array([5, 7]), 1, { device: 'gpu' }), 13);
    assert.equal(await reduce(add, new Int32Array([]), 1, { device: 'gpu' }), 1);
  });

  it('more elements than one dispatch (17M) are split and still summed exactly', async () => {
    const next = random(14);
    const xs = Int32Array.from({ length: 17_000_000 }, () => Math.floor(next() * 2001) - 1000);
    const expected = wrappedSum(xs);
    assert.equal(await reduce(add, xs, 0, { device: 'gpu' }), expected);
  });
});

describe('kernel.map over more elements than one dispatch', { skip }, () => {
  it('8.4M elements (65,535 workgroups of 64 is 4.19M) agree with the CPU path', async () => {
    const xs = floats(2 * 65_535 * 64 + 77, 15);
    const ys = floats(xs.length, 16);
    const gpu = (await add.map(xs, ys, { device: 'gpu' })) as Float32Array;
    const cpu = (await add.map(xs, ys, { device: 'cpu' })) as Float32Array;
    assert.equal(firstDifference(gpu, cpu, 'ignored'), -1);
    assert.equal(gpu.at(-1), Math.fround((xs.at(-1) as number) + (ys.at(-1) as number)));
  });
});

describe('concurrent calls', { skip }, () => {
  it('share the device: maps and reductions in flight together each get their own result', async () => {
    const xs = Float32Array.from({ length: 300_000 }, (_, i) => i % 100);
    const maps = Array.from({ length: 5 }, () => square.map(xs, { device: 'gpu' }));
    const sums = Array.from({ length: 3 }, () => reduce(add, xs, 0, { device: 'gpu' }));
    for (const result of await Promise.all(maps)) assert.equal(result[57], 57 * 57);
    assert.deepEqual(await Promise.all(sums), [14_850_000, 14_850_000, 14_850_000]);
  });
});

describe('empty arrays', { skip }, () => {
  it('give empty results on every path', async () => {
    for (const device of ['gpu', 'cpu'] as const) {
      const result = await add.map(new Float32Array(0), new Float32Array(0), { device });
      assert.ok(result instanceof Float32Array && result.length === 0, device);
    }
    using empty = await gpuArray(new Int32Array(0));
    assert.deepEqual(await (await square.map(empty)).toArray(), new Int32Array(0));
  });
});

describe('GpuArray: data kept on the device between kernels', { skip }, () => {
  it('chains through two kernels and reads back what the CPU path computes', async () => {
    const xs = floats(100_000, 17);
    const d = await gpuArray(xs);
    const squared = await square.map(d);
    assert.ok(squared instanceof GpuArray);
    const summed = await add.map(squared, d); // a device array and a device array
    const mixed = await add.map(summed, xs); // a device array and a host array
    assert.ok(summed instanceof GpuArray && mixed instanceof GpuArray);
    assert.equal(mixed.length, xs.length);
    assert.equal(mixed.type, 'f32');
    const cpuSquared = (await square.map(xs, { device: 'cpu' })) as Float32Array;
    const cpuSummed = (await add.map(cpuSquared, xs, { device: 'cpu' })) as Float32Array;
    const cpuMixed = (await add.map(cpuSummed, xs, { device: 'cpu' })) as Float32Array;
    assert.equal(firstDifference(await mixed.toArray(), cpuMixed, 'ignored'), -1);
    assert.equal(await reduce(add, mixed, 0, { device: 'gpu' }), await reduce(add, cpuMixed, 0, { device: 'cpu' }));
    for (const array of [d, squared, summed, mixed]) array.dispose();
  });

  it('keeps its element type, and refuses use after dispose()', async () => {
    const d = await gpuArray(new Uint32Array([1, 2, 3]));
    assert.equal(d.type, 'u32');
    assert.deepEqual(await (await square.map(d)).toArray(), new Uint32Array([1, 4, 9]));
    d.dispose();
    await assert.rejects(d.toArray(), /disposed/);
    await assert.rejects(square.map(d), /disposed/);
  });

  it("refuses device: 'cpu' for a device array", async () => {
    using d = await gpuArray(new Float32Array(4));
    await assert.rejects(square.map(d, { device: 'cpu' }), /toArray\(\) first/);
  });
});

describe('gpuInfo and device: auto', { skip }, () => {
  it('describes the adapter', async () => {
    const info = await gpuInfo();
    assert.ok(info);
    assert.equal(typeof info.adapter, 'string');
    assert.equal(typeof info.software, 'boolean');
    assert.ok(info.limits.maxStorageBufferBindingSize >= 128 * 2 ** 20);
  });

  it("'auto' takes the CPU path on a software adapter (its result lives in shared memory)", async () => {
    const info = await gpuInfo();
    const result = (await square.map(new Float32Array(10))) as KernelArray;
    assert.equal(result.buffer instanceof SharedArrayBuffer, info?.software === true);
  });
});

describe('with no adapter at all', () => {
  it("gpuInfo() is null, 'auto' computes on the CPU, 'gpu' says what to install", () => {
    const script = `
      import { gpuInfo, kernel } from 'skein/gpu';
      const twice = kernel((x) => x * 2);
      console.log(JSON.stringify(await gpuInfo()));
      console.log(Array.from(await twice.map(new Float32Array([1, 2]))).join(','));
      await twice.map(new Float32Array(2), { device: 'gpu' }).catch((e) => console.log(e.name + ': ' + e.message));
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
      // The Vulkan loader then finds no driver at all.
      env: { ...process.env, VK_ICD_FILENAMES: '/nonexistent.json', VK_DRIVER_FILES: '/nonexistent.json' },
    });
    assert.equal(run.status, 0, run.stderr);
    const [info, doubled, error] = run.stdout.trim().split('\n');
    assert.equal(info, 'null');
    assert.equal(doubled, '2,4');
    assert.match(error ?? '', /^GpuUnavailableError: no GPU for device 'gpu': .*(npm install webgpu|Vulkan driver)/);
  });
});
