/** `skein map`'s command line: its help text, and its flags checked into one options object. */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { MapUsageError } from './map-resume.js';
import type { MaxErrors } from './map-runner.js';

export const MAP_HELP = `usage: skein map MODULE#EXPORT --input FILE|- --output FILE|- [options]

Runs a function over every line of a JSON Lines file on a pool of workers, and writes one record
per line, in completion order unless --keep-order:
  {"line":N,"ok":true,"result":...}
  {"line":N,"ok":false,"error":{"name":"...","message":"...","kind":"..."},"input":...}
kind: parse (the line is not JSON), task (the function threw), worker-exit (its worker died),
timeout (--timeout). Lines are numbered from 1.

  MODULE#EXPORT        the task: a module (./tasks.js; a .ts module when run under tsx) and the name
                       of an exported function taking one line's JSON value (no #: the default export)

options:
  -i, --input FILE     the JSON Lines to read, one JSON value per line; - reads stdin
  -o, --output FILE    where the records go; - writes them to stdout (and nothing else goes there)
  -w, --workers N      workers of a local pool (default: the number of CPUs, ${availableParallelism()} here)
  --backend B          threads (default), processes (a process per worker: a crash or a leak stays in
                       it), or redis (skein worker processes on any machine that reaches --connection)
  --connection URL     the Redis of --backend redis, e.g. redis://127.0.0.1:6379
  --queue NAME         --backend redis: the BullMQ queue the workers serve (default skein)
  --prefix P           --backend redis: the Redis key prefix (default skein)
  --retries N          run a failed line again, up to N times (not a line that is not JSON); default 0
  --timeout MS         stop a line running longer than MS ms (its worker is replaced); kind "timeout";
                       a line that shares its task with others is stopped within 1.1 x MS
  --resume             continue an earlier run into the same output: skip lines that have a record,
                       drop a record torn by a kill; refused if the input changed since (its size and
                       a hash of its first MiB are kept in OUTPUT.skein-map.json)
  --retry-failed       like --resume, and run the lines whose record is a failure again (their old
                       records are removed, so every line keeps one record)
  --keep-order         write the records in input order (a slow line holds back the ones after it)
  --max-errors N|P%    stop starting lines once N lines failed, or once P% of the finished lines
                       failed (judged from 100 finished lines on); running lines finish; exit 1
  --id-field NAME      copy that field of each input object into its record, as "id"
  --chunk-size N       lines per task (default: sized from measured time, ~20 ms of work per task,
                       at most 4,096 lines); whatever the size, a worker that dies fails only the
                       line it was running and no other line runs twice
  -q, --quiet          no progress on stderr (a bar on a terminal, else a line every 10 s)
  -h, --help           show this help

exit status: 0 every line ok; 1 some line failed (also one kept from an earlier run), or --max-errors
stopped the run; 2 a usage or I/O error; 130 interrupted by Ctrl-C, after writing every finished
record and stopping the workers (a second Ctrl-C quits at once). Run the same command with --resume
to finish an interrupted run.`;

export type MapBackendName = 'threads' | 'processes' | 'redis';

export interface MapCommandOptions {
  /** MODULE#EXPORT as given. */
  task: string;
  input: string;
  output: string;
  workers: number;
  backend: MapBackendName;
  connection: string | undefined;
  queue: string | undefined;
  prefix: string | undefined;
  retries: number;
  timeout: number | undefined;
  resume: boolean;
  retryFailed: boolean;
  keepOrder: boolean;
  maxErrors: MaxErrors | undefined;
  idField: string | undefined;
  chunkSize: number | undefined;
  quiet: boolean;
}

function wholeNumber(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new MapUsageError(`--${flag} must be a whole number >= ${min}, got "${value}"`);
  }
  return n;
}

function maxErrors(value: string | undefined): MaxErrors | undefined {
  if (value === undefined) return undefined;
  if (value.endsWith('%')) {
    const percent = Number(value.slice(0, -1));
    if (value.length === 1 || !(percent > 0 && percent <= 100)) {
      throw new MapUsageError(`--max-errors P% needs 0 < P <= 100, got "${value}"`);
    }
    return { percent };
  }
  const count = wholeNumber('max-errors', value, 1);
  return count === undefined ? undefined : { count };
}

/** `null` when help was asked for; throws MapUsageError saying what is wrong. */
export function parseMapArgs(args: string[]): MapCommandOptions | null {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw new MapUsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return null;
  if (positionals.length !== 1) {
    throw new MapUsageError(
      positionals.length === 0
        ? 'give the task as MODULE#EXPORT, e.g. skein map ./tasks.js#enrich --input in.jsonl --output out.jsonl'
        : `give one task (MODULE#EXPORT), got ${positionals.length}: ${positionals.join(' ')}`,
    );
  }
  if (values.input === undefined) throw new MapUsageError('--input FILE is required (- reads stdin)');
  if (values.output === undefined) throw new MapUsageError('--output FILE is required (- writes stdout)');
  const backend = values.backend ?? 'threads';
  if (backend !== 'threads' && backend !== 'processes' && backend !== 'redis') {
    throw new MapUsageError(`--backend must be threads, processes or redis, got "${backend}"`);
  }
  if (backend === 'redis' && !values.connection) {
    throw new MapUsageError('--backend redis needs --connection URL (e.g. redis://127.0.0.1:6379)');
  }
  if (backend !== 'redis') {
    for (const flag of ['connection', 'queue', 'prefix'] as const) {
      if (values[flag] !== undefined) throw new MapUsageError(`--${flag} is for --backend redis only`);
    }
  }
  const resume = values.resume === true || values['retry-failed'] === true;
  if (resume && values.output === '-') {
    throw new MapUsageError('--resume needs --output to be a file: what was written to stdout cannot be read back');
  }
  if (resume && values.input === '-') {
    throw new MapUsageError('--resume needs --input to be a file: stdin cannot be checked to be the same input');
  }
  if (values.input !== '-' && values.input === values.output) {
    throw new MapUsageError('--input and --output are the same file');
  }
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && !(timeout > 0 && Number.isFinite(timeout))) {
    throw new MapUsageError(`--timeout must be a number of milliseconds > 0, got "${values.timeout}"`);
  }
  if (values['id-field'] === '') throw new MapUsageError('--id-field needs a field name');
  return {
    task: positionals[0] as string,
    input: values.input,
    output: values.output,
    workers: wholeNumber('workers', values.workers, 1) ?? availableParallelism(),
    backend,
    connection: values.connection,
    queue: values.queue,
    prefix: values.prefix,
    retries: wholeNumber('retries', values.retries, 0) ?? 0,
    timeout,
    resume,
    retryFailed: values['retry-failed'] === true,
    keepOrder: values['keep-order'] === true,
    maxErrors: maxErrors(values['max-errors']),
    idField: values['id-field'],
    chunkSize: wholeNumber('chunk-size', values['chunk-size'], 1),
    quiet: values.quiet === true,
  };
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      input: { type: 'string', short: 'i' },
      output: { type: 'string', short: 'o' },
      workers: { type: 'string', short: 'w' },
      backend: { type: 'string' },
      connection: { type: 'string' },
      queue: { type: 'string' },
      prefix: { type: 'string' },
      retries: { type: 'string' },
      timeout: { type: 'string' },
      resume: { type: 'boolean' },
      'retry-failed': { type: 'boolean' },
      'keep-order': { type: 'boolean' },
      'max-errors': { type: 'string' },
      'id-field': { type: 'string' },
      'chunk-size': { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
