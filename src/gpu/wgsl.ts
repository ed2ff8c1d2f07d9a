/**
 * The device's program: a typed kernel as a WGSL compute shader, elementwise (`map`) or as one
 * level of a tree reduction (`reduce`).
 *
 * Bit-identity with the CPU path rests on two things here. Every f32 product goes through
 * `skein_exact`, an OR with a zero the compiler cannot see (it is read from a uniform): without
 * it, shader compilers fuse `a * b + c` into one fused multiply-add, rounded once instead of
 * twice (measured on lavapipe: 26 % of 1M results of `x * x + x * 3` differed by an ulp).
 * And the operations WGSL defines differently from JavaScript are written out the same way on
 * both paths: `Math.round` (WGSL rounds halves to even), the f32 remainder, and the sign of a
 * zero from `Math.min`, `Math.max` and `Math.sign`.
 */
import type { ElementType, Expr, Stmt, TypedKernel } from './ir.js';

/** Threads per workgroup of the elementwise shader. */
export const MAP_WORKGROUP = 64;
/** Threads per workgroup of the reduction, and so the fan-in of each level of its tree. */
export const REDUCE_BLOCK = 256;

function literal(type: ElementType | 'bool', value: number | boolean): string {
  if (type === 'bool') return String(value);
  const n = value as number;
  if (type === 'u32') return `${n}u`;
  if (type === 'i32') return n === -(2 ** 31) ? '(-2147483647i - 1i)' : n < 0 ? `(${n}i)` : `${n}i`;
  if (Object.is(n, -0)) return '(-0.0f)';
  // String(n) is the shortest decimal that reads back as this double, which is an f32: WGSL
  // reads it back to the same f32.
  const text = String(Math.abs(n));
  const decimal = /[.e]/.test(text) ? text : `${text}.0`;
  return n < 0 ? `(-${decimal}f)` : `${decimal}f`;
}

function expr(e: Expr): string {
  switch (e.kind) {
    case 'const':
      return literal(e.type, e.value);
    case 'var':
      return `v_${e.name}`;
    case 'toFloat':
      return `f32(${expr(e.value)})`;
    case 'negate':
      return e.type === 'u32' ? `(0u - ${expr(e.value)})` : `(-${expr(e.value)})`;
    case 'not':
      return `(!${expr(e.value)})`;
    case 'arithmetic': {
      const [a, b] = [expr(e.left), expr(e.right)];
      if (e.type !== 'f32') return `(${a} ${e.op} ${b})`;
      if (e.op === '*') return `skein_exact(${a} * ${b})`;
      if (e.op === '%') return `skein_remainder(${a}, ${b})`;
      return `(${a} ${e.op} ${b})`;
    }
    case 'compare':
    case 'logical':
      return `(${expr(e.left)} ${e.op} ${expr(e.right)})`;
    case 'select':
      return `select(${expr(e.whenFalse)}, ${expr(e.whenTrue)}, ${expr(e.condition)})`;
    case 'call': {
      const emulated = e.type === 'f32' && (e.fn === 'round' || e.fn === 'min' || e.fn === 'max' || e.fn === 'sign');
      const name = emulated ? `skein_${e.fn}` : e.fn;
      return `${name}(${e.args.map(expr).join(', ')})`;
    }
  }
}

function statements(body: readonly Stmt[], indent: string): string {
  return body.map((s) => statement(s, indent)).join('');
}

function statement(s: Stmt, indent: string): string {
  const inner = `${indent}  `;
  switch (s.kind) {
    case 'declare':
      return `${indent}${s.mutable ? 'var' : 'let'} v_${s.name}: ${s.type} = ${expr(s.value)};\n`;
    case 'assign':
      return `${indent}v_${s.name} = ${expr(s.value)};\n`;
    case 'block':
      return `${indent}{\n${statements(s.body, inner)}${indent}}\n`;
    case 'if':
      return (
        `${indent}if (${expr(s.condition)}) {\n${statements(s.whenTrue, inner)}${indent}}` +
        (s.otherwise.length > 0 ? ` else {\n${statements(s.otherwise, inner)}${indent}}\n` : '\n')
      );
    case 'for': {
      // WGSL's for header holds one initializer and one update: the initializers go in a block
      // around the loop, the update (at most one) in the header.
      const update = s.update[0] ? statement(s.update[0], '').trim().replace(/;$/, '') : '';
      return (
        `${indent}{\n${statements(s.init, inner)}` +
        `${inner}for (; ${expr(s.condition)}; ${update}) {\n${statements(s.body, `${inner}  `)}${inner}}\n${indent}}\n`
      );
    }
    case 'break':
      return `${indent}break;\n`;
    case 'continue':
      return `${indent}continue;\n`;
    case 'return':
      return `${indent}return ${expr(s.value)};\n`;
  }
}

