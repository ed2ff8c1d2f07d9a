/**
 * The receiving side of a task reference (task-reference.ts): how a worker thread, a pool child
 * process or a `Process` child turns `{ kind, ... }` back into a function. One place, so every
 * kind of worker loads a function the same way.
 */
import { createRequire } from 'node:module';
import type { TaskReference } from '../pool/protocol.js';

/** A loaded task function. */
export type LoadedFunction = (...args: unknown[]) => unknown;

const localRequire = createRequire(`${process.cwd()}/`);
const keepName = (fn: Function, name: string) => Object.defineProperty(fn, 'name', { value: name, configurable: true });

function evaluateSource(source: string): LoadedFunction {
  // The sender checked that the function uses no outer variable; `require` and esbuild's
  // `__name` helper (present in code compiled by tsx) are the two names we provide.
  return new Function('require', '__name', `"use strict"; return (${source});`)(
    localRequire,
    keepName,
  ) as LoadedFunction;
}

/**
 * The function a reference names. `beforeImport` runs before a module is imported (a thread
 * registers tsx there: Node 20 does not apply `--import tsx` to worker threads).
 */
export async function loadTaskFunction(
  ref: TaskReference,
  beforeImport?: () => Promise<void>,
): Promise<LoadedFunction> {
  if (ref.kind === 'source') return evaluateSource(ref.source);
  await beforeImport?.();
  let target: unknown = await import(ref.url);
  for (const key of ref.path) target = (target as Record<string, unknown> | undefined)?.[key];
  if (typeof target !== 'function') {
    throw new TypeError(`${ref.url} has no function at export "${ref.path.join('.')}" in this worker`);
  }
  return target as LoadedFunction;
}
