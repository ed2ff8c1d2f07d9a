#!/usr/bin/env node
/**
 * The `skein` command: finds the subcommand, parses its options, runs it. Each command declares its
 * options and help text in its own file; to add one, import it and add it to COMMANDS.
 */
import { readFileSync } from 'node:fs';
import { type Command, commandHelp, formatDefinitions, parseCommandLine, UsageError, usageLine } from './command.js';
import { demoCommand } from './demo.js';
import { workerCommand } from './worker.js';

const COMMANDS: readonly Command[] = [demoCommand, workerCommand];

/** The installed package's version: dist/cli/main.js sits two folders below package.json. */
function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

function mainHelp(): string {
  return [
    `skein ${version()}: Python's concurrency vocabulary for Node.js`,
    '',
    'usage: skein <command> [options]',
    '',
    'commands:',
    formatDefinitions(COMMANDS.map((command) => [command.name, command.summary])),
    '',
    'options:',
    formatDefinitions([
      ['-h, --help', 'show this help; skein <command> --help shows that command and its options'],
      ['-V, --version', "print skein's version"],
    ]),
  ].join('\n');
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    throw new UsageError(`skein: unknown command "${name}" (the commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
  }
  return command;
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || (name === 'help' && rest[0] === undefined)) {
    process.stdout.write(`${mainHelp()}\n`);
    return;
  }
  if (name === '-V' || name === '--version') {
    process.stdout.write(`${version()}\n`);
    return;
  }
  // `skein help worker` is `skein worker --help`
  const command = findCommand(name === 'help' ? (rest[0] as string) : name);
  if (name === 'help') {
    process.stdout.write(`${commandHelp(command)}\n`);
    return;
  }
  const parsed = parseCommandLine(command, rest);
  if (parsed) await command.run(parsed);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    const command = COMMANDS.find((c) => c.name === error.command);
    const hint = command
      ? `${usageLine(command)}\nRun "skein ${command.name} --help" to see every option.`
      : 'usage: skein <command> [options]\nRun "skein --help" to see the commands.';
    process.stderr.write(`${error.message}\n\n${hint}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`skein: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
});
