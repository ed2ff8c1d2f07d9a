/**
 * From acorn's tree of a kernel's JavaScript to the typed tree in ir.ts, for one combination of
 * input types. Everything outside the supported subset is refused here, naming the construct and
 * where it is.
 *
 * Types follow JavaScript's meaning as closely as 32-bit types allow: an integer that meets a
 * float becomes a float; `/` always divides as floats (JavaScript has no integer division); a
 * `let` that starts as an integer and is later given a float is a float from the start (found by
 * lowering again with it promoted, until nothing changes).
 */
import type { Node } from 'acorn';
import { KernelCompileError } from './errors.js';
import {
  type ArithmeticOperator,
  type ComparisonOperator,
  type ElementType,
  type Expr,
  MATH_CONSTANTS,
  MATH_FUNCTIONS,
  type MathFunction,
  type Scalar,
  type Stmt,
  type TypedKernel,
} from './ir.js';
import { alwaysReturns, CONSTRUCT_NAMES, integerSign } from './lower-rules.js';

type AnyNode = Node & Record<string, unknown>;

/** Where the function's source text is, to turn acorn's offsets into line and column. */
export interface SourceText {
  readonly text: string;
  /** What acorn saw before the function's first character (the parser wraps it). */
  readonly offset: number;
}

interface Binding {
  readonly name: string;
  readonly type: Scalar;
  readonly mutable: boolean;
  /** A `let` of integer type, which an assignment of a float may promote (by its node's start). */
  readonly promotableAt: number | undefined;
}

class Scope {
  readonly #names = new Map<string, Binding>();
  constructor(readonly parent?: Scope) {}
  find(name: string): Binding | undefined {
    return this.#names.get(name) ?? this.parent?.find(name);
  }
  add(binding: Binding): void {
    this.#names.set(binding.name, binding);
  }
}

const ARITHMETIC = new Set(['+', '-', '*', '/', '%']);
const COMPARISON: Record<string, ComparisonOperator> = {
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
  '==': '==',
  '===': '==',
  '!=': '!=',
  '!==': '!=',
};

export class KernelLowering {
  /** Set when a promotion was found: the caller lowers again with it. */
  changed = false;
  #returns: ElementType | undefined;
  #loopDepth = 0;

  constructor(
    private readonly source: SourceText,
    private readonly promoted: Set<number>,
    returns: ElementType | undefined,
  ) {
    this.#returns = returns;
  }

  get returns(): ElementType | undefined {
    return this.#returns;
  }

  fail(node: AnyNode, what: string): never {
    const at = Math.max(0, (node.start as number) - this.source.offset);
    const before = this.source.text.slice(0, at).split('\n');
    const line = before.length;
    const column = (before.at(-1)?.length ?? 0) + 1;
    const snippet = this.source.text.slice(at, Math.max(at, (node.end as number) - this.source.offset)).split('\n')[0];
    throw new KernelCompileError(`kernel: ${what}, at line ${line}, column ${column} (\`${snippet}\`)`);
  }

  refuse(node: AnyNode): never {
    const name = CONSTRUCT_NAMES[node.type] ?? `\`${node.type}\``;
    return this.fail(node, `${name} is not supported in a kernel`);
  }

