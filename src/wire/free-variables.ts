/**
 * Which outer variables a function's source uses. A function sent to a worker as source text
 * loses its closure, so any such variable would be a ReferenceError there; we find them first
 * and name them in the error.
 *
 * The analysis is deliberately simple: every name declared anywhere inside the function counts
 * as declared everywhere in it. That can miss a capture (a name declared in an inner block but
 * used outside it), never invent one, so it never rejects a function that would have worked.
 */
import { createRequire } from 'node:module';
import type { Node } from 'acorn';

// The parser loads on first use (~17 ms), not with `import 'skein'`: most tasks are exports,
// sent by reference, and never parsed.
let acorn: typeof import('acorn') | undefined;
const parse: typeof import('acorn').parse = (input, options) => {
  acorn ??= createRequire(import.meta.url)('acorn') as typeof import('acorn');
  return acorn.parse(input, options);
};

type AnyNode = Node & Record<string, unknown>;

/** Parses function source as an expression; methods (`foo(x) {}`) are wrapped in an object. */
export function parseFunctionSource(source: string): { node: AnyNode; expression: string } {
  try {
    const program = parse(`(${source})`, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as AnyNode;
    return { node: ((program.body as AnyNode[])[0] as AnyNode).expression as AnyNode, expression: source };
  } catch {
    // Method shorthand, getters, `async foo() {}`: valid only inside an object literal.
    const wrapped = `({${source}})`;
    const program = parse(wrapped, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as AnyNode;
    const object = ((program.body as AnyNode[])[0] as AnyNode).expression as AnyNode;
    const property = (object.properties as AnyNode[])[0] as AnyNode;
    const key = property.key as AnyNode;
    return { node: property.value as AnyNode, expression: `${wrapped}[${JSON.stringify(key.name ?? key.value)}]` };
  }
}

function collectPatternNames(pattern: AnyNode | null | undefined, into: Set<string>, refs: AnyNode[]): void {
  if (!pattern) return;
  switch (pattern.type) {
    case 'Identifier':
      into.add(pattern.name as string);
      return;
    case 'ObjectPattern':
      for (const p of pattern.properties as AnyNode[]) {
        if (p.type === 'RestElement') collectPatternNames(p.argument as AnyNode, into, refs);
        else {
          if (p.computed) refs.push(p.key as AnyNode);
          collectPatternNames(p.value as AnyNode, into, refs);
        }
      }
      return;
    case 'ArrayPattern':
      for (const e of pattern.elements as (AnyNode | null)[]) collectPatternNames(e, into, refs);
      return;
    case 'RestElement':
      collectPatternNames(pattern.argument as AnyNode, into, refs);
      return;
    case 'AssignmentPattern':
      collectPatternNames(pattern.left as AnyNode, into, refs);
      refs.push(pattern.right as AnyNode); // a default value is an expression
      return;
    default:
      refs.push(pattern); // e.g. a member expression as an assignment target
  }
}

/** What a function's source says about what it needs from outside, for advice that fits. */
export interface FunctionNeeds {
  /** Names it reads or writes but does not declare, in order of first use. */
  readonly free: string[];
  /** Names it calls (`helper(...)`, `new Thing()`): functions or classes, most likely. */
  readonly called: ReadonlySet<string>;
  /** Names it assigns or updates (`counter += 1`, `total++`): state it changes. */
  readonly assigned: ReadonlySet<string>;
  /** It uses `this` of its own call (a method), which a worker cannot give it. */
  readonly usesThis: boolean;
}

/** Names the function reads or writes but does not declare, in order of first use. */
export function freeVariables(fnNode: AnyNode): string[] {
  return analyzeFunction(fnNode).free;
}

export function analyzeFunction(fnNode: AnyNode): FunctionNeeds {
  const declared = new Set<string>(['arguments']);
  const used: string[] = [];
  const seenUse = new Set<string>();
  const called = new Set<string>();
  const assigned = new Set<string>();
  let usesThis = false;
  /** Inside a nested non-arrow function (or class), `this` is that one's own. */
  let ownThisDepth = 0;
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    const n = node as AnyNode;
    if (typeof n.type !== 'string') return;
    switch (n.type) {
      case 'Identifier':
        if (!seenUse.has(n.name as string)) {
          seenUse.add(n.name as string);
          used.push(n.name as string);
        }
        return;
      case 'ThisExpression':
        if (ownThisDepth === 0) usesThis = true;
        return;
      case 'CallExpression':
      case 'NewExpression':
        if ((n.callee as AnyNode).type === 'Identifier') called.add((n.callee as AnyNode).name as string);
        visit(n.callee);
        visit(n.arguments);
        return;
      case 'AssignmentExpression':
        if ((n.left as AnyNode).type === 'Identifier') assigned.add((n.left as AnyNode).name as string);
        visit(n.left);
        visit(n.right);
        return;
      case 'UpdateExpression':
        if ((n.argument as AnyNode).type === 'Identifier') assigned.add((n.argument as AnyNode).name as string);
        visit(n.argument);
        return;
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression': {
        if (n.id) declared.add((n.id as AnyNode).name as string);
        const refs: AnyNode[] = [];
        for (const p of n.params as AnyNode[]) collectPatternNames(p, declared, refs);
        // The function analysed itself is depth 0 whatever its kind: its `this` is the caller's.
        const ownThis = n !== fnNode && n.type !== 'ArrowFunctionExpression';
        if (ownThis) ownThisDepth++;
        visit(refs);
        visit(n.body);
        if (ownThis) ownThisDepth--;
        return;
      }
      case 'ClassDeclaration':
      case 'ClassExpression':
        if (n.id) declared.add((n.id as AnyNode).name as string);
        visit(n.superClass);
        ownThisDepth++;
        visit(n.body);
        ownThisDepth--;
        return;
      case 'VariableDeclarator': {
        const refs: AnyNode[] = [];
        collectPatternNames(n.id as AnyNode, declared, refs);
        visit(refs);
        visit(n.init);
        return;
      }
      case 'CatchClause': {
        const refs: AnyNode[] = [];
        collectPatternNames(n.param as AnyNode, declared, refs);
        visit(refs);
        visit(n.body);
        return;
      }
      case 'MemberExpression':
        visit(n.object);
        if (n.computed) visit(n.property);
        return;
      case 'Property':
      case 'PropertyDefinition':
      case 'MethodDefinition':
        if (n.computed) visit(n.key);
        if (n.type === 'Property' && n.shorthand) visit(n.value);
        else visit(n.value);
        return;
      case 'LabeledStatement':
        visit(n.body);
        return;
      case 'BreakStatement':
      case 'ContinueStatement':
      case 'MetaProperty':
        return;
      default:
        for (const key of Object.keys(n)) {
          if (key !== 'type' && key !== 'start' && key !== 'end' && key !== 'loc') visit(n[key]);
        }
    }
  };
  visit(fnNode);
  return { free: used.filter((name) => !declared.has(name)), called, assigned, usesThis };
}
