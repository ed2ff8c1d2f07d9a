/** Shared by the GPU tests: seeded random inputs that reach the awkward values, and bit comparison. */
import { gpuInfo } from 'skein/gpu';

/** Why the device tests skip here, or false when an adapter can be had. */
export async function noAdapterReason(): Promise<string | false> {
  const info = await gpuInfo();
  return info === null
    ? 'no WebGPU adapter can be had on this machine (install the `webgpu` package and a Vulkan driver: ' +
        'as root, `node scripts/ensure-lavapipe.mjs` installs Mesa lavapipe on Debian bookworm)'
    : false;
}

/** mulberry32: a small seeded generator, so a failure can be reproduced. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** f32 values: zeros of both signs, small integers, fractions, and magnitudes up to 1e18, either sign. */
export function floats(length: number, seed: number): Float32Array {
  const next = random(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const kind = next();
    const sign = next() < 0.5 ? -1 : 1;
    if (kind < 0.04) out[i] = 0;
    else if (kind < 0.06) out[i] = -0;
    else if (kind < 0.2) out[i] = Math.round((next() - 0.5) * 200);
    else if (kind < 0.5) out[i] = next() * 2 - 1;
    else if (kind < 0.9) out[i] = sign * 10 ** (next() * 9 - 3);
    else out[i] = sign * 10 ** (6 + next() * 12);
  }
  return out;
}

/** i32 values: zeros, small values of either sign, the extremes, and the whole range. */
export function ints(length: number, seed: number): Int32Array {
  const next = random(seed);
  const out = new Int32Array(length);
  for (let i = 0; i < length; i++) {
    const kind = next();
    if (kind < 0.05) out[i] = 0;
    else if (kind < 0.4) out[i] = Math.round((next() - 0.5) * 200);
    else if (kind < 0.42) out[i] = next() < 0.5 ? -(2 ** 31) : 2 ** 31 - 1;
    else out[i] = (next() * 2 ** 32) | 0;
  }
  return out;
}

/** u32 values: the same spread, unsigned. */
export function uints(length: number, seed: number): Uint32Array {
  return new Uint32Array(ints(length, seed).buffer);
}

/**
 * Index of the first element whose bits differ, or -1. NaNs count as equal (their payloads may
 * differ); with `zeroSign: 'ignored'`, so do 0 and -0: WGSL lets a GPU ignore the sign of a zero
 * (lavapipe's compiler folds `0 + x * 0` to `x * 0`, which is -0 for a negative x).
 */
export function firstDifference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  zeroSign: 'compared' | 'ignored' = 'compared',
): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)) || (zeroSign === 'ignored' && x === y)) continue;
    return i;
  }
  return -1;
}

/** What the tests reach inside a Kernel (marked @internal, so stripped from the published types). */
export interface KernelInternals {
  compiled(types: readonly ('f32' | 'i32' | 'u32')[]): { readonly typed: unknown };
  mapChunk(compiled: unknown): (inputs: readonly unknown[], output: unknown, from: number, to: number) => void;
}
