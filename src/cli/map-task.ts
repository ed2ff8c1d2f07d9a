/**
 * The worker side of `skein map` on a local pool: one task runs the user's function over a chunk
 * of consecutive input lines and returns their records already written as JSON text.
 *
 * Parsing each line, calling the function and writing each record all happen here, in the
 * workers, so the parent only cuts the input into chunks and appends the returned text to the
 * output: with a tiny function that is what keeps the parent from being the bottleneck.
 *
 * The function is found by its module's URL and export path, given by the parent (which loaded
 * and checked them first); the import is cached per worker.
 */
import { type JournalHandle, openJournal } from './map-journal.js';
import { type FailureKind, failureRecord, okRecord, type ParsedLine, parseLine } from './map-records.js';

/** One line of a chunk that failed (its record says so too). */
export interface ChunkFailure {
  line: number;
  kind: FailureKind;
}

/** What a chunk task returns. */
export interface ChunkResult {
  /**
   * The record of each line that ran, in line order, each ending in `\n`. From a worker whose
   * journal holds the records (threads), only those that did not fit in it: the parent reads
   * the others from the journal.
   */
  records: string;
  /**
   * Lines that ran, from the first: fewer than were sent when the chunk ended early (its journal
   * was full, or `yieldAfterMs` passed); the lines after them never started.
   */
  lines: number;
  /** The lines among them that failed (a function that threw, a line that is not JSON). */
  failures: ChunkFailure[];
  /** ms spent on the chunk in the worker: the parent sizes the next chunks from it. */
  ms: number;
}

type AnyFunction = (input: unknown) => unknown;
const functions = new Map<string, Promise<AnyFunction>>();

async function loadFunction(moduleUrl: string, exportPath: readonly string[]): Promise<AnyFunction> {
  let target: unknown = await import(moduleUrl);
  for (const key of exportPath) target = (target as Record<string, unknown> | undefined)?.[key];
  if (typeof target !== 'function') {
    throw new TypeError(`${moduleUrl} has no function at export "${exportPath.join('.')}" in this worker`);
  }
  return target as AnyFunction;
}

/**
 * In a worker, stdout belongs to the records (`--output -` writes them there): what a task prints
 * goes to stderr instead, so that it cannot end up between two records. Called in workers only
 * (the parent imports this module too, and writes records to its stdout).
 */
function sendTaskOutputToStderr(): void {
  const toStderr = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  process.stdout.write = toStderr;
  const log = console.error.bind(console);
  console.log = log;
  console.info = log;
  console.debug = log;
}

function functionAt(moduleUrl: string, exportPath: readonly string[]): Promise<AnyFunction> {
  if (functions.size === 0) sendTaskOutputToStderr();
  const key = `${moduleUrl}#${exportPath.join('.')}`;
  let fn = functions.get(key);
  if (!fn) {
    fn = loadFunction(moduleUrl, exportPath);
    functions.set(key, fn);
  }
  return fn;
}

/**
 * The pool's `initializer`: loads the task's module once per worker before its first chunk, so
 * that importing it (compiling it, for a .ts module under tsx) never counts against `--timeout`.
 */
export async function prepareWorker(moduleUrl: string, exportPath: readonly string[]): Promise<void> {
  await functionAt(moduleUrl, exportPath);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && 'then' in value;
}

/**
 * Runs `moduleUrl`'s export over each line of `text` (lines separated by `\n`, the first one
 * numbered `firstLine`) and returns their records. A line that is not JSON, or whose call throws
 * (or returns something JSON cannot hold), gets a failure record: nothing here throws for a line.
 *
 * Each record also goes to the chunk's `journal` as soon as its line finishes (map-journal.ts),
 * so that the parent keeps it if this worker dies later in the chunk. With `yieldAfterMs`, no
 * line starts once the chunk has run that long: the chunk returns, and the parent sends the rest
 * again, so a line always starts early enough in its chunk to get its whole `--timeout`.
 */
export async function mapChunk(
  moduleUrl: string,
  exportPath: readonly string[],
  firstLine: number,
  text: string,
  idField: string | undefined,
  journalHandle?: JournalHandle,
  yieldAfterMs?: number,
): Promise<ChunkResult> {
  const fn = await functionAt(moduleUrl, exportPath);
  const started = performance.now();
  const lines = text.split('\n');
  let records = '';
  const failures: ChunkFailure[] = [];
  const journal = journalHandle === undefined ? undefined : openJournal(journalHandle);
  const keepRecords = !journal?.holdsRecords;
  let done = 0;
  try {
    for (let i = 0; i < lines.length; i++) {
      if (i > 0 && yieldAfterMs !== undefined && performance.now() - started >= yieldAfterMs) break;
      if (journal && !journal.begin(i)) break;
      const lineText = lines[i] as string;
      const line = firstLine + i;
      const parsed: ParsedLine = parseLine(lineText);
      let record: string;
      if (!parsed.ok) {
        record = failureRecord(line, lineText, parsed, parsed.error, 'parse', idField);
        failures.push({ line, kind: 'parse' });
      } else {
        try {
          let result = fn(parsed.value);
          // Only a promise is awaited: a synchronous function does not pay a microtask per line.
          if (isThenable(result)) result = await result;
          record = okRecord(line, parsed.value, result, idField);
        } catch (error) {
          record = failureRecord(line, lineText, parsed, error, 'task', idField);
          failures.push({ line, kind: 'task' });
        }
      }
      done = i + 1;
      if (keepRecords) records += record;
      if (!journal) continue;
      const commit = journal.commit(i, record);
      if (commit === 'kept') continue;
      if (commit === 'full') records += record; // it travels with the answer; the rest goes again
      break;
    }
  } finally {
    journal?.close();
  }
  return { records, failures, lines: done, ms: performance.now() - started };
}
