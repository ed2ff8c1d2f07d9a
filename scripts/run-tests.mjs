#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's own test runner under tsx (Node 20's `--test` does
// not expand globs itself). Extra arguments are passed on, e.g. `--test-name-pattern`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const files = readdirSync('test', { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts'))
  .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
  .sort();
const only = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const flags = process.argv.slice(2).filter((arg) => arg.startsWith('--'));
const selected = only.length > 0 ? only : files;
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...flags, ...selected],
  {
    stdio: 'inherit',
  },
);
process.exit(result.status ?? 1);
