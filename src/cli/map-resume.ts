/**
 * `--resume`: what an earlier run of `skein map` already wrote, and whether its input is still
 * the same file.
 *
 * - The output is scanned record by record. Each record starts `{"line":N,"ok":true|false`, so its
 *   fate is read from its first bytes; results are never parsed. A last line with no newline was
 *   torn by a kill mid-write: it is cut off the file before anything is appended.
 * - A sidecar file next to the output (`<output>.skein-map.json`) keeps the input's size and a
 *   SHA-256 of its first MiB from when the output was started. Line numbers only mean something
 *   for the same input, so a changed input is refused rather than silently mixed.
 * - `--retry-failed` rewrites the output without its failure records (to a temporary file, then
 *   renamed over it: a kill during the rewrite loses nothing), so each line keeps one record.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readFile, rename, stat, truncate, writeFile } from 'node:fs/promises';

const NEWLINE = 0x0a;
const HEAD_BYTES = 1 << 20;
const RECORD_START = /^\{"line":(\d+),"ok":(true|false)[,}]/;

/** A problem the user must fix (exit code 2). */
export class MapUsageError extends Error {
  override name = 'MapUsageError';
}

/** What identifies an input file: its size and a hash of its head. */
export interface InputIdentity {
  size: number;
  head: string;
}

interface Sidecar extends InputIdentity {
  version: 1;
  input: string;
  task: string;
}

export function sidecarPath(output: string): string {
  return `${output}.skein-map.json`;
}

export async function inputIdentity(path: string): Promise<InputIdentity> {
  const { size } = await stat(path);
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
    await file.read(head, 0, head.length, 0);
    return { size, head: createHash('sha256').update(head).digest('hex') };
  } finally {
    await file.close();
  }
}

/** Records the input's identity for a later `--resume` (written when an output is started). */
export async function writeSidecar(
  output: string,
  input: string,
  task: string,
  identity: InputIdentity,
): Promise<void> {
  const sidecar: Sidecar = { version: 1, input, task, ...identity };
  await writeFile(sidecarPath(output), `${JSON.stringify(sidecar, null, 2)}\n`);
}

/** Refuses to resume over an input that is not the one the output was started from. */
export async function checkSidecar(output: string, identity: InputIdentity): Promise<void> {
  let sidecar: Sidecar;
  try {
    sidecar = JSON.parse(await readFile(sidecarPath(output), 'utf8')) as Sidecar;
  } catch {
    throw new MapUsageError(
      `cannot resume ${output}: ${sidecarPath(output)} (which says what input it was started from) is missing or ` +
        'unreadable. Run without --resume to start over.',
    );
  }
  if (sidecar.size !== identity.size || sidecar.head !== identity.head) {
    const what =
      sidecar.size !== identity.size
        ? `its size went from ${sidecar.size} to ${identity.size} bytes`
        : 'its first MiB differs';
    throw new MapUsageError(
      `cannot resume ${output}: the input changed since that output was started (${what}), so its line numbers ` +
        'no longer match. Give the original input, or run without --resume to start over.',
    );
  }
}

/** Line numbers with a record in the output, one byte per line: 0 none, 1 ok, 2 failed. */
export class LineStates {
  private states = new Uint8Array(1024);
  ok = 0;
  failed = 0;

  set(line: number, state: 1 | 2): void {
    if (line >= this.states.length) {
      const grown = new Uint8Array(Math.max(line + 1, this.states.length * 2));
      grown.set(this.states);
      this.states = grown;
    }
    const before = this.states[line];
    if (before === 1) this.ok--;
    else if (before === 2) this.failed--;
    this.states[line] = state;
    if (state === 1) this.ok++;
    else this.failed++;
  }

  get(line: number): number {
    return this.states[line] ?? 0;
  }
}

/** Reads every complete record of `output`, cutting off a torn last line. */
export async function scanOutput(output: string): Promise<LineStates> {
  const states = new LineStates();
  let carry: Buffer = Buffer.alloc(0);
  let offset = 0; // bytes of the file before `carry`
  let recordNumber = 0;
  for await (const data of createReadStream(output, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const buffer = carry.length === 0 ? data : Buffer.concat([carry, data]);
    let start = 0;
    for (let newline = buffer.indexOf(NEWLINE); newline >= 0; newline = buffer.indexOf(NEWLINE, start)) {
      recordNumber++;
      const match = RECORD_START.exec(buffer.toString('utf8', start, Math.min(newline, start + 40)));
      if (!match) {
        throw new MapUsageError(
          `cannot resume ${output}: its line ${recordNumber} is not a skein map record. Is it the right file?`,
        );
      }
      states.set(Number(match[1]), match[2] === 'true' ? 1 : 2);
      start = newline + 1;
    }
    offset += start;
    carry = buffer.subarray(start);
  }
  if (carry.length > 0) await truncate(output, offset); // a record torn by a kill mid-write
  return states;
}

/** Rewrites `output` keeping only its ok records (`--retry-failed`), atomically. */
export async function dropFailureRecords(output: string): Promise<void> {
  const temporary = `${output}.skein-map-rewrite`;
  const out = createWriteStream(temporary);
  let carry: Buffer = Buffer.alloc(0);
  for await (const data of createReadStream(output, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const buffer = carry.length === 0 ? data : Buffer.concat([carry, data]);
    let start = 0;
    const kept: Buffer[] = [];
    for (let newline = buffer.indexOf(NEWLINE); newline >= 0; newline = buffer.indexOf(NEWLINE, start)) {
      const match = RECORD_START.exec(buffer.toString('utf8', start, Math.min(newline, start + 40)));
      if (match?.[2] === 'true') kept.push(buffer.subarray(start, newline + 1));
      start = newline + 1;
    }
    carry = buffer.subarray(start);
    if (kept.length > 0 && !out.write(Buffer.concat(kept))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  await rename(temporary, output);
}
