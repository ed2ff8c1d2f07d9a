/** Small rules of lowering (lower.ts): the names of refused constructs, and two rewrites. */
import type { ElementType, Expr, Stmt } from './ir.js';

/** What acorn's node types are called in a message, for those a kernel refuses. */
export const CONSTRUCT_NAMES: Record<string, string> = {
  ArrayExpression: 'an array literal',
  ObjectExpression: 'an object literal',
  TemplateLiteral: 'a template string',
  TaggedTemplateExpression: 'a tagged template',
  ArrowFunctionExpression: 'a nested function',
  FunctionExpression: 'a nested function',
  FunctionDeclaration: 'a nested function',
  ClassExpression: 'a class',
  ClassDeclaration: 'a class',
  NewExpression: '`new`',
  ThisExpression: '`this`',
  AwaitExpression: '`await`',
  YieldExpression: '`yield`',
  SequenceExpression: 'the comma operator',
  SpreadElement: 'spread (`...`)',
  ChainExpression: 'optional chaining (`?.`)',
  WhileStatement: 'a `while` loop (write a `for` loop with a bound)',
  DoWhileStatement: 'a `do`/`while` loop (write a `for` loop with a bound)',
  ForInStatement: 'a `for`/`in` loop',
  ForOfStatement: 'a `for`/`of` loop',
  SwitchStatement: 'a `switch` (write `if`/`else`)',
  TryStatement: '`try`',
  ThrowStatement: '`throw`',
  LabeledStatement: 'a label',
  WithStatement: '`with`',
  DebuggerStatement: '`debugger`',
  ImportExpression: '`import()`',
};

/** Math.sign of an integer, which WGSL's sign() does not take: as selects. */
export function integerSign(value: Expr): Expr {
  const type = value.type as ElementType;
  const constant = (v: number): Expr => ({ kind: 'const', type, value: v });
  const positive: Expr = { kind: 'compare', type: 'bool', op: '>', left: value, right: constant(0) };
  if (type === 'u32')
    return { kind: 'select', type, condition: positive, whenTrue: constant(1), whenFalse: constant(0) };
  const negative: Expr = { kind: 'compare', type: 'bool', op: '<', left: value, right: constant(0) };
  const otherwise: Expr = {
    kind: 'select',
    type,
    condition: negative,
    whenTrue: constant(-1),
    whenFalse: constant(0),
  };
  return { kind: 'select', type, condition: positive, whenTrue: constant(1), whenFalse: otherwise };
}

/** Whether every path through `body` returns (WGSL requires it of a function with a result). */
export function alwaysReturns(body: readonly Stmt[]): boolean {
  return body.some(
    (stmt) =>
      stmt.kind === 'return' ||
      (stmt.kind === 'block' && alwaysReturns(stmt.body)) ||
      (stmt.kind === 'if' && alwaysReturns(stmt.whenTrue) && alwaysReturns(stmt.otherwise)),
  );
}
