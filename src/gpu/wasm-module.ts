/**
 * The CPU path's WebAssembly module for one kernel (see wasm.ts for why WebAssembly):
 *
 *   imports  env.memory (shared, any size up to 4 GiB), m.<fn> for the Math functions it calls
 *   kernel(p0, p1, ...) -> result         the user's function, one element (wasm.ts)
 *   vector(p0, p1, ...) -> result         the same on four elements at once, when every
 *                                         operation has a SIMD form (wasm-simd.ts)
 *   run(start, end, base0, ..., out)      out[i] = kernel(in0[i], ...), addresses in bytes
 */
import { MATH_FUNCTIONS, type MathFunction, type Scalar, type TypedKernel } from './ir.js';
import {
  COMPARE,
  F64,
  FunctionBody,
  I32,
  importedFunctions,
  kernelBody,
  name,
  op,
  section,
  signed,
  unsigned,
  V128,
  VOID,
  valueType,
  vector,
} from './wasm.js';
import { vectorizable, vectorKernelBody } from './wasm-simd.js';

/**
 * run(start, end, base0, ..., out): the loop over elements. With a vector kernel (wasm-simd.ts),
 * four elements at a time first, then the rest one by one with the scalar kernel.
 */
function runBody(kernel: TypedKernel, kernelIndex: number, vectorIndex: number | undefined): number[] {
  const inputs = kernel.params.length;
  const body = new FunctionBody(inputs + 3, []);
  const [start, end, out] = [0, 1, inputs + 2];
  const address = (base: number) => {
    body.get(base);
    body.get(start);
    body.emit(op.i32Const, 2, op.i32Shl, op.i32Add);
  };
  const memarg = [2, 0]; // 4-byte aligned, offset 0
  const loop = (stop: number, step: number, load: (type: Scalar) => number[], store: number[], fn: number) => {
    body.emit(op.block, VOID, op.loop, VOID);
    body.get(start);
    body.get(stop);
    body.emit(COMPARE.u32['>='] as number, op.brIf, 1);
    address(out);
    kernel.params.forEach((p, i) => {
      address(2 + i);
      body.emit(...load(p.type));
    });
    body.emit(op.call, ...unsigned(fn), ...store);
    body.get(start);
    body.emit(op.i32Const, step, op.i32Add, op.localSet, start, op.br, 0, op.end, op.end);
  };
  if (vectorIndex !== undefined) {
    const vectorEnd = body.local(I32); // start + (end - start) rounded down to a multiple of 4
    body.get(start);
    body.get(end);
    body.get(start);
    body.emit(op.i32Sub, op.i32Const, ...signed(-4), op.i32And, op.i32Add, op.localSet, ...unsigned(vectorEnd));
    loop(vectorEnd, 4, () => [0xfd, 0x00, ...memarg], [0xfd, 0x0b, ...memarg], vectorIndex);
  }
  loop(
    end,
    1,
    (type) => [type === 'f32' ? op.f32Load : op.i32Load, ...memarg],
    [kernel.returns === 'f32' ? op.f32Store : op.i32Store, ...memarg],
    kernelIndex,
  );
  return body.encode();
}

/** The module's bytes, and the Math functions it imports (in import order). */
export function mapModule(kernel: TypedKernel): { bytes: Uint8Array; imports: MathFunction[]; vector: boolean } {
  const imports = importedFunctions(kernel);
  const vector4 = vectorizable(kernel);
  const types = [
    [0x60, ...vector(kernel.params.map((p) => [valueType(p.type)])), ...vector([[valueType(kernel.returns)]])],
    [0x60, ...vector(new Array(kernel.params.length + 3).fill([I32])), ...vector([])],
    [0x60, ...vector([[F64]]), ...vector([[F64]])],
    [0x60, ...vector([[F64], [F64]]), ...vector([[F64]])],
    [0x60, ...vector(kernel.params.map(() => [V128])), ...vector([[V128]])],
  ];
  const importEntries = [
    // A shared memory of any size up to 4 GiB: one module serves every call's memory.
    [...name('env'), ...name('memory'), 0x02, 0x03, 0, ...unsigned(65_536)],
    ...imports.map((fn) => [...name('m'), ...name(fn), 0x00, MATH_FUNCTIONS[fn].arity === 2 ? 3 : 2]),
  ];
  const kernelIndex = imports.length;
  const vectorIndex = vector4 ? kernelIndex + 1 : undefined;
  const runIndex = kernelIndex + (vector4 ? 2 : 1);
  const functions = vector4 ? [[0], [4], [1]] : [[0], [1]];
  const bodies = [kernelBody(kernel, imports)];
  if (vector4) bodies.push(vectorKernelBody(kernel));
  bodies.push(runBody(kernel, kernelIndex, vectorIndex));
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    ...section(2, vector(importEntries)),
    ...section(3, vector(functions)),
    ...section(7, vector([[...name('run'), 0x00, ...unsigned(runIndex)]])),
    ...section(10, vector(bodies)),
  ];
  return { bytes: new Uint8Array(bytes), imports, vector: vector4 };
}
