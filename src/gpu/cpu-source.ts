/**
 * The CPU path's program: a typed kernel as JavaScript that computes what the WGSL computes, bit
 * for bit. JavaScript computes in doubles, so every f32 result is rounded with `Math.fround`
 * (a double operation on two f32 values, then rounded to f32, is the correctly rounded f32
 * operation for + − × ÷ and √), and every i32/u32 result is wrapped as WGSL wraps it.
 *
 * The result is the source of one self-contained function (it uses only its parameters and
 * `Math`), which the thread pool sends to its workers as source, the way it sends any
 * self-contained function: nothing of the user's code is evaluated in a worker except this
 * text, generated from the checked tree.
 */
import type { ElementType, Expr, Stmt, TypedKernel } from './ir.js';
import { REDUCE_BLOCK } from './wgsl.js';

const F = 'Math.fround';

function literal(value: number | boolean): string {
  if (Object.is(value, -0)) return '-0';
  return String(value);
}

function wrap(type: ElementType, text: string): string {
  if (type === 'f32') return `${F}(${text})`;
  return type === 'i32' ? `((${text}) | 0)` : `((${text}) >>> 0)`;
}

function expr(e: Expr): string {
  switch (e.kind) {
    case 'const':
      return `(${literal(e.value)})`;
    case 'var':
      return `v_${e.name}`;
    case 'toFloat':
      return `${F}(${expr(e.value)})`;
    case 'negate':
      return e.type === 'f32' ? `(-${expr(e.value)})` : wrap(e.type as ElementType, `-${expr(e.value)}`);
    case 'not':
      return `(!${expr(e.value)})`;
    case 'arithmetic': {
      const [a, b] = [expr(e.left), expr(e.right)];
      if (e.type === 'f32' && e.op === '%') {
        // WGSL's f32 remainder is a - b * trunc(a / b), each step rounded: written out the same way.
        return `${F}(${a} - ${F}(${b} * Math.trunc(${F}(${a} / ${b}))))`;
      }
      if (e.type !== 'f32' && e.op === '*') return wrap(e.type, `Math.imul(${a}, ${b})`);
      return wrap(e.type, `${a} ${e.op} ${b}`);
    }
    case 'compare':
      return `(${expr(e.left)} ${e.op === '==' ? '===' : e.op === '!=' ? '!==' : e.op} ${expr(e.right)})`;
    case 'logical':
      return `(${expr(e.left)} ${e.op} ${expr(e.right)})`;
    case 'select':
      return `(${expr(e.condition)} ? ${expr(e.whenTrue)} : ${expr(e.whenFalse)})`;
    case 'call': {
      const args = e.args.map(expr).join(', ');
      if (e.type !== 'f32') return wrap(e.type, `Math.${e.fn}(${args})`);
      // abs, min, max, floor, ceil, trunc, round and sign of an f32 are f32 already; the rest round.
      const exactAlready = ['abs', 'min', 'max', 'floor', 'ceil', 'trunc', 'round', 'sign'].includes(e.fn);
      return exactAlready ? `Math.${e.fn}(${args})` : `${F}(Math.${e.fn}(${args}))`;
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
      return `${indent}${s.mutable ? 'let' : 'const'} v_${s.name} = ${expr(s.value)};\n`;
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

function kernelFunction(kernel: TypedKernel): string {
  const params = kernel.params.map((p) => `v_${p.name}`).join(', ');
  return `  const skeinKernel = (${params}) => {
${statements(kernel.body, '    ')}  };
`;
}

/**
 * `(inputs, output, start, end)`: output[i] = kernel(inputs[0][i], ...) for i in [start, end).
 * The arrays are views of SharedArrayBuffers, so a worker writes its slice in place.
 */
export function mapChunkSource(kernel: TypedKernel): string {
  const names = kernel.params.map((_, i) => `in${i}`);
  const reads = names.map((name) => `${name}[i]`).join(', ');
  return `function skeinMapChunk(inputs, output, start, end) {
${kernelFunction(kernel)}  const [${names.join(', ')}] = inputs;
  for (let i = start; i < end; i++) output[i] = skeinKernel(${reads});
}`;
}

/**
 * `(source, partials, start, end, count)`: one level of the reduction over the blocks of
 * [start, end) (block-aligned), folding each block exactly as a workgroup of reduceShader does.
 */
export function reduceChunkSource(kernel: TypedKernel): string {
  const half = REDUCE_BLOCK / 2;
  return `function skeinReduceChunk(source, partials, start, end, count) {
${kernelFunction(kernel)}  const scratch = new Float64Array(${REDUCE_BLOCK});
  for (let lo = start; lo < end; lo += ${REDUCE_BLOCK}) {
    const n = Math.min(${REDUCE_BLOCK}, count - lo);
    for (let l = 0; l < n; l++) scratch[l] = source[lo + l];
    for (let stride = ${half}; stride > 0; stride >>= 1) {
      for (let l = 0; l < stride && l + stride < n; l++) scratch[l] = skeinKernel(scratch[l], scratch[l + stride]);
    }
    partials[lo / ${REDUCE_BLOCK}] = scratch[0];
  }
}`;
}
