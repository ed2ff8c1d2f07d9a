#!/usr/bin/env node
/** The `skein` command. */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { formatTable, runDemo } from './demo.js';
import { mapCommand } from './map.js';

const USAGE = `usage: skein <command> [options]

commands:
  demo [--quick] [--json] [--workers N]   measure concurrency against parallelism on this machine
  worker --connection URL --module PATH [--module PATH ...] [--concurrency N]
         [--backend threads|processes|inline] [--workers N] [--queue NAME] [--prefix P]
         [--lock-duration MS] [--stalled-interval MS]
                                          run DistributedExecutor tasks from Redis on this machine
  map MODULE#EXPORT --input FILE --output FILE [...]
                                          run a function over every line of a JSON Lines file (map --help)

options:
  -h, --help    show this help`;

class UsageError extends Error {}

async function demo(args: string[]): Promise<void> {
  let values: { quick?: boolean; json?: boolean; workers?: string };
  try {
    ({ values } = parseArgs({
      args,
      options: { quick: { type: 'boolean' }, json: { type: 'boolean' }, workers: { type: 'string' } },
      strict: true,
    }));
  } catch (error) {
    throw new UsageError(`skein demo: ${(error as Error).message}`);
  }
  const workers = values.workers === undefined ? availableParallelism() : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) {
    throw new UsageError(`skein demo: --workers must be a whole number >= 1, got "${values.workers}"`);
  }
  const options = { quick: values.quick ?? false, json: values.json ?? false, workers };
  const rows = await runDemo(options, (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(
    options.json ? `${JSON.stringify({ workers, rows }, null, 2)}\n` : `${formatTable(rows, workers)}\n`,
  );
}

function wholeNumber(command: string, flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`skein ${command}: --${flag} must be a whole number >= ${min}, got "${value}"`);
  }
  return n;
}

async function worker(args: string[]): Promise<void> {
  let values: Record<string, string | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        connection: { type: 'string' },
        module: { type: 'string', multiple: true },
        concurrency: { type: 'string' },
        backend: { type: 'string' },
        workers: { type: 'string' },
        queue: { type: 'string' },
        prefix: { type: 'string' },
        'lock-duration': { type: 'string' },
        'stalled-interval': { type: 'string' },
      },
      strict: true,
    }));
  } catch (error) {
    throw new UsageError(`skein worker: ${(error as Error).message}`);
  }
  const connection = values.connection as string | undefined;
  if (!connection) throw new UsageError('skein worker: --connection URL is required (e.g. redis://127.0.0.1:6379)');
  const modules = (values.module as string[] | undefined) ?? [];
  if (modules.length === 0) throw new UsageError('skein worker: give at least one --module PATH whose exports it runs');
  const backend = (values.backend as string | undefined) ?? 'threads';
  if (backend !== 'threads' && backend !== 'processes' && backend !== 'inline') {
    throw new UsageError(`skein worker: --backend must be threads, processes or inline, got "${backend}"`);
  }
  const { startWorker } = await import('../distributed/worker.js');
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const running = await startWorker({
    connection,
    modules,
    backend,
    concurrency: wholeNumber('worker', 'concurrency', values.concurrency as string | undefined, 1),
    workers: wholeNumber('worker', 'workers', values.workers as string | undefined, 1),
    queue: values.queue as string | undefined,
    prefix: values.prefix as string | undefined,
    lockDuration: wholeNumber('worker', 'lock-duration', values['lock-duration'] as string | undefined, 1),
    stalledInterval: wholeNumber('worker', 'stalled-interval', values['stalled-interval'] as string | undefined, 1),
    log,
  });
  log(`skein worker: serving ${running.served.join(', ')} (pid ${process.pid})`);
  // Graceful stop: running jobs finish (or, after a second signal, are left to BullMQ to run again).
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log(`skein worker: ${signal}: finishing the running jobs`);
      process.once(signal, () => process.exit(130));
      void running.close().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  log('skein worker: stopped');
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (command === 'demo') return demo(rest);
  if (command === 'worker') return worker(rest);
  if (command === 'map') {
    process.exitCode = await mapCommand(rest);
    return;
  }
  throw new UsageError(`skein: unknown command "${command}"`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`skein: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
});
