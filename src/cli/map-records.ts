/**
 * The records `skein map` writes, one JSON object per line:
 *
 *   {"line":3,"ok":true,"id":"a-3","result":4}
 *   {"line":4,"ok":false,"id":"a-4","error":{"name":"TypeError","message":"...","kind":"task"},"input":{...}}
 *
 * `line` and `ok` always come first, in that order, so that `--resume` can read a record's fate
 * from its first bytes without parsing the result (see map-resume.ts). Used both in the workers
 * (map-task.ts builds every record of a chunk there) and in the parent (failures it sees itself:
 * a worker that died, a timeout, a line run on the Redis backend). Kept free of heavy imports: a
 * worker loads it.
 */

/** Why a line failed: it is not JSON, the task threw, its worker died, it ran out of time. */
export type FailureKind = 'parse' | 'task' | 'worker-exit' | 'timeout';

/** Inputs longer than this many characters are cut in failure records (a 50 MB line stays out). */
export const MAX_INPUT_CHARS = 1000;

/** A line's text parsed, or why it could not be. */
export type ParsedLine = { ok: true; value: unknown } | { ok: false; error: Error };

/** Parses one input line (a trailing `\r` of a CRLF file is ignored by JSON.parse as whitespace). */
export function parseLine(text: string): ParsedLine {
  if (text.trim() === '')
    return { ok: false, error: new SyntaxError('the line is empty: every line must hold a JSON value') };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

/** `"id":<value>,` when `idField` is set and the input is an object that has it; else ''. */
function idPart(value: unknown, idField: string | undefined): string {
  if (idField === undefined || value === null || typeof value !== 'object') return '';
  const id = (value as Record<string, unknown>)[idField];
  if (id === undefined) return '';
  try {
    return `"id":${JSON.stringify(id)},`;
  } catch {
    return '';
  }
}

/** The record of a line whose task returned `result`; throws if the result is not JSON-writable. */
export function okRecord(line: number, input: unknown, result: unknown, idField: string | undefined): string {
  const json = result === undefined ? 'null' : JSON.stringify(result);
  // JSON.stringify gives undefined for a function or a symbol: that is no JSON either.
  if (json === undefined) throw new TypeError(`the result (a ${typeof result}) cannot be written as JSON`);
  return `{"line":${line},"ok":true,${idPart(input, idField)}"result":${json}}\n`;
}

/** What a failure record says of an error: its name and message, whatever was thrown. */
function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error || (error !== null && typeof error === 'object' && 'message' in error)) {
    const e = error as { name?: unknown; message?: unknown };
    return { name: String(e.name ?? 'Error'), message: String(e.message) };
  }
  return { name: 'Error', message: String(error) };
}

/**
 * The record of a failed line. `text` is the line as read; `parsed` its value when it was JSON.
 * The input is copied as its JSON value when the line is short, else as the line's first
 * MAX_INPUT_CHARS characters with `"inputTruncated":true`.
 */
export function failureRecord(
  line: number,
  text: string,
  parsed: ParsedLine,
  error: unknown,
  kind: FailureKind,
  idField: string | undefined,
): string {
  const { name, message } = describeError(error);
  if (text.endsWith('\r')) text = text.slice(0, -1); // a CRLF file's line, shown without its CR
  const id = parsed.ok ? idPart(parsed.value, idField) : '';
  let input: string;
  if (text.length > MAX_INPUT_CHARS) {
    input = `${JSON.stringify(text.slice(0, MAX_INPUT_CHARS))},"inputTruncated":true`;
  } else if (parsed.ok) {
    // A value that parsed from JSON can be written back as JSON (it may have been reformatted).
    input = JSON.stringify(parsed.value) ?? 'null';
  } else {
    input = JSON.stringify(text);
  }
  const errorJson = JSON.stringify({ name, message, kind });
  return `{"line":${line},"ok":false,${id}"error":${errorJson},"input":${input}}\n`;
}

/** The failure kind of an error the executor rejected a task with (classes cross Redis by name only). */
export function failureKindOf(error: unknown): FailureKind {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'WorkerExitedError') return 'worker-exit';
  if (name === 'TimeoutError') return 'timeout';
  return 'task';
}
