/** Running the built `skein map` (under tsx, for the .ts task fixtures) and reading what it wrote. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
export const TASKS = 'test/fixtures/map-tasks.ts';

export interface MapRecord {
  line: number;
  ok: boolean;
  id?: unknown;
  result?: unknown;
  error?: { name: string; message: string; kind: string };
  input?: unknown;
  inputTruncated?: boolean;
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface StartOptions {
  stdin?: string;
  env?: Record<string, string>;
  /** The run is killed (and the test fails) after this long. */
  timeoutMs?: number;
}

/** `skein map ...args` as a child process; `done` settles when it exits. */
export function startMap(args: string[], options: StartOptions = {}): { child: ChildProcess; done: Promise<Finished> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'map', ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  else child.stdin?.end();
  const done = new Promise<Finished>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`skein map ${args.join(' ')} did not finish in time; stderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      // 'exit' can come before the pipes are drained; 'close' is after both.
      child.once('close', () => resolve({ code, stdout, stderr }));
      if (child.stdout?.readableEnded && child.stderr?.readableEnded) resolve({ code, stdout, stderr });
    });
  });
  return { child, done };
}

export function runMap(args: string[], options: StartOptions = {}): Promise<Finished> {
  return startMap(args, options).done;
}

/** A fresh temporary folder, removed by the returned function. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'skein-map-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeLines(path: string, values: unknown[]): void {
  writeFileSync(path, values.map((v) => `${JSON.stringify(v)}\n`).join(''));
}

/** The records of an output file (or stdout text); each line must be one JSON object. */
export function records(text: string): MapRecord[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as MapRecord);
}

export function readRecords(path: string): MapRecord[] {
  return records(readFileSync(path, 'utf8'));
}

/** The values a counted task saw, one per run (see countRun in the fixtures). */
export function runs(path: string): unknown[] {
  return existsSync(path) ? records(readFileSync(path, 'utf8')) : [];
}

/** Exactly one record per line 1..n, all ok. */
export function assertOneOkRecordPerLine(all: MapRecord[], n: number): void {
  const lines = all.map((r) => r.line).sort((a, b) => a - b);
  assert.deepEqual(
    lines,
    Array.from({ length: n }, (_, i) => i + 1),
    'each line must have exactly one record',
  );
  const failed = all.filter((r) => !r.ok);
  assert.deepEqual(failed, [], 'no record may be a failure');
}
