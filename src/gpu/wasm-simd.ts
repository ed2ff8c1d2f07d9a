/**
 * The kernel on four elements at once, with WebAssembly's 128-bit SIMD: each f32x4 / i32x4
 * operation is the scalar operation on each lane, rounded and wrapped the same way, so the bits
 * are those of the scalar kernel. Conditions are lane masks (all ones or all zeros), and `?:`
 * picks lanes with bitselect.
 *
 * Only straight-line kernels qualify (declarations, assignments, one final return): a branch or
 * a loop may go different ways in different lanes. So do only operations with a SIMD form:
 * no integer `%` (WebAssembly has no vector remainder) and no function imported from JavaScript.
 */
import { type Expr, MATH_FUNCTIONS, type Scalar, type Stmt, type TypedKernel } from './ir.js';
import { FunctionBody, op, signed, unsigned, V128 } from './wasm.js';

const simd = (code: number) => [0xfd, ...unsigned(code)];

const F32X4 = { add: 228, sub: 229, mul: 230, div: 231, min: 232, max: 233, abs: 224, neg: 225, sqrt: 227 };
const F32X4_ROUNDING = { ceil: 103, floor: 104, trunc: 105 };
const I32X4 = { add: 174, sub: 177, mul: 181, abs: 160, neg: 161 };
const I32X4_MIN_MAX = { i32: { min: 182, max: 184 }, u32: { min: 183, max: 185 } };
const F32X4_COMPARE: Record<string, number> = { '==': 65, '!=': 66, '<': 67, '>': 68, '<=': 69, '>=': 70 };
const I32X4_COMPARE: Record<'i32' | 'u32', Record<string, number>> = {
  i32: { '==': 55, '!=': 56, '<': 57, '>': 59, '<=': 61, '>=': 63 },
  u32: { '==': 55, '!=': 56, '<': 58, '>': 60, '<=': 62, '>=': 64 },
};
const SPLAT = { i32: 17, f32: 19 };
const V128_NOT = 77;
const V128_AND = 78;
const V128_OR = 80;
const BITSELECT = 82;
const CONVERT = { i32: 250, u32: 251 };

function exprVectorizable(e: Expr): boolean {
  switch (e.kind) {
    case 'const':
    case 'var':
      return true;
    case 'toFloat':
    case 'negate':
    case 'not':
      return exprVectorizable(e.value);
    case 'arithmetic':
      return (e.type === 'f32' || e.op !== '%') && exprVectorizable(e.left) && exprVectorizable(e.right);
    case 'compare':
    case 'logical':
      return exprVectorizable(e.left) && exprVectorizable(e.right);
    case 'select':
      return exprVectorizable(e.condition) && exprVectorizable(e.whenTrue) && exprVectorizable(e.whenFalse);
    case 'call':
      return MATH_FUNCTIONS[e.fn].exact && e.args.every(exprVectorizable);
  }
}

function straightLine(body: readonly Stmt[]): boolean {
  return body.every((s, i) => {
    if (s.kind === 'declare' || s.kind === 'assign') return exprVectorizable(s.value);
    if (s.kind === 'block') return straightLine(s.body) && !s.body.some((inner) => inner.kind === 'return');
    return s.kind === 'return' && i === body.length - 1 && exprVectorizable(s.value);
  });
}

/** Whether the kernel has a four-lane form. */
export function vectorizable(kernel: TypedKernel): boolean {
  return straightLine(kernel.body);
}

class VectorBody extends FunctionBody {
  override temp(): number {
    return this.local(V128);
  }

  splat(type: Scalar, value: number): void {
    if (type === 'f32') this.f32Const(value);
    else this.emit(op.i32Const, ...signed(value));
    this.emit(...simd(type === 'f32' ? SPLAT.f32 : SPLAT.i32));
  }

  select(whenTrue: () => void, whenFalse: () => void, mask: () => void): void {
    whenTrue();
    whenFalse();
    mask();
    this.emit(...simd(BITSELECT));
  }