/** The user's function as a WGSL function `skein_kernel`, with its helpers. */
function kernelFunction(kernel: TypedKernel): string {
  // WGSL parameters are immutable and JavaScript's are not: each is copied into a variable.
  const params = kernel.params.map((p) => `p_${p.name}: ${p.type}`).join(', ');
  const copies = kernel.params.map((p) => `  var v_${p.name}: ${p.type} = p_${p.name};\n`).join('');
  return `struct SkeinParams { count: u32, zero: u32 }
@group(0) @binding(0) var<uniform> skein: SkeinParams;

fn skein_exact(v: f32) -> f32 { return bitcast<f32>(bitcast<u32>(v) | skein.zero); }
// Math.round: halves go up (WGSL's round goes to even), and (-0.5, 0) gives -0.
fn skein_round(v: f32) -> f32 {
  let f = floor(v);
  let r = select(f, f + 1.0f, v - f >= 0.5f);
  return select(r, bitcast<f32>(0x80000000u), r == 0.0f && v < 0.0f);
}
fn skein_remainder(a: f32, b: f32) -> f32 { return a - skein_exact(b * trunc(a / b)); }
// JavaScript orders -0 below +0 in min and max and keeps the sign of a zero in sign; WGSL leaves
// both open. Equal operands are combined bitwise: the OR of 0 and -0 is -0, their AND is 0.
fn skein_min(a: f32, b: f32) -> f32 { return select(min(a, b), bitcast<f32>(bitcast<u32>(a) | bitcast<u32>(b)), a == b); }
fn skein_max(a: f32, b: f32) -> f32 { return select(max(a, b), bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b)), a == b); }
fn skein_sign(v: f32) -> f32 { return select(sign(v), v, v == 0.0f); }

fn skein_kernel(${params}) -> ${kernel.returns} {
${copies}${statements(kernel.body, '  ')}}
`;
}

/** Elementwise: binding 0 the parameters, 1..n the inputs, n+1 the output. */
export function mapShader(kernel: TypedKernel): string {
  const inputs = kernel.params
    .map((p, i) => `@group(0) @binding(${i + 1}) var<storage, read> in${i}: array<${p.type}>;\n`)
    .join('');
  const out = kernel.params.length + 1;
  const args = kernel.params.map((_, i) => `in${i}[i]`).join(', ');
  return `${kernelFunction(kernel)}
${inputs}@group(0) @binding(${out}) var<storage, read_write> result: array<${kernel.returns}>;

@compute @workgroup_size(${MAP_WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= skein.count) { return; }
  result[i] = skein_kernel(${args});
}
`;
}

/**
 * One level of the reduction: workgroup w folds elements [256w, 256w + 256) of its input into
 * element w of its output, halving the stride each step and skipping pairs past the end. The
 * CPU path folds in exactly this order (cpu-source.ts), so f32 sums agree to the bit.
 */
export function reduceShader(kernel: TypedKernel): string {
  const type = kernel.returns;
  return `${kernelFunction(kernel)}
@group(0) @binding(1) var<storage, read> source: array<${type}>;
@group(0) @binding(2) var<storage, read_write> partials: array<${type}>;
var<workgroup> scratch: array<${type}, ${REDUCE_BLOCK}>;

@compute @workgroup_size(${REDUCE_BLOCK})
fn main(@builtin(local_invocation_id) local: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>) {
  let start = group.x * ${REDUCE_BLOCK}u;
  let n = min(${REDUCE_BLOCK}u, skein.count - start);
  let l = local.x;
  if (l < n) { scratch[l] = source[start + l]; }
  workgroupBarrier();
  for (var stride = ${REDUCE_BLOCK / 2}u; stride > 0u; stride = stride >> 1u) {
    if (l < stride && l + stride < n) { scratch[l] = skein_kernel(scratch[l], scratch[l + stride]); }
    workgroupBarrier();
  }
  if (l == 0u) { partials[group.x] = scratch[0]; }
}
`;
}
