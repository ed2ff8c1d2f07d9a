/**
 * `skein map MODULE#EXPORT --input in.jsonl --output out.jsonl`: a function over every line of a
 * JSON Lines file, on a pool, with progress, retries, timeouts and resume. This file wires the
 * pieces together; each lives in its own file:
 *
 *   map-args.ts     flags and --help          map-resume.ts   what an earlier run left; the sidecar
 *   map-input.ts    the line splitter         map-runner.ts   chunks, retries, --max-errors
 *   map-output.ts   the one record writer     map-backends.ts local pools, Redis
 *   map-task.ts     what runs in a worker     map-records.ts  the record format
 */
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { ProcessPoolExecutor } from '../executors/process.js';
import { ThreadPoolExecutor } from '../executors/thread.js';
import type { Executor } from '../futures/base.js';
import { ProgressReporter } from '../progress/reporter.js';
import { MAP_HELP, type MapCommandOptions, parseMapArgs } from './map-args.js';
import { checkRedis, DistributedChunkBackend, type LoadedTask, PoolChunkBackend } from './map-backends.js';
import { countLines, LineReader } from './map-input.js';
import { type Journals, ProcessJournals, ThreadJournals } from './map-journal.js';
import { RecordWriter } from './map-output.js';
import {
  checkSidecar,
  dropFailureRecords,
  inputIdentity,
  LineStates,
  MapUsageError,
  scanOutput,
  writeSidecar,
} from './map-resume.js';
import { type ChunkBackend, MapRun, type MapRunSummary } from './map-runner.js';
import { prepareWorker } from './map-task.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

/** ms the pool gets to stop at the end of a run before its workers are terminated. */
const SHUTDOWN_MS = 2000;

/** Runs `skein map` with its arguments (after `map`); resolves the exit code. */
/** One line for `skein --help`. */
export const MAP_SUMMARY = 'run a function over every line of a JSON Lines file, with retries, timeouts and resume';

export async function mapCommand(args: string[]): Promise<number> {
  let options: MapCommandOptions | null;
  try {
    options = parseMapArgs(args);
    if (options === null) {
      process.stdout.write(`${MAP_HELP}\n`);
      return 0;
    }
    return await runMap(options);
  } catch (error) {
    if (error instanceof MapUsageError) {
      log(`skein map: ${error.message}\n(skein map --help lists every flag)`);
      return 2;
    }
    throw error;
  }
}

function looksLikePath(spec: string): boolean {
  return /^(\.{1,2}[/\\]|[/\\]|[A-Za-z]:[/\\])/.test(spec) || /\.[cm]?[jt]s$/.test(spec);
}

/** Imports MODULE and finds EXPORT in it, with an error that says what is missing. */
export async function loadTask(spec: string): Promise<LoadedTask> {
  const hash = spec.lastIndexOf('#');
  const modulePart = hash < 0 ? spec : spec.slice(0, hash);
  const exportName = hash < 0 ? 'default' : spec.slice(hash + 1);
  if (modulePart === '' || exportName === '') {
    throw new MapUsageError(`the task must be MODULE#EXPORT (e.g. ./tasks.js#enrich), got "${spec}"`);
  }
  let moduleUrl: string;
  if (looksLikePath(modulePart)) {
    const path = resolve(modulePart);
    if (!existsSync(path)) throw new MapUsageError(`cannot find the task module ${path}`);
    moduleUrl = pathToFileURL(path).href;
  } else {
    try {
      moduleUrl = pathToFileURL(createRequire(`${process.cwd()}/`).resolve(modulePart)).href;
    } catch {
      throw new MapUsageError(`cannot find the task module "${modulePart}" (a file path should start with ./)`);
    }
  }
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(moduleUrl)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const hint =
      code === 'ERR_UNKNOWN_FILE_EXTENSION'
        ? ' A TypeScript module needs the command to run under tsx: npx tsx node_modules/.bin/skein map ...'
        : '';
    throw new MapUsageError(`cannot load the task module ${modulePart}: ${(error as Error).message}${hint}`);
  }
  // A CommonJS module's exports arrive as `default` (and, often, as named exports too).
  const candidates: [string[], unknown][] = [
    [[exportName], namespace[exportName]],
    [['default', exportName], (namespace.default as Record<string, unknown> | undefined)?.[exportName]],
  ];
  for (const [exportPath, value] of candidates) {
    if (typeof value === 'function') return { fn: value as LoadedTask['fn'], moduleUrl, exportPath };
  }
  const found = candidates.find(([, value]) => value !== undefined);
  if (found) throw new MapUsageError(`${modulePart}#${exportName} is a ${typeof found[1]}, not a function`);
  const functions = Object.keys(namespace).filter((key) => typeof namespace[key] === 'function');
  throw new MapUsageError(
    `${modulePart} has no export "${exportName}"; its exported functions: ${functions.join(', ') || 'none'}`,
  );
}