  override expr(e: Expr): void {
    switch (e.kind) {
      case 'const':
        // A true condition is a lane of all ones.
        this.splat(e.type === 'bool' ? 'i32' : e.type, typeof e.value === 'boolean' ? -Number(e.value) : e.value);
        return;
      case 'var':
        this.emit(op.localGet, ...unsigned(this.lookup(e.name)));
        return;
      case 'toFloat':
        this.expr(e.value);
        this.emit(...simd(CONVERT[e.value.type as 'i32' | 'u32']));
        return;
      case 'negate':
        this.expr(e.value);
        this.emit(...simd(e.type === 'f32' ? F32X4.neg : I32X4.neg));
        return;
      case 'not':
        this.expr(e.value);
        this.emit(...simd(V128_NOT));
        return;
      case 'arithmetic': {
        if (e.op === '%') {
          // f32 only (see vectorizable): a - b * trunc(a / b), as in WGSL.
          const [a, b] = [this.stash(e.left), this.stash(e.right)];
          this.get(a);
          this.get(a);
          this.get(b);
          this.emit(...simd(F32X4.div), ...simd(F32X4_ROUNDING.trunc));
          this.get(b);
          this.emit(...simd(F32X4.mul), ...simd(F32X4.sub));
          return;
        }
        this.expr(e.left);
        this.expr(e.right);
        const name = ({ '+': 'add', '-': 'sub', '*': 'mul', '/': 'div' } as const)[e.op];
        this.emit(...simd(e.type === 'f32' ? F32X4[name] : I32X4[name as 'add' | 'sub' | 'mul']));
        return;
      }
      case 'compare': {
        this.expr(e.left);
        this.expr(e.right);
        const type = e.left.type;
        this.emit(
          ...simd(
            type === 'f32'
              ? (F32X4_COMPARE[e.op] as number)
              : (I32X4_COMPARE[type === 'u32' ? 'u32' : 'i32'][e.op] as number),
          ),
        );
        return;
      }
      case 'logical':
        this.expr(e.left);
        this.expr(e.right);
        this.emit(...simd(e.op === '&&' ? V128_AND : V128_OR));
        return;
      case 'select':
        this.select(
          () => this.expr(e.whenTrue),
          () => this.expr(e.whenFalse),
          () => this.expr(e.condition),
        );
        return;
      case 'call':
        this.vectorCall(e);
        return;
    }
  }

  vectorCall(e: Extract<Expr, { kind: 'call' }>): void {
    const [first, second] = e.args as [Expr, Expr | undefined];
    if (e.type !== 'f32') {
      for (const arg of e.args) this.expr(arg);
      if (e.fn === 'abs') this.emit(...simd(I32X4.abs));
      else this.emit(...simd(I32X4_MIN_MAX[e.type as 'i32' | 'u32'][e.fn as 'min' | 'max']));
      return;
    }
    switch (e.fn) {
      case 'abs':
      case 'sqrt':
        this.expr(first);
        this.emit(...simd(F32X4[e.fn]));
        return;
      case 'floor':
      case 'ceil':
      case 'trunc':
        this.expr(first);
        this.emit(...simd(F32X4_ROUNDING[e.fn]));
        return;
      case 'min':
      case 'max':
        // f32x4.min/max treat -0, +0 and NaN as f32.min/max do, as Math.min/max do.
        this.expr(first);
        this.expr(second as Expr);
        this.emit(...simd(F32X4[e.fn]));
        return;
      case 'sign': {
        const v = this.stash(first);
        const compareZero = (cmp: string) => () => {
          this.get(v);
          this.splat('f32', 0);
          this.emit(...simd(F32X4_COMPARE[cmp] as number));
        };
        const inner = () =>
          this.select(
            () => this.splat('f32', -1),
            () => this.get(v),
            compareZero('<'),
          );
        this.select(() => this.splat('f32', 1), inner, compareZero('>'));
        return;
      }
      case 'round': {
        // As skein_round: floor, plus one from a half up, and -0 for (-0.5, 0).
        const v = this.stash(first);
        const f = this.temp();
        const r = this.temp();
        this.get(v);
        this.emit(...simd(F32X4_ROUNDING.floor), op.localSet, ...unsigned(f));
        this.select(
          () => {
            this.get(f);
            this.splat('f32', 1);
            this.emit(...simd(F32X4.add));
          },
          () => this.get(f),
          () => {
            this.get(v);
            this.get(f);
            this.emit(...simd(F32X4.sub));
            this.splat('f32', 0.5);
            this.emit(...simd(F32X4_COMPARE['>='] as number));
          },
        );
        this.emit(op.localSet, ...unsigned(r));
        this.select(
          () => this.splat('f32', -0),
          () => this.get(r),
          () => {
            this.get(r);
            this.splat('f32', 0);
            this.emit(...simd(F32X4_COMPARE['=='] as number));
            this.get(v);
            this.splat('f32', 0);
            this.emit(...simd(F32X4_COMPARE['<'] as number), ...simd(V128_AND));
          },
        );
        return;
      }
      default:
        throw new Error(`skein/gpu wasm: Math.${e.fn} has no vector form`);
    }
  }

  override statement(s: Stmt): void {
    if (s.kind === 'declare') {
      const index = this.local(V128);
      this.expr(s.value);
      this.emit(op.localSet, ...unsigned(index));
      this.bind(s.name, index);
      return;
    }
    super.statement(s);
  }
}

/** The four-lane kernel: v128 parameters and result. */
export function vectorKernelBody(kernel: TypedKernel): number[] {
  const body = new VectorBody(kernel.params.length, []);
  for (const [i, p] of kernel.params.entries()) body.bind(p.name, i);
  body.statements(kernel.body);
  body.emit(op.unreachable);
  return body.encode();
}
