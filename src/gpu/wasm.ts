/**
 * The CPU path's elementwise program: a typed kernel as a WebAssembly module. WebAssembly has
 * real f32 arithmetic (IEEE 754 single precision, correctly rounded, subnormals kept) and i32
 * arithmetic that wraps, so each operation gives the bits WGSL specifies without the
 * `Math.fround` after every step that JavaScript needs (measured 4.6x slower than a plain loop
 * for a 20-flop kernel, too slow for two workers to beat one plain thread). Functions WebAssembly
 * lacks (sin, exp, pow...) are JavaScript's, called with the f32 widened and the result rounded
 * back to f32 (as `Math.fround(Math.sin(x))`).
 *
 *   module: imports env.memory (shared, any size) and m.<fn> for the Math functions used
 *           kernel(p0, p1, ...) -> result          the user's function
 *           run(start, end, base0, ..., out)       out[i] = kernel(in0[i], ...), addresses in bytes
 */
import { type Expr, MATH_FUNCTIONS, type MathFunction, type Scalar, type Stmt, type TypedKernel } from './ir.js';

/** The part of the WebAssembly API skein uses (the DOM library, which types it, is not in use here). */
export interface WasmModule {
  readonly wasmModule: never;
}
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => WasmMemory;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
}
export const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export const VOID = 0x40;

export const op = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  call: 0x10,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  i32Load: 0x28,
  f32Load: 0x2a,
  i32Store: 0x36,
  f32Store: 0x38,
  i32Const: 0x41,
  f32Const: 0x43,
  i32Eqz: 0x45,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32RemS: 0x6f,
  i32RemU: 0x70,
  i32And: 0x71,
  i32Or: 0x72,
  i32Shl: 0x74,
  f32Abs: 0x8b,
  f32Neg: 0x8c,
  f32Ceil: 0x8d,
  f32Floor: 0x8e,
  f32Trunc: 0x8f,
  f32Sqrt: 0x91,
  f32Add: 0x92,
  f32Sub: 0x93,
  f32Mul: 0x94,
  f32Div: 0x95,
  f32Min: 0x96,
  f32Max: 0x97,
  f32ConvertI32S: 0xb2,
  f32ConvertI32U: 0xb3,
  f32DemoteF64: 0xb6,
  f64PromoteF32: 0xbb,
} as const;

/** Comparison opcodes by type: eq, ne, lt, gt, le, ge. */
export const COMPARE: Record<'f32' | 'i32' | 'u32', Record<string, number>> = {
  f32: { '==': 0x5b, '!=': 0x5c, '<': 0x5d, '>': 0x5e, '<=': 0x5f, '>=': 0x60 },
  i32: { '==': 0x46, '!=': 0x47, '<': 0x48, '>': 0x4a, '<=': 0x4c, '>=': 0x4e },
  u32: { '==': 0x46, '!=': 0x47, '<': 0x49, '>': 0x4b, '<=': 0x4d, '>=': 0x4f },
};