function checkInput(input: string): void {
  if (input === '-') return;
  let isFile: boolean;
  try {
    isFile = statSync(input).isFile();
  } catch (error) {
    throw new MapUsageError(`cannot read the input ${input}: ${(error as Error).message}`);
  }
  if (!isFile) throw new MapUsageError(`the input ${input} is not a file`);
}

interface PreparedOutput {
  stream: NodeJS.WritableStream & { writableNeedDrain?: boolean };
  ownStream: boolean;
  states: LineStates;
  /** Failure records of an earlier run that stay (not re-run). */
  keptFailures: number;
}

/** Opens the output: fresh (with its sidecar), or continued after what an earlier run wrote. */
async function prepareOutput(options: MapCommandOptions): Promise<PreparedOutput> {
  const states = new LineStates();
  if (options.output === '-') return { stream: process.stdout, ownStream: false, states, keptFailures: 0 };
  const identity = options.input === '-' ? { size: -1, head: '' } : await inputIdentity(options.input);
  let resuming = false;
  let continued = states;
  if (options.resume && existsSync(options.output)) {
    await checkSidecar(options.output, identity);
    continued = await scanOutput(options.output);
    if (options.retryFailed && continued.failed > 0) {
      await dropFailureRecords(options.output);
      continued = await scanOutput(options.output);
    }
    resuming = true;
  } else {
    try {
      await writeSidecar(options.output, options.input === '-' ? '-' : resolve(options.input), options.task, identity);
    } catch (error) {
      throw new MapUsageError(`cannot write next to the output ${options.output}: ${(error as Error).message}`);
    }
  }
  const stream = createWriteStream(options.output, { flags: resuming ? 'a' : 'w' });
  await new Promise<void>((ready, fail) => {
    stream.once('open', () => ready());
    stream.once('error', (error) =>
      fail(new MapUsageError(`cannot write the output ${options.output}: ${error.message}`)),
    );
  });
  return { stream, ownStream: true, states: continued, keptFailures: continued.failed };
}

async function openExecutor(options: MapCommandOptions, task: LoadedTask): Promise<Executor> {
  const pool = {
    maxWorkers: options.workers,
    name: 'skein-map',
    initializer: prepareWorker,
    initArgs: [task.moduleUrl, task.exportPath],
  };
  if (options.backend === 'threads') return new ThreadPoolExecutor(pool);
  if (options.backend === 'processes') return new ProcessPoolExecutor(pool);
  const { DistributedExecutor } = await import('../executors/distributed.js');
  return new DistributedExecutor({
    connection: options.connection as string,
    ...(options.queue ? { queue: options.queue } : {}),
    ...(options.prefix ? { prefix: options.prefix } : {}),
  });
}

