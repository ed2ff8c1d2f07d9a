/**
 * `resolveTaskReference(fn)`: how a function object in this thread becomes something a worker
 * can load, the way Python pickles a function as "module + qualified name".
 *
 * 1-2. V8 knows where every function was defined, and so which module's URL it came from
 *    (function-location.ts).
 * 3. The module's exports are searched for the function itself (identity, not name), giving the
 *    export path; the worker will `import(url)` and follow it.
 * 4. A function that is not an export (an inline arrow, a helper in the entry script) is sent as
 *    source if it uses no outer variable; otherwise the error names the variable.
 *
 * The entry script (process.argv[1]) is never imported by reference: importing it in a worker
 * would run the whole program again there (Python guards this with `if __name__ == "__main__"`).
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TaskReference } from '../pool/protocol.js';
import { analyzeFunction, type FunctionNeeds, parseFunctionSource } from './free-variables.js';
import { functionLocation, scriptUrl } from './function-location.js';

const require = createRequire(import.meta.url);

/** Names a source-sent function may use although they are not globals: the worker provides them. */
const WORKER_PROVIDED = new Set(['require', '__name']);

const namespaces = new Map<string, Record<string, unknown>>();
const cache = new WeakMap<Function, TaskReference | Promise<TaskReference>>();

function entryUrl(): string | undefined {
  const entry = process.argv[1];
  if (!entry) return undefined;
  try {
    return pathToFileURL(require.resolve(entry)).href;
  } catch {
    return pathToFileURL(entry).href;
  }
}

function findExportPath(exports: unknown, fn: Function, prefix: string[]): string[] | undefined {
  if (exports === fn) return prefix;
  if (exports === null || (typeof exports !== 'object' && typeof exports !== 'function')) return undefined;
  for (const key of Object.keys(exports)) {
    try {
      if ((exports as Record<string, unknown>)[key] === fn) return [...prefix, key];
    } catch {
      // a throwing getter on an export is not our function
    }
  }
  return undefined;
}

/** The export path of `fn` among what this thread already has loaded, without importing anything. */
function findLoadedExport(url: string, fn: Function): string[] | undefined {
  const cjs = url.startsWith('file:') ? require.cache[fileURLToPath(url)] : undefined;
  // A CommonJS module imported by ESM is `{ default: module.exports, ...named }`; the worker
  // imports it the same way, so `default` first is the path that always exists.
  if (cjs) return findExportPath(cjs.exports, fn, ['default']);
  const ns = namespaces.get(url);
  if (!ns) return undefined;
  return findExportPath(ns, fn, []) ?? findExportPath(ns.default, fn, ['default']);
}

/**
 * Thrown at submit when a task function reads a variable from outside itself (a closure) and is
 * not exported from a module: a worker could not see that variable. The message names it; export
 * the function, or pass the value as an argument.
 */
export class CapturedVariableError extends TypeError {
  /** `'CapturedVariableError'`, so that `error.name` and stack traces say which error this is. */
  override name = 'CapturedVariableError';
}

/**
 * What will call the function, for the advice of an error: a task (`submit`, `map`: the caller
 * chooses its arguments) or a row function of skein/data (`filter`, `assign`: called with the row
 * only, so "pass it as an argument" cannot be followed).
 */
export type FunctionRole = 'task' | 'row function';

function sourceReference(fn: Function, where: string, role: FunctionRole): TaskReference {
  const source = Function.prototype.toString.call(fn);
  let parsed: ReturnType<typeof parseFunctionSource>;
  try {
    parsed = parseFunctionSource(source);
  } catch {
    throw new TypeError(
      `${label(fn)} cannot be sent to a worker: its source text could not be parsed as a function. ` +
        'Export it from a module and submit it by reference.',
    );
  }
  const needs = analyzeFunction(parsed.node);
  if (needs.usesThis) {
    throw new TypeError(
      `${label(fn)} uses \`this\`, which a worker cannot give it: the worker calls the function on its own, ` +
        'not as a method of your object. Make it a plain function that takes what it needs as arguments.',
    );
  }
  const captured = needs.free.filter((name) => !(name in globalThis) && !WORKER_PROVIDED.has(name));
  if (captured.length > 0) {
    const names = captured.map((n) => `"${n}"`).join(', ');
    const advice = captured.map((name) => adviceFor(name, needs, role)).join(' ');
    throw new CapturedVariableError(
      `${label(fn)} uses the outer variable${captured.length > 1 ? 's' : ''} ${names}, which a worker cannot see ` +
        `(${where.replace(/\.$/, '').toLowerCase()}). ${advice}`,
    );
  }
  return { kind: 'source', source: parsed.expression };
}