export function unsigned(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function signed(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

export const name = (text: string) => [...unsigned(text.length), ...new TextEncoder().encode(text)];
export const vector = (items: number[][]) => [...unsigned(items.length), ...items.flat()];
export const section = (id: number, body: number[]) => [id, ...unsigned(body.length), ...body];
export const valueType = (type: Scalar) => (type === 'f32' ? F32 : I32);

/** The transcendental functions the kernel calls: imported from JavaScript's Math. */
export function importedFunctions(kernel: TypedKernel): MathFunction[] {
  const used = new Set<MathFunction>();
  const visitExpr = (e: Expr): void => {
    if (e.kind === 'call' && !MATH_FUNCTIONS[e.fn].exact) used.add(e.fn);
    for (const child of Object.values(e)) {
      if (child && typeof child === 'object' && 'kind' in (child as object)) visitExpr(child as Expr);
    }
    if (e.kind === 'call') e.args.forEach(visitExpr);
  };
  const visit = (s: Stmt): void => {
    for (const value of Object.values(s)) {
      if (Array.isArray(value)) (value as Stmt[]).forEach(visit);
      else if (value && typeof value === 'object' && 'kind' in (value as object)) visitExpr(value as Expr);
    }
  };
  kernel.body.forEach(visit);
  return [...used].sort();
}

/** Emits one function body: locals are numbered as declared, labels tracked for break/continue. */
export class FunctionBody {
  readonly code: number[] = [];
  readonly locals: number[] = [];
  readonly #scopes: Map<string, number>[] = [new Map()];
  /** The enclosing blocks, innermost last: what `br n` would reach. */
  readonly #labels: ('break' | 'continue' | 'other')[] = [];

  constructor(
    private readonly paramCount: number,
    private readonly imports: readonly MathFunction[],
  ) {}

  local(type: number): number {
    this.locals.push(type);
    return this.paramCount + this.locals.length - 1;
  }

  bind(name: string, index: number): void {
    (this.#scopes.at(-1) as Map<string, number>).set(name, index);
  }

  lookup(name: string): number {
    for (let i = this.#scopes.length - 1; i >= 0; i--) {
      const index = this.#scopes[i]?.get(name);
      if (index !== undefined) return index;
    }
    throw new Error(`skein/gpu wasm: no local for ${name}`);
  }

  emit(...bytes: number[]): void {
    this.code.push(...bytes);
  }

  temp(type: Scalar): number {
    return this.local(valueType(type));
  }

  f32Const(value: number): void {
    this.emit(op.f32Const, ...new Uint8Array(new Float32Array([value]).buffer));
  }

  expr(e: Expr): void {
    switch (e.kind) {
      case 'const':
        if (e.type === 'f32') this.f32Const(e.value as number);
        else
          this.emit(op.i32Const, ...signed(typeof e.value === 'boolean' ? Number(e.value) : (e.value as number) | 0));
        return;
      case 'var':
        this.emit(op.localGet, ...unsigned(this.lookup(e.name)));
        return;
      case 'toFloat':
        this.expr(e.value);
        this.emit(e.value.type === 'u32' ? op.f32ConvertI32U : op.f32ConvertI32S);
        return;
      case 'negate':
        if (e.type === 'f32') {
          this.expr(e.value);
          this.emit(op.f32Neg);
        } else {
          this.emit(op.i32Const, 0);
          this.expr(e.value);
          this.emit(op.i32Sub);
        }
        return;
      case 'not':
        this.expr(e.value);
        this.emit(op.i32Eqz);
        return;
      case 'arithmetic':
        this.arithmetic(e);
        return;
      case 'compare':
        this.expr(e.left);
        this.expr(e.right);
        this.emit(COMPARE[e.left.type === 'bool' ? 'i32' : e.left.type][e.op] as number);
        return;
      case 'logical':
        // Both sides are side-effect free, so evaluating both is the same as short-circuiting.
        this.expr(e.left);
        this.expr(e.right);
        this.emit(e.op === '&&' ? op.i32And : op.i32Or);
        return;
      case 'select':
        this.expr(e.whenTrue);
        this.expr(e.whenFalse);
        this.expr(e.condition);
        this.emit(op.select);
        return;
      case 'call':
        this.call(e);
        return;
    }
  }

  /** Evaluates `e` into a new local and returns it, for values used more than once. */
  stash(e: Expr): number {
    const index = this.temp(e.type);
    this.expr(e);
    this.emit(op.localSet, ...unsigned(index));
    return index;
  }

  get(index: number): void {
    this.emit(op.localGet, ...unsigned(index));
  }

  arithmetic(e: Extract<Expr, { kind: 'arithmetic' }>): void {
    if (e.type === 'f32' && e.op === '%') {
      // WGSL's f32 remainder, a - b * trunc(a / b), each step rounded to f32.
      const [a, b] = [this.stash(e.left), this.stash(e.right)];
      this.get(a);
      this.get(a);
      this.get(b);
      this.emit(op.f32Div, op.f32Trunc);
      this.get(b);
      this.emit(op.f32Mul, op.f32Sub);
      return;
    }
    if (e.type !== 'f32' && e.op === '%') {
      // x % 0 is 0 in WGSL (and `(x % 0) | 0` in JavaScript); WebAssembly would trap: divide by 1 instead.
      const [a, b] = [this.stash(e.left), this.stash(e.right)];
      this.get(a);
      this.emit(op.i32Const, 1);
      this.get(b);
      this.get(b);
      this.emit(op.i32Eqz, op.select, e.type === 'u32' ? op.i32RemU : op.i32RemS);
      return;
    }
    this.expr(e.left);
    this.expr(e.right);
    const ops = e.type === 'f32' ? [op.f32Add, op.f32Sub, op.f32Mul, op.f32Div] : [op.i32Add, op.i32Sub, op.i32Mul];
    this.emit(ops['+-*/'.indexOf(e.op)] as number);
  }

  call(e: Extract<Expr, { kind: 'call' }>): void {
    const [first, second] = e.args as [Expr, Expr | undefined];
    if (e.type !== 'f32') {
      // Integers: abs, min and max (the rest were lowered away).
      const compare = COMPARE[e.type as 'i32' | 'u32'];
      if (e.fn === 'abs') {
        const v = this.stash(first);
        this.emit(op.i32Const, 0);
        this.get(v);
        this.emit(op.i32Sub);
        this.get(v);
        this.get(v);
        this.emit(op.i32Const, 0, compare['<'] as number, op.select);
        return;
      }
      const [a, b] = [this.stash(first), this.stash(second as Expr)];
      this.get(a);
      this.get(b);
      this.get(a);
      this.get(b);
      this.emit(compare[e.fn === 'min' ? '<' : '>'] as number, op.select);
      return;
    }
    const unary: Partial<Record<MathFunction, number>> = {
      abs: op.f32Abs,
      floor: op.f32Floor,
      ceil: op.f32Ceil,
      trunc: op.f32Trunc,
      sqrt: op.f32Sqrt,
    };
    const direct = unary[e.fn];
    if (direct !== undefined) {
      this.expr(first);
      this.emit(direct);
    } else if (e.fn === 'min' || e.fn === 'max') {
      // f32.min/max order -0 below +0 and propagate NaN, as Math.min/max do.
      this.expr(first);
      this.expr(second as Expr);
      this.emit(e.fn === 'min' ? op.f32Min : op.f32Max);
    } else if (e.fn === 'sign') {
      const v = this.stash(first); // v > 0 ? 1 : v < 0 ? -1 : v (which keeps -0, 0 and NaN)
      this.f32Const(1);
      this.f32Const(-1);
      this.get(v);
      this.get(v);
      this.f32Const(0);
      this.emit(COMPARE.f32['<'] as number, op.select);
      this.get(v);
      this.f32Const(0);
      this.emit(COMPARE.f32['>'] as number, op.select);
    } else if (e.fn === 'round') {
      this.round(first);
    } else {
      for (const arg of e.args) {
        this.expr(arg);
        this.emit(op.f64PromoteF32);
      }
      this.emit(op.call, ...unsigned(this.imports.indexOf(e.fn)), op.f32DemoteF64);
    }
  }

  /** Math.round: floor, plus one from a half up; (-0.5, 0) gives -0. As skein_round in WGSL. */
  round(value: Expr): void {
    const v = this.stash(value);
    const f = this.temp('f32');
    const r = this.temp('f32');
    this.get(v);
    this.emit(op.f32Floor, op.localSet, ...unsigned(f));
    this.get(f);
    this.f32Const(1);
    this.emit(op.f32Add);
    this.get(f);
    this.get(v);
    this.get(f);
    this.emit(op.f32Sub);
    this.f32Const(0.5);
    this.emit(COMPARE.f32['>='] as number, op.select, op.localSet, ...unsigned(r));
    this.f32Const(-0);
    this.get(r);
    this.get(r);
    this.f32Const(0);
    this.emit(COMPARE.f32['=='] as number);
    this.get(v);
    this.f32Const(0);
    this.emit(COMPARE.f32['<'] as number, op.i32And, op.select);
  }

  statements(body: readonly Stmt[]): void {
    this.#scopes.push(new Map());
    for (const s of body) this.statement(s);
    this.#scopes.pop();
  }

  open(kind: number, label: 'break' | 'continue' | 'other'): void {
    this.emit(kind, VOID);
    this.#labels.push(label);
  }

  close(): void {
    this.emit(op.end);
    this.#labels.pop();
  }

  depthOf(label: 'break' | 'continue'): number {
    return this.#labels.length - 1 - this.#labels.lastIndexOf(label);
  }

  statement(s: Stmt): void {
    switch (s.kind) {
      case 'declare': {
        const index = this.local(valueType(s.type));
        this.expr(s.value);
        this.emit(op.localSet, ...unsigned(index));
        this.bind(s.name, index);
        return;
      }
      case 'assign':
        this.expr(s.value);
        this.emit(op.localSet, ...unsigned(this.lookup(s.name)));
        return;
      case 'block':
        this.statements(s.body);
        return;
      case 'if':
        this.expr(s.condition);
        this.open(op.if, 'other');
        this.statements(s.whenTrue);
        if (s.otherwise.length > 0) {
          this.emit(op.else);
          this.statements(s.otherwise);
        }
        this.close();
        return;
      case 'for':
        this.#scopes.push(new Map());
        for (const init of s.init) this.statement(init);
        this.open(op.block, 'break');
        this.open(op.loop, 'other');
        this.expr(s.condition);
        this.emit(op.i32Eqz, op.brIf, ...unsigned(this.depthOf('break')));
        this.open(op.block, 'continue');
        this.statements(s.body);
        this.close();
        for (const update of s.update) this.statement(update);
        this.emit(op.br, 0);
        this.close();
        this.close();
        this.#scopes.pop();
        return;
      case 'break':
        this.emit(op.br, ...unsigned(this.depthOf('break')));
        return;
      case 'continue':
        this.emit(op.br, ...unsigned(this.depthOf('continue')));
        return;
      case 'return':
        this.expr(s.value);
        this.emit(op.return);
        return;
    }
  }

  /** The function's code entry: locals then instructions. */
  encode(): number[] {
    const locals = vector(this.locals.map((type) => [1, type]));
    const body = [...locals, ...this.code, op.end];
    return [...unsigned(body.length), ...body];
  }
}

export function kernelBody(kernel: TypedKernel, imports: readonly MathFunction[]): number[] {
  const body = new FunctionBody(kernel.params.length, imports);
  for (const [i, p] of kernel.params.entries()) body.bind(p.name, i);
  body.statements(kernel.body);
  body.emit(op.unreachable); // every path returned (checked by lowering); this satisfies the validator
  return body.encode();
}