async function runMap(options: MapCommandOptions): Promise<number> {
  checkInput(options.input);
  const task = await loadTask(options.task);
  if (options.backend === 'redis') await checkRedis(options.connection as string);
  const output = await prepareOutput(options);
  const { states } = output;
  const skip = (line: number) => {
    const state = states.get(line);
    return state === 1 || (state === 2 && !options.retryFailed);
  };
  const skipped = states.ok + (options.retryFailed ? 0 : states.failed);
  const inputStream: Readable =
    options.input === '-' ? process.stdin : createReadStream(options.input, { highWaterMark: 1 << 20 });
  const reader = new LineReader(inputStream, skip);
  const writer = new RecordWriter(output.stream, options.keepOrder);
  const progress = options.quiet
    ? undefined
    : new ProgressReporter({ label: 'skein map', stream: process.stderr, intervalMs: 10_000 });
  const counting = new AbortController();
  if (progress && options.input !== '-') {
    countLines(options.input, counting.signal).then(
      (lines) => progress.setTotal(Math.max(0, lines - skipped)),
      () => {}, // the count is for the progress bar only; an interrupted run stops it
    );
  }

  const stop = new AbortController();
  let ioError: Error | undefined;
  output.stream.on('error', (error: Error) => {
    ioError ??= error;
    stop.abort(error);
  });
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(signal === 'SIGINT' ? 130 : 143); // the second one: at once
    signalled = signal;
    log(`\nskein map: ${signal}: writing the finished records and stopping the workers (again to quit at once)`);
    stop.abort(new Error(`interrupted by ${signal}`));
    if (options.input === '-') process.stdin.destroy(); // a read waiting on stdin would wait on
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const executor = await openExecutor(options, task);
  const backendOptions = { task, timeout: options.timeout, idField: options.idField };
  let journals: Journals | undefined;
  let backend: ChunkBackend;
  if (options.backend === 'redis') backend = new DistributedChunkBackend(executor, backendOptions);
  else {
    journals = options.backend === 'processes' ? new ProcessJournals() : new ThreadJournals();
    backend = new PoolChunkBackend(executor, options.workers, journals, backendOptions);
  }
  // A second Ctrl-C exits at once: the journal files go with it.
  const removeJournals = () => journals?.close();
  process.on('exit', removeJournals);
  let summary: MapRunSummary | undefined;
  let readError: unknown;
  try {
    summary = await new MapRun({
      reader,
      writer,
      backend,
      retries: options.retries,
      chunkLines: options.chunkSize,
      timeout: options.timeout,
      maxErrors: options.maxErrors,
      idField: options.idField,
      progress,
      signal: stop.signal,
    }).run();
  } catch (error) {
    readError = error;
    stop.abort(error);
  } finally {
    counting.abort();
    progress?.finish();
    try {
      await writer.close(output.ownStream);
    } catch (error) {
      ioError ??= error as Error;
    }
    // Every chunk is accounted for by now, so nothing should still run; a worker that does anyway
    // (a task the pool took for not yet started when it was cancelled) must not hold the exit.
    await executor.shutdown({ cancelFutures: true, timeout: SHUTDOWN_MS });
    removeJournals();
    process.off('exit', removeJournals);
    await reader.close().catch(() => {});
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return report(options, summary, output.keptFailures, { signalled, ioError, readError });
}

function report(
  options: MapCommandOptions,
  summary: MapRunSummary | undefined,
  keptFailures: number,
  trouble: { signalled: NodeJS.Signals | undefined; ioError: Error | undefined; readError: unknown },
): number {
  if (trouble.ioError) {
    log(`skein map: cannot write the output ${options.output}: ${trouble.ioError.message}`);
    return 2;
  }
  if (trouble.readError !== undefined || !summary) {
    log(`skein map: cannot read the input ${options.input}: ${(trouble.readError as Error)?.message}`);
    return 2;
  }
  if (summary.fatal !== undefined) {
    const error = summary.fatal as Error;
    log(`skein map: the workers cannot run the task: ${error?.stack ?? String(error)}`);
    return 2;
  }
  const where = options.output === '-' ? 'stdout' : options.output;
  const kept = keptFailures > 0 ? ` (and ${count(keptFailures)} failed in an earlier run)` : '';
  log(`skein map: ${count(summary.ok)} ok, ${count(summary.failed)} failed${kept}; records in ${where}`);
  if (trouble.signalled) {
    const resumable = options.input !== '-' && options.output !== '-';
    log(`skein map: interrupted${resumable ? ': run the same command with --resume to finish' : ''}`);
    return trouble.signalled === 'SIGINT' ? 130 : 143;
  }
  if (summary.stopped === 'max-errors') {
    log('skein map: stopped by --max-errors: the lines not run have no record (--resume runs them)');
    return 1;
  }
  return summary.failed + keptFailures > 0 ? 1 : 0;
}

function count(n: number): string {
  return n.toLocaleString('en');
}