/**
 * What to do about one captured name, from how the function uses it. The advice must work when
 * followed: a function can be imported but not passed; state the task changes must be shared,
 * since module variables are per worker (exporting the task would silently change a copy).
 */
function adviceFor(name: string, needs: FunctionNeeds, role: FunctionRole): string {
  if (role === 'row function' && !needs.called.has(name)) {
    if (needs.assigned.has(name)) {
      return (
        `It changes "${name}": a row function runs in the workers, each with its own copy of module variables, so ` +
        `a change never reaches yours. Compute what you need as a column (assign) and reduce it with groupby(...).agg ` +
        'or sum(), or return it from mapPartitions.'
      );
    }
    return (
      'skein/data calls a row function with the row only (mapPartitions: the partition), so the value cannot be ' +
      'passed to it: write the value into the ' +
      `function, or export the function from a module (not the entry script) that defines "${name}": the worker ` +
      'then imports that module.'
    );
  }
  if (needs.assigned.has(name)) {
    return (
      `It changes "${name}": each worker has its own copy of module variables, so a change made in a worker never ` +
      `reaches yours (exporting the function would leave your "${name}" silently unchanged). Share it instead: pass ` +
      'a SharedValue or SharedArray as an argument (thread pools), or return what the task computed and combine ' +
      'the results where you await them.'
    );
  }
  if (needs.called.has(name)) {
    return (
      `It calls "${name}", a function, which cannot be passed to a worker: define it inside the task, or put the ` +
      `task in a module (not the entry script) that defines or imports "${name}", export the task, and submit ` +
      'that export: the worker then imports the module, helpers included.'
    );
  }
  return (
    `Pass "${name}" as an argument, or, if it is a constant, export the function from a module (not the entry ` +
    'script) that defines it: the worker then imports that module.'
  );
}

function label(fn: Function): string {
  return fn.name ? `function "${fn.name}"` : 'the anonymous function';
}

function resolveUncached(fn: Function, role: FunctionRole): TaskReference | Promise<TaskReference> {
  const location = functionLocation(fn);
  if (!location) {
    throw new TypeError(
      `${label(fn)} cannot be sent to a worker: it is a bound or built-in function, with no source of its own. ` +
        'Export a plain function that calls it.',
    );
  }
  const url = scriptUrl(location.scriptId);
  const isModule = url.startsWith('file:') || url.startsWith('data:');
  if (!isModule || url === entryUrl()) {
    return sourceReference(
      fn,
      isModule ? 'It is defined in the entry script, which workers do not import.' : 'It was not defined in a module.',
      role,
    );
  }
  const loaded = findLoadedExport(url, fn);
  if (loaded) return { kind: 'module', url, path: loaded };
  if (namespaces.has(url) || require.cache[fileURLToPath(url)]) return sourceReference(fn, 'It is not exported.', role);
  // An ES module we have not seen yet: import it (already evaluated, so this only fetches the
  // namespace) and look again.
  return import(url).then((ns: Record<string, unknown>) => {
    namespaces.set(url, ns);
    const path = findLoadedExport(url, fn);
    return path ? { kind: 'module', url, path } : sourceReference(fn, 'It is not exported.', role);
  });
}

/**
 * The reference for `fn`: synchronously when skein can tell at once (cached, CommonJS, an
 * already-seen module, source), else a promise (the first function of a new ES module).
 * Throws (or rejects) with a message that says how to fix it when `fn` cannot be sent; `role` picks
 * advice its caller can follow (a failure is never cached, so the role of a later call counts).
 */
export function resolveTaskReference(
  fn: Function,
  role: FunctionRole = 'task',
): TaskReference | Promise<TaskReference> {
  const cached = cache.get(fn);
  if (cached) return cached;
  if (typeof fn !== 'function')
    throw new TypeError(`a task must be a function, got ${fn === null ? 'null' : typeof fn}`);
  const ref = resolveUncached(fn, role);
  cache.set(fn, ref);
  if (ref instanceof Promise) {
    ref.then(
      (resolved) => cache.set(fn, resolved),
      () => cache.delete(fn),
    );
  }
  return ref;
}
