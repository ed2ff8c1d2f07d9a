/**
 * The typed form of a kernel, between the JavaScript it was written in and the two programs made
 * from it (WGSL for the device, JavaScript for the CPU path). Both emitters read this one tree, so
 * the two paths cannot disagree about types, conversions or evaluation order.
 */

/** The element types a kernel computes with: WGSL's 32-bit scalars, and bool for conditions. */
export type Scalar = 'f32' | 'i32' | 'u32' | 'bool';

/** A numeric element type: the type of an input or output array. */
export type ElementType = Exclude<Scalar, 'bool'>;

/** The JavaScript operators a kernel may use on numbers, after `**` became a call of `pow`. */
export type ArithmeticOperator = '+' | '-' | '*' | '/' | '%';
export type ComparisonOperator = '<' | '<=' | '>' | '>=' | '==' | '!=';
export type LogicalOperator = '&&' | '||';

export type Expr =
  | { readonly kind: 'const'; readonly type: Scalar; readonly value: number | boolean }
  | { readonly kind: 'var'; readonly type: Scalar; readonly name: string }
  /** An integer made a float: JavaScript numbers mix freely, WGSL needs it spelled out. */
  | { readonly kind: 'toFloat'; readonly type: 'f32'; readonly value: Expr }
  | { readonly kind: 'negate'; readonly type: Scalar; readonly value: Expr }
  | { readonly kind: 'not'; readonly type: 'bool'; readonly value: Expr }
  | {
      readonly kind: 'arithmetic';
      readonly type: ElementType;
      readonly op: ArithmeticOperator;
      readonly left: Expr;
      readonly right: Expr;
    }
  | {
      readonly kind: 'compare';
      readonly type: 'bool';
      readonly op: ComparisonOperator;
      readonly left: Expr;
      readonly right: Expr;
    }
  | {
      readonly kind: 'logical';
      readonly type: 'bool';
      readonly op: LogicalOperator;
      readonly left: Expr;
      readonly right: Expr;
    }
  | {
      readonly kind: 'select';
      readonly type: Scalar;
      readonly condition: Expr;
      readonly whenTrue: Expr;
      readonly whenFalse: Expr;
    }
  | { readonly kind: 'call'; readonly type: ElementType; readonly fn: MathFunction; readonly args: readonly Expr[] };

export type Stmt =
  | {
      readonly kind: 'declare';
      readonly name: string;
      readonly type: Scalar;
      readonly mutable: boolean;
      readonly value: Expr;
    }
  | { readonly kind: 'assign'; readonly name: string; readonly value: Expr }
  | {
      readonly kind: 'if';
      readonly condition: Expr;
      readonly whenTrue: readonly Stmt[];
      readonly otherwise: readonly Stmt[];
    }
  | {
      readonly kind: 'for';
      readonly init: readonly Stmt[];
      readonly condition: Expr;
      readonly update: readonly Stmt[];
      readonly body: readonly Stmt[];
    }
  | { readonly kind: 'block'; readonly body: readonly Stmt[] }
  | { readonly kind: 'break' }
  | { readonly kind: 'continue' }
  | { readonly kind: 'return'; readonly value: Expr };

/** One kernel compiled for one combination of input types. */
export interface TypedKernel {
  readonly params: readonly { readonly name: string; readonly type: ElementType }[];
  readonly body: readonly Stmt[];
  readonly returns: ElementType;
}

/**
 * The `Math` functions with a WGSL counterpart. `exact` ones give the same bits on every path
 * (IEEE 754 requires correct rounding of them, and WGSL adopts it); the others are computed by
 * each device's own approximation: docs/gpu.md lists by how many ulp they were measured to differ.
 */
export const MATH_FUNCTIONS = {
  abs: { arity: 1, exact: true },
  min: { arity: 2, exact: true },
  max: { arity: 2, exact: true },
  floor: { arity: 1, exact: true },
  ceil: { arity: 1, exact: true },
  trunc: { arity: 1, exact: true },
  round: { arity: 1, exact: true },
  sign: { arity: 1, exact: true },
  fround: { arity: 1, exact: true },
  sqrt: { arity: 1, exact: true },
  exp: { arity: 1, exact: false },
  log: { arity: 1, exact: false },
  log2: { arity: 1, exact: false },
  pow: { arity: 2, exact: false },
  sin: { arity: 1, exact: false },
  cos: { arity: 1, exact: false },
  tan: { arity: 1, exact: false },
  asin: { arity: 1, exact: false },
  acos: { arity: 1, exact: false },
  atan: { arity: 1, exact: false },
  atan2: { arity: 2, exact: false },
  sinh: { arity: 1, exact: false },
  cosh: { arity: 1, exact: false },
  tanh: { arity: 1, exact: false },
  asinh: { arity: 1, exact: false },
  acosh: { arity: 1, exact: false },
  atanh: { arity: 1, exact: false },
} as const;

export type MathFunction = keyof typeof MATH_FUNCTIONS;

/** `Math` constants, rounded to f32 where they are used. */
export const MATH_CONSTANTS: Readonly<Record<string, number>> = {
  PI: Math.PI,
  E: Math.E,
  LN2: Math.LN2,
  LN10: Math.LN10,
  LOG2E: Math.LOG2E,
  LOG10E: Math.LOG10E,
  SQRT2: Math.SQRT2,
  SQRT1_2: Math.SQRT1_2,
};

/** Which WGSL type a typed array holds; `undefined` for one WGSL cannot hold. */
export function elementTypeOf(array: ArrayBufferView): ElementType | undefined {
  if (array instanceof Float32Array) return 'f32';
  if (array instanceof Int32Array) return 'i32';
  if (array instanceof Uint32Array) return 'u32';
  return undefined;
}

/** The typed arrays a kernel takes and returns: WGSL's 32-bit types `f32`, `i32` and `u32`. */
export type KernelArray = Float32Array | Int32Array | Uint32Array;

/** A typed array of `type` over `buffer` (an ArrayBuffer or a SharedArrayBuffer). */
export function typedArrayOf(type: ElementType, buffer: ArrayBufferLike, length: number, byteOffset = 0): KernelArray {
  if (type === 'f32') return new Float32Array(buffer, byteOffset, length);
  if (type === 'i32') return new Int32Array(buffer, byteOffset, length);
  return new Uint32Array(buffer, byteOffset, length);
}

/** The element type of a typed array skein accepts. */
export function typeOfArray(array: KernelArray): ElementType {
  return array instanceof Float32Array ? 'f32' : array instanceof Int32Array ? 'i32' : 'u32';
}
