/**
 * Where a function was defined, as V8 knows it: `[[FunctionLocation]]` read through
 * `node:inspector` (synchronous in-process, ~150 µs, once per function), and the module URL of
 * that location's script (`Debugger.scriptParsed`). Used to name task functions (main side) and
 * custom error classes (in a worker, see errors.ts). Loads no parser: the worker bundle has it.
 */
import { Session } from 'node:inspector';

let session: Session | undefined;
const scriptUrls = new Map<string, string>();

function inspectorSession(): Session {
  if (!session) {
    session = new Session();
    session.connect();
    session.on('Debugger.scriptParsed', (message) => {
      scriptUrls.set(message.params.scriptId, message.params.url);
    });
  }
  return session;
}

/** Runs an inspector command; in-process sessions answer synchronously, before `post` returns. */
function postSync<T>(method: string, params?: object): T {
  let outcome: { error: Error | null; result: T } | undefined;
  inspectorSession().post(method, params ?? {}, (error: Error | null, result: unknown) => {
    outcome = { error, result: result as T };
  });
  if (!outcome) throw new Error(`node:inspector did not answer ${method} synchronously`);
  if (outcome.error) throw outcome.error;
  return outcome.result;
}

export interface FunctionLocation {
  scriptId: string;
  lineNumber: number;
  columnNumber: number;
}

const PROBE = Symbol.for('skein.functionProbe');

export function functionLocation(fn: Function): FunctionLocation | undefined {
  (globalThis as Record<symbol, unknown>)[PROBE] = fn;
  try {
    const { result } = postSync<{ result: { objectId: string } }>('Runtime.evaluate', {
      expression: `globalThis[Symbol.for('skein.functionProbe')]`,
    });
    try {
      const props = postSync<{ internalProperties?: { name: string; value?: { value?: unknown } }[] }>(
        'Runtime.getProperties',
        { objectId: result.objectId, ownProperties: true },
      );
      const location = props.internalProperties?.find((p) => p.name === '[[FunctionLocation]]');
      return location?.value?.value as FunctionLocation | undefined;
    } finally {
      postSync('Runtime.releaseObject', { objectId: result.objectId });
    }
  } finally {
    delete (globalThis as Record<symbol, unknown>)[PROBE];
  }
}

export function scriptUrl(scriptId: string): string {
  if (!scriptUrls.has(scriptId)) {
    // Enabling the debugger replays scriptParsed for every loaded script; it is switched off
    // again at once so that it costs nothing while tasks run.
    postSync('Debugger.enable');
    postSync('Debugger.disable');
  }
  return scriptUrls.get(scriptId) ?? '';
}
