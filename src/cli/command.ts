/**
 * How a `skein` subcommand is declared: its options (with the text `--help` prints for each), a
 * one-line summary for `skein --help`, and the function that runs it. The help text is generated from
 * the same declaration that `parseArgs` uses, so an option cannot exist without being described.
 * main.ts lists the commands; adding one is one line there.
 */
import { parseArgs } from 'node:util';

/** Wrong use of the command line (exit code 2, the command's usage printed after the message). */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage to print; undefined for `skein` itself. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** One `--option` of a command. */
export interface CommandOption {
  type: 'string' | 'boolean';
  /** What it does, for `--help`; say the default here. */
  description: string;
  /** The placeholder shown after a string option in `--help` (`N`, `URL`, `PATH`). */
  valueName?: string;
  short?: string;
  multiple?: boolean;
  required?: boolean;
}

/** The parsed command line as `parseArgs` gives it, before the command checks the values. */
export interface ParsedCommandLine {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  /** One line for `skein --help`. */
  summary: string;
  /** Positional arguments as shown in the usage line (`MODULE#EXPORT`); none when undefined. */
  positionals?: string;
  /** A paragraph or two printed under the usage line of `skein <name> --help`. */
  description: string;
  options: Record<string, CommandOption>;
  /** Runs the command; throw UsageError for bad input. */
  run(parsed: ParsedCommandLine): Promise<void>;
}

const HELP_OPTION: CommandOption = { type: 'boolean', short: 'h', description: 'show this help' };

function optionLabel(name: string, option: CommandOption): string {
  const long = option.type === 'string' ? `--${name} ${option.valueName ?? 'VALUE'}` : `--${name}`;
  return option.short ? `-${option.short}, ${long}` : `    ${long}`;
}

/** `text` broken into lines of at most `width` characters (a longer word keeps its own line). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** Lines "  label   text", the texts aligned and wrapped under each other. */
export function formatDefinitions(entries: [label: string, text: string][], width = 100): string {
  const labelWidth = Math.max(...entries.map(([label]) => label.length)) + 3;
  const indent = ' '.repeat(labelWidth + 2);
  return entries
    .map(([label, text]) => `  ${label.padEnd(labelWidth)}${wrap(text, width - indent.length).join(`\n${indent}`)}`)
    .join('\n');
}

export function usageLine(command: Command): string {
  const required = Object.entries(command.options)
    .filter(([, option]) => option.required)
    .map(([name, option]) => `--${name} ${option.valueName ?? 'VALUE'}`);
  return ['usage: skein', command.name, command.positionals, ...required, '[options]'].filter(Boolean).join(' ');
}

/** The full `skein <name> --help` text. */
export function commandHelp(command: Command): string {
  const options = { ...command.options, help: HELP_OPTION };
  const entries = Object.entries(options).map(([name, option]): [string, string] => {
    const marks = [option.required && 'required', option.multiple && 'repeatable'].filter(Boolean);
    return [
      optionLabel(name, option),
      marks.length ? `${option.description} (${marks.join(', ')})` : option.description,
    ];
  });
  const description = wrap(command.description, 100).join('\n');
  return `${usageLine(command)}\n\n${description}\n\noptions:\n${formatDefinitions(entries)}`;
}

/**
 * Parses `args` for `command`. Returns undefined when `--help` was asked for (the help is printed);
 * throws UsageError for an unknown option, a missing value or a missing required option.
 */
export function parseCommandLine(command: Command, args: string[]): ParsedCommandLine | undefined {
  const options = { ...command.options, help: HELP_OPTION };
  let parsed: ParsedCommandLine;
  try {
    parsed = parseArgs({
      args,
      options: Object.fromEntries(
        Object.entries(options).map(([name, { type, short, multiple }]) => [
          name,
          { type, ...(short ? { short } : {}), ...(multiple ? { multiple } : {}) },
        ]),
      ),
      allowPositionals: command.positionals !== undefined,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`skein ${command.name}: ${(error as Error).message}`, command.name);
  }
  if (parsed.values.help) {
    process.stdout.write(`${commandHelp(command)}\n`);
    return undefined;
  }
  for (const [name, option] of Object.entries(command.options)) {
    if (option.required && parsed.values[name] === undefined) {
      throw new UsageError(`skein ${command.name}: --${name} ${option.valueName ?? 'VALUE'} is required`, command.name);
    }
  }
  return parsed;
}

/** A string option's value, or undefined when it was not given. */
export function stringOption(parsed: ParsedCommandLine, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A repeatable string option's values (empty when it was not given). */
export function stringsOption(parsed: ParsedCommandLine, name: string): string[] {
  const value = parsed.values[name];
  const values = Array.isArray(value) ? value : [value];
  return values.filter((v): v is string => typeof v === 'string');
}

/** A whole-number option's value, or undefined when it was not given; anything else is a UsageError. */
export function wholeNumberOption(
  command: string,
  parsed: ParsedCommandLine,
  name: string,
  min: number,
): number | undefined {
  const value = stringOption(parsed, name);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new UsageError(`skein ${command}: --${name} must be a whole number >= ${min}, got "${value}"`, command);
  }
  return n;
}
