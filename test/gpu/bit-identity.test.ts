/**
 * Every construct of the kernel subset, compiled and run on the device (lavapipe in CI) and on
 * the CPU path, over 1M random elements with negatives, zeros of both signs and large values:
 * the results must agree bit for bit (but for NaN payloads and the sign of a zero, which WGSL
 * leaves to the GPU). Single operations are also checked against plain JavaScript, bit for bit
 * with zero signs, so both paths are right, not merely equal.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type KernelArray, kernel } from 'skein/gpu';
import { typeOfArray } from '../../src/gpu/ir.ts';
import { firstDifference, floats, ints, type KernelInternals, noAdapterReason, uints } from './inputs.ts';

const N = 1 << 20;
const [fa, fb, fc] = [floats(N, 1), floats(N, 2), floats(N, 3)];
const [ia, ib] = [ints(N, 4), ints(N, 5)];
const [ua, ub] = [uints(N, 6), uints(N, 7)];

interface Case {
  name: string;
  fn: (...args: number[]) => number;
  inputs: KernelArray[];
  /** A single operation: plain JavaScript stored into the result's typed array gives the same bits. */
  plainJs?: boolean;
}

const cases: Case[] = [
  { name: 'f32 a + b', fn: (a, b) => a + b, inputs: [fa, fb], plainJs: true },
  { name: 'f32 a - b', fn: (a, b) => a - b, inputs: [fa, fb], plainJs: true },
  { name: 'f32 a * b', fn: (a, b) => a * b, inputs: [fa, fb], plainJs: true },
  { name: 'f32 a / b', fn: (a, b) => a / b, inputs: [fa, fb], plainJs: true },
  { name: 'f32 a % b (x - y * trunc(x / y))', fn: (a, b) => a % b, inputs: [fa, fb] },
  {
    name: 'comparisons < <= > >= === !==',
    fn: (a, b) =>
      (a < b ? 1 : 0) + (a <= b ? 2 : 0) + (a > b ? 4 : 0) + (a >= b ? 8 : 0) + (a === b ? 16 : 0) + (a !== b ? 32 : 0),
    inputs: [fa, fb],
    plainJs: true,
  },
  { name: 'logical && || !', fn: (a, b) => ((a > 0 && b > 0) || !(a < b) ? a : b), inputs: [fa, fb], plainJs: true },
  { name: 'unary - and +', fn: (a) => -a + +a * 2, inputs: [fa] },
  { name: 'Math.abs', fn: (a) => Math.abs(a), inputs: [fa], plainJs: true },
  { name: 'Math.min', fn: (a, b) => Math.min(a, b), inputs: [fa, fb], plainJs: true },
  { name: 'Math.max of three', fn: (a, b, c) => Math.max(a, b, c), inputs: [fa, fb, fc], plainJs: true },
  { name: 'Math.floor', fn: (a) => Math.floor(a), inputs: [fa], plainJs: true },
  { name: 'Math.ceil', fn: (a) => Math.ceil(a), inputs: [fa], plainJs: true },
  { name: 'Math.trunc', fn: (a) => Math.trunc(a), inputs: [fa], plainJs: true },
  { name: 'Math.round', fn: (a) => Math.round(a), inputs: [fa], plainJs: true },
  { name: 'Math.round of halves (up, as JavaScript)', fn: (a) => Math.round(a * 2) / 2, inputs: [fa] },
  { name: 'Math.sign', fn: (a) => Math.sign(a), inputs: [fa] },
  { name: 'Math.sqrt', fn: (a) => Math.sqrt(Math.abs(a)), inputs: [fa], plainJs: true },
  { name: 'Math.fround and Math.PI', fn: (a) => Math.fround(a) * Math.PI, inputs: [fa] },
  {
    name: 'let, const and assignment operators',
    fn: (x) => {
      const a = x * 2;
      let b = a + 1;
      b *= b;
      b -= a;
      b /= 3;
      return b;
    },
    inputs: [fa],
  },
  {
    name: 'if / else if / else',
    fn: (x) => {
      if (x > 10) {
        return x - 10;
      } else if (x < -10) {
        return x + 10;
      }
      return x * 0.5;
    },
    inputs: [fa],
  },
  { name: 'ternary', fn: (x) => (x > 0 ? x : -x * 0.25), inputs: [fa] },
  {
    name: 'for loop with break and continue (a float accumulator)',
    fn: (x) => {
      let acc = 0;
      for (let i = 0; i < 20; i++) {
        if (i === 3) continue;
        acc = acc * 0.5 + x * i;
        if (acc > 1e30) break;
      }
      return acc;
    },
    inputs: [fa],
  },
  {
    name: 'a 20-flop polynomial (Horner)',
    fn: (x) => (((((((((x * 0.5 + 1) * x - 2) * x + 3) * x - 4) * x + 5) * x - 6) * x + 7) * x - 8) * x + 9) * x - 10,
    inputs: [fa],
  },
  { name: 'three inputs: a * b + c', fn: (a, b, c) => a * b + c, inputs: [fa, fb, fc] },
  { name: 'f32 and i32 inputs mixed', fn: (x, n) => x * n + n, inputs: [fa, ia] },
  { name: 'i32 a + b - 7 (wrapping)', fn: (a, b) => a + b - 7, inputs: [ia, ib] },
  { name: 'i32 a * b (wrapping)', fn: (a, b) => a * b, inputs: [ia, ib] },
  { name: 'i32 a % b (zero divisors included)', fn: (a, b) => a % b, inputs: [ia, ib] },
  { name: 'i32 a / b (a float, as in JavaScript)', fn: (a, b) => a / b, inputs: [ia, ib] },
  {
    name: 'i32 abs, min, max, sign, unary -',
    fn: (a, b) => Math.abs(a) - Math.min(a, b) + Math.max(a, -b) * Math.sign(b),
    inputs: [ia, ib],
  },
  { name: 'u32 a * b - a + b (wrapping)', fn: (a, b) => a * b - a + b, inputs: [ua, ub] },
  { name: 'u32 a % b and comparisons', fn: (a, b) => (a > b ? a % b : b - a), inputs: [ua, ub] },
  {
    name: 'an i32 loop counter bounded by an input',
    fn: (n, x) => {
      let acc = x;
      for (let i = 0; i < n % 16; i++) acc = acc * 1.5 - i;
      return acc;
    },
    inputs: [ia, fa],
  },
];

