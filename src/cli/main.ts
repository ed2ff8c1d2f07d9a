#!/usr/bin/env node
/** The `skein` command. */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { formatTable, runDemo } from './demo.js';

const USAGE = `usage: skein <command> [options]

commands:
  demo [--quick] [--json] [--workers N]   measure concurrency against parallelism on this machine

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

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (command === 'demo') return demo(rest);
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