  kernel(fn: AnyNode, paramTypes: readonly ElementType[]): TypedKernel {
    if (fn.async || fn.generator) this.fail(fn, 'a kernel cannot be async or a generator');
    const scope = new Scope();
    const params = (fn.params as AnyNode[]).map((param, i) => {
      if (param.type !== 'Identifier')
        this.fail(param, 'a kernel parameter must be a plain name (no default, rest or destructuring)');
      const type = paramTypes[i] as ElementType;
      scope.add({ name: param.name as string, type, mutable: true, promotableAt: undefined });
      return { name: param.name as string, type };
    });
    const bodyNode = fn.body as AnyNode;
    let body: Stmt[];
    if (bodyNode.type === 'BlockStatement') {
      body = this.statements(bodyNode.body as AnyNode[], scope);
      if (!alwaysReturns(body)) this.fail(bodyNode, 'a kernel must end with a `return` of its result on every path');
    } else {
      body = [this.returnOf(bodyNode, this.expr(bodyNode, scope))];
    }
    if (!this.#returns) this.fail(bodyNode, 'a kernel must return a number');
    return { params, body, returns: this.#returns };
  }

  // ---- statements

  statements(nodes: readonly AnyNode[], scope: Scope): Stmt[] {
    const out: Stmt[] = [];
    for (const node of nodes) out.push(...this.statement(node, scope));
    return out;
  }

  /** A statement as a list of its own (a block where JavaScript allows a single statement). */
  branch(node: AnyNode | null | undefined, scope: Scope): Stmt[] {
    if (!node) return [];
    const inner = new Scope(scope);
    return node.type === 'BlockStatement'
      ? this.statements(node.body as AnyNode[], inner)
      : this.statement(node, inner);
  }

  statement(node: AnyNode, scope: Scope): Stmt[] {
    switch (node.type) {
      case 'EmptyStatement':
        return [];
      case 'BlockStatement':
        return [{ kind: 'block', body: this.statements(node.body as AnyNode[], new Scope(scope)) }];
      case 'VariableDeclaration':
        return this.declaration(node, scope);
      case 'ExpressionStatement':
        return [this.assignment(node.expression as AnyNode, scope)];
      case 'IfStatement':
        return [
          {
            kind: 'if',
            condition: this.condition(node.test as AnyNode, scope),
            whenTrue: this.branch(node.consequent as AnyNode, scope),
            otherwise: this.branch(node.alternate as AnyNode | null, scope),
          },
        ];
      case 'ForStatement':
        return [this.forLoop(node, scope)];
      case 'BreakStatement':
      case 'ContinueStatement':
        if (node.label) this.fail(node, 'a labelled break or continue is not supported in a kernel');
        if (this.#loopDepth === 0)
          this.fail(node, `\`${node.type === 'BreakStatement' ? 'break' : 'continue'}\` outside a loop`);
        return [{ kind: node.type === 'BreakStatement' ? 'break' : 'continue' }];
      case 'ReturnStatement':
        if (!node.argument) this.fail(node, 'a kernel must return a number (`return` with no value)');
        return [this.returnOf(node, this.expr(node.argument as AnyNode, scope))];
      default:
        return this.refuse(node);
    }
  }

  returnOf(node: AnyNode, value: Expr): Stmt {
    if (value.type === 'bool') this.fail(node, 'a kernel returns a number, not a condition (write `c ? 1 : 0`)');
    const returns = this.#returns;
    if (!returns) this.#returns = value.type;
    else if (returns !== value.type) {
      const unified = this.unify(node, returns, value.type);
      if (unified !== returns) {
        this.#returns = unified;
        this.changed = true;
      }
      return { kind: 'return', value: this.convert(value, unified) };
    }
    return { kind: 'return', value };
  }

  declaration(node: AnyNode, scope: Scope): Stmt[] {
    if (node.kind === 'var') this.fail(node, '`var` is not supported in a kernel (use `let` or `const`)');
    const mutable = node.kind === 'let';
    return (node.declarations as AnyNode[]).map((declarator) => {
      const id = declarator.id as AnyNode;
      if (id.type !== 'Identifier') this.fail(id, 'destructuring is not supported in a kernel');
      if (!declarator.init) this.fail(declarator, `\`${id.name as string}\` needs an initial value`);
      let value = this.expr(declarator.init as AnyNode, scope);
      const at = declarator.start as number;
      if (this.promoted.has(at)) value = this.convert(value, 'f32');
      const promotable = mutable && (value.type === 'i32' || value.type === 'u32') ? at : undefined;
      scope.add({ name: id.name as string, type: value.type, mutable, promotableAt: promotable });
      return { kind: 'declare', name: id.name as string, type: value.type, mutable, value } satisfies Stmt;
    });
  }

  /** `x = e`, `x op= e`, `x++`: the only expression statements a kernel has. */
  assignment(node: AnyNode, scope: Scope): Stmt {
    let target: AnyNode;
    let op: string;
    let rhs: AnyNode | undefined;
    if (node.type === 'AssignmentExpression') {
      target = node.left as AnyNode;
      op = (node.operator as string).slice(0, -1);
      rhs = node.right as AnyNode;
    } else if (node.type === 'UpdateExpression') {
      target = node.argument as AnyNode;
      op = node.operator === '++' ? '+' : '-';
    } else {
      return this.fail(node, 'an expression statement other than an assignment does nothing in a kernel');
    }
    if (target.type !== 'Identifier') this.fail(target, 'a kernel can assign only to its own variables');
    const binding = scope.find(target.name as string);
    if (!binding) return this.fail(target, `\`${target.name as string}\` is not a variable of the kernel`);
    if (!binding.mutable) this.fail(target, `\`${binding.name}\` is a const`);
    const current: Expr = { kind: 'var', type: binding.type, name: binding.name };
    let value: Expr;
    if (op === '') value = this.expr(rhs as AnyNode, scope, binding.type);
    else if (op === '**') value = this.mathCall(node, 'pow', [current, this.expr(rhs as AnyNode, scope, binding.type)]);
    else if (ARITHMETIC.has(op)) {
      const right = rhs ? this.expr(rhs, scope, binding.type) : this.literal(node, 1, binding.type, '1');
      value = this.arithmetic(node, op as ArithmeticOperator, current, right);
    } else return this.fail(node, `the operator \`${node.operator as string}\` is not supported in a kernel`);
    if (value.type !== binding.type) {
      if (value.type === 'f32' && binding.promotableAt !== undefined) {
        // JavaScript's `let s = 0; s += 0.5` makes s a float: lower again with s a float from the start.
        this.promoted.add(binding.promotableAt);
        this.changed = true;
      } else if (binding.type !== 'f32' || value.type === 'bool') {
        this.fail(node, `\`${binding.name}\` holds ${binding.type} and cannot be given ${value.type}`);
      }
      value = this.convert(value, binding.type === 'f32' ? 'f32' : value.type);
    }
    return { kind: 'assign', name: binding.name, value };
  }

  forLoop(node: AnyNode, outer: Scope): Stmt {
    const scope = new Scope(outer);
    const initNode = node.init as AnyNode | null;
    const init = !initNode
      ? []
      : initNode.type === 'VariableDeclaration'
        ? this.declaration(initNode, scope)
        : [this.assignment(initNode, scope)];
    if (!node.test) this.fail(node, 'a `for` loop in a kernel needs a condition (its bound)');
    const condition = this.condition(node.test as AnyNode, scope);
    const update = node.update ? [this.assignment(node.update as AnyNode, scope)] : [];
    this.#loopDepth++;
    try {
      return { kind: 'for', init, condition, update, body: this.branch(node.body as AnyNode, scope) };
    } finally {
      this.#loopDepth--;
    }
  }

  // ---- expressions

  condition(node: AnyNode, scope: Scope): Expr {
    const value = this.expr(node, scope);
    if (value.type !== 'bool') this.fail(node, 'a condition must be a comparison (e.g. `x > 0`), not a number');
    return value;
  }

  expr(node: AnyNode, scope: Scope, hint?: Scalar): Expr {
    switch (node.type) {
      case 'Literal':
        return this.literalNode(node, hint);
      case 'Identifier': {
        const binding = scope.find(node.name as string);
        if (!binding) {
          return this.fail(node, `\`${node.name as string}\` is not a parameter or a variable of the kernel`);
        }
        return { kind: 'var', type: binding.type, name: binding.name };
      }
      case 'MemberExpression': {
        const object = node.object as AnyNode;
        const property = node.property as AnyNode;
        const name = property.name as string;
        if (object.type === 'Identifier' && object.name === 'Math' && !node.computed && name in MATH_CONSTANTS) {
          return { kind: 'const', type: 'f32', value: Math.fround(MATH_CONSTANTS[name] as number) };
        }
        // `[x][0]`, `{ x }.x`: name the object's construct, which is what the user wrote wrong.
        if (object.type !== 'Identifier') this.expr(object, scope);
        return this.fail(node, 'property access is not supported in a kernel (only Math constants)');
      }
      case 'UnaryExpression':
        return this.unary(node, scope, hint);
      case 'BinaryExpression':
        return this.binary(node, scope);
      case 'LogicalExpression': {
        if (node.operator === '??') return this.fail(node, '`??` is not supported in a kernel');
        const left = this.condition(node.left as AnyNode, scope);
        const right = this.condition(node.right as AnyNode, scope);
        return { kind: 'logical', type: 'bool', op: node.operator as '&&' | '||', left, right };
      }
      case 'ConditionalExpression': {
        const condition = this.condition(node.test as AnyNode, scope);
        const [whenTrue, whenFalse] = this.pair(node, node.consequent as AnyNode, node.alternate as AnyNode, scope);
        return { kind: 'select', type: whenTrue.type, condition, whenTrue, whenFalse };
      }
      case 'CallExpression':
        return this.call(node, scope);
      case 'AssignmentExpression':
      case 'UpdateExpression':
        return this.fail(node, 'an assignment inside an expression is not supported in a kernel (make it a statement)');
      case 'ParenthesizedExpression':
        return this.expr(node.expression as AnyNode, scope, hint);
      default:
        return this.refuse(node);
    }
  }

  literalNode(node: AnyNode, hint: Scalar | undefined): Expr {
    const value = node.value;
    if (typeof value === 'boolean') return { kind: 'const', type: 'bool', value };
    if (typeof value !== 'number') {
      const what =
        typeof value === 'string'
          ? 'a string'
          : node.regex
            ? 'a regular expression'
            : `the literal ${node.raw as string}`;
      return this.fail(node, `${what} is not supported in a kernel: kernels compute on numbers`);
    }
    return this.literal(node, value, hint, node.raw as string);
  }

  /** A number takes the type around it when it fits there exactly, as WGSL's abstract literals do. */
  literal(node: AnyNode, value: number, hint: Scalar | undefined, raw: string): Expr {
    const fitsI32 = Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31 && !Object.is(value, -0);
    const fitsU32 = Number.isInteger(value) && value >= 0 && value < 2 ** 32 && !Object.is(value, -0);
    if (hint === 'i32' && fitsI32) return { kind: 'const', type: 'i32', value };
    if (hint === 'u32' && fitsU32) return { kind: 'const', type: 'u32', value };
    if (hint !== 'f32' && fitsI32 && !/[.eE]/.test(raw)) return { kind: 'const', type: 'i32', value };
    const single = Math.fround(value);
    if (!Number.isFinite(single)) this.fail(node, `the number ${raw} is beyond f32's range`);
    return { kind: 'const', type: 'f32', value: single };
  }

  unary(node: AnyNode, scope: Scope, hint: Scalar | undefined): Expr {
    const argument = node.argument as AnyNode;
    switch (node.operator) {
      case '-': {
        if (argument.type === 'Literal' && typeof argument.value === 'number') {
          return this.literal(node, -argument.value, hint, `-${argument.raw as string}`);
        }
        const value = this.expr(argument, scope, hint);
        if (value.type === 'bool') this.fail(node, 'arithmetic on a condition is not supported in a kernel');
        return { kind: 'negate', type: value.type, value };
      }
      case '+': {
        const value = this.expr(argument, scope, hint);
        if (value.type === 'bool') this.fail(node, 'arithmetic on a condition is not supported in a kernel');
        return value;
      }
      case '!':
        return { kind: 'not', type: 'bool', value: this.condition(argument, scope) };
      default:
        return this.fail(node, `the operator \`${node.operator as string}\` is not supported in a kernel`);
    }
  }

  /** Two operands lowered so that a bare number takes the type of the other side. */
  pair(node: AnyNode, leftNode: AnyNode, rightNode: AnyNode, scope: Scope): [Expr, Expr] {
    const isNumber = (n: AnyNode) =>
      n.type === 'Literal' || (n.type === 'UnaryExpression' && (n.argument as AnyNode).type === 'Literal');
    let left: Expr;
    let right: Expr;
    if (isNumber(leftNode) && !isNumber(rightNode)) {
      right = this.expr(rightNode, scope);
      left = this.expr(leftNode, scope, right.type);
    } else {
      left = this.expr(leftNode, scope);
      right = this.expr(rightNode, scope, left.type);
    }
    if ((left.type === 'bool') !== (right.type === 'bool')) {
      this.fail(node, 'a condition and a number cannot be mixed in a kernel (write `c ? 1 : 0`)');
    }
    if (left.type === 'bool') return [left, right];
    const type = this.unify(node, left.type, right.type);
    return [this.convert(left, type), this.convert(right, type)];
  }

  unify(node: AnyNode, a: Scalar, b: Scalar): ElementType {
    if (a === b) return a as ElementType;
    if (a === 'f32' || b === 'f32') return 'f32';
    return this.fail(node, `i32 and u32 values are mixed here; WGSL keeps them apart (use one integer array type)`);
  }

  convert(value: Expr, type: Scalar): Expr {
    if (value.type === type) return value;
    if (type === 'f32' && (value.type === 'i32' || value.type === 'u32')) {
      if (value.kind === 'const') return { kind: 'const', type: 'f32', value: Math.fround(value.value as number) };
      return { kind: 'toFloat', type: 'f32', value };
    }
    throw new KernelCompileError(`kernel: cannot convert ${value.type} to ${type}`);
  }

  binary(node: AnyNode, scope: Scope): Expr {
    const op = node.operator as string;
    if (op === '**') {
      const [left, right] = this.pair(node, node.left as AnyNode, node.right as AnyNode, scope);
      // x ** 2 is x * x exactly (JavaScript computes it so); any other power is pow, approximate on a GPU.
      if ((node.right as AnyNode).type === 'Literal' && (node.right as AnyNode).value === 2) {
        return this.arithmetic(node, '*', left, left);
      }
      return this.mathCall(node, 'pow', [left, right]);
    }
    const comparison = COMPARISON[op];
    if (comparison) {
      const [left, right] = this.pair(node, node.left as AnyNode, node.right as AnyNode, scope);
      if (left.type === 'bool' && comparison !== '==' && comparison !== '!=') {
        this.fail(node, 'conditions can only be compared with === or !==');
      }
      return { kind: 'compare', type: 'bool', op: comparison, left, right };
    }
    if (!ARITHMETIC.has(op)) return this.fail(node, `the operator \`${op}\` is not supported in a kernel`);
    const [left, right] = this.pair(node, node.left as AnyNode, node.right as AnyNode, scope);
    return this.arithmetic(node, op as ArithmeticOperator, left, right);
  }

  arithmetic(node: AnyNode, op: ArithmeticOperator, left: Expr, right: Expr): Expr {
    if (left.type === 'bool' || right.type === 'bool')
      this.fail(node, 'arithmetic on a condition is not supported in a kernel');
    let type = this.unify(node, left.type, right.type);
    // JavaScript has no integer division: 7 / 2 is 3.5, so `/` divides as floats.
    if (op === '/') type = 'f32';
    return { kind: 'arithmetic', type, op, left: this.convert(left, type), right: this.convert(right, type) };
  }

  call(node: AnyNode, scope: Scope): Expr {
    const callee = node.callee as AnyNode;
    const isMath =
      callee.type === 'MemberExpression' && !callee.computed && (callee.object as AnyNode).type === 'Identifier';
    const name = isMath ? ((callee.property as AnyNode).name as string) : undefined;
    if (!isMath || ((callee.object as AnyNode).name as string) !== 'Math' || name === undefined) {
      return this.fail(node, 'only Math functions can be called in a kernel');
    }
    if (!(name in MATH_FUNCTIONS)) {
      return this.fail(node, `Math.${name} has no WGSL counterpart, so a kernel cannot call it`);
    }
    const args = (node.arguments as AnyNode[]).map((arg) => {
      if (arg.type === 'SpreadElement') return this.refuse(arg);
      return this.expr(arg, scope);
    });
    return this.mathCall(node, name as MathFunction, args);
  }

  mathCall(node: AnyNode, fn: MathFunction, args: Expr[]): Expr {
    const { arity } = MATH_FUNCTIONS[fn];
    if (args.some((arg) => arg.type === 'bool')) this.fail(node, `Math.${fn} takes numbers, not conditions`);
    if ((fn === 'min' || fn === 'max') && args.length >= 2) {
      // Math.min(a, b, c) is min(min(a, b), c); all of one type, as for any operator.
      let result = args[0] as Expr;
      for (const next of args.slice(1)) {
        const type = this.unify(node, result.type, next.type);
        result = { kind: 'call', type, fn, args: [this.convert(result, type), this.convert(next, type)] };
      }
      return result;
    }
    if (args.length !== arity) this.fail(node, `Math.${fn} takes ${arity} argument${arity > 1 ? 's' : ''} in a kernel`);
    const first = args[0] as Expr;
    if (first.type !== 'f32' && args.length === 1) {
      // Integers: rounding does nothing, fround makes a float, sign and abs stay integers.
      if (fn === 'floor' || fn === 'ceil' || fn === 'trunc' || fn === 'round') return first;
      if (fn === 'fround') return this.convert(first, 'f32');
      if (fn === 'abs' && first.type === 'u32') return first;
      if (fn === 'sign') return integerSign(first);
      if (fn === 'abs') return { kind: 'call', type: first.type as ElementType, fn, args };
    }
    if (fn === 'fround') return first;
    return { kind: 'call', type: 'f32', fn, args: args.map((arg) => this.convert(arg, 'f32')) };
  }
}

/** Lowers `fn` for these input types, lowering again while promotions are found. */
export function lowerKernel(fn: AnyNode, source: SourceText, paramTypes: readonly ElementType[]): TypedKernel {
  const promoted = new Set<number>();
  let returns: ElementType | undefined;
  // Each pass can only promote (an integer let or the return type to f32), so this ends.
  for (let pass = 0; ; pass++) {
    const lowering = new KernelLowering(source, promoted, returns);
    const typed = lowering.kernel(fn, paramTypes);
    if (!lowering.changed || pass > 100) return typed;
    returns = lowering.returns;
  }
}