function plainJavaScript(c: Case, like: KernelArray): KernelArray {
  const out = new (like.constructor as new (n: number) => KernelArray)(N);
  const args = new Array<number>(c.inputs.length);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < args.length; j++) args[j] = (c.inputs[j] as KernelArray)[i] as number;
    out[i] = c.fn(...args);
  }
  return out;
}

function describeDifference(c: Case, a: KernelArray, b: KernelArray, at: number, what: [string, string]): string {
  const inputs = c.inputs.map((input) => input[at]).join(', ');
  return `element ${at}: fn(${inputs}) is ${a[at]} (${what[0]}) but ${b[at]} (${what[1]})`;
}

const skip = await noAdapterReason();

describe('the device and the CPU path agree bit for bit on 1M random elements', { skip }, () => {
  for (const c of cases) {
    it(c.name, async () => {
      const k = kernel(c.fn);
      const gpu = (await k.map(...c.inputs, { device: 'gpu' })) as KernelArray;
      const cpu = (await k.map(...c.inputs, { device: 'cpu' })) as KernelArray;
      assert.equal(gpu.constructor, cpu.constructor);
      assert.equal(gpu.length, N);
      const at = firstDifference(gpu, cpu, 'ignored');
      assert.equal(at, -1, describeDifference(c, gpu, cpu, at, ['device', 'CPU path']));
    });
  }
});

describe('the two CPU programs agree bit for bit: WebAssembly (map) and JavaScript with Math.fround (reduce, huge maps)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const k = kernel(c.fn);
      const wasm = (await k.map(...c.inputs, { device: 'cpu' })) as KernelArray;
      const javascript = new (wasm.constructor as new (n: number) => KernelArray)(N);
      // the kernel's internals (stripped from the published types): the JavaScript program of a chunk
      const internal = k as unknown as KernelInternals;
      internal.mapChunk(internal.compiled(c.inputs.map(typeOfArray)))(c.inputs, javascript, 0, N);
      const at = firstDifference(wasm, javascript);
      assert.equal(at, -1, describeDifference(c, wasm, javascript, at, ['WebAssembly', 'JavaScript']));
    });
  }
});

describe('the CPU path gives what plain JavaScript gives for single operations', () => {
  for (const c of cases.filter((c) => c.plainJs)) {
    it(c.name, async () => {
      const cpu = (await kernel(c.fn).map(...c.inputs, { device: 'cpu' })) as KernelArray;
      const plain = plainJavaScript(c, cpu);
      const at = firstDifference(cpu, plain);
      assert.equal(at, -1, describeDifference(c, cpu, plain, at, ['CPU path', 'plain JavaScript']));
    });
  }
});
