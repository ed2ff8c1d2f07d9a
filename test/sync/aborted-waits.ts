/** Runs test/fixtures/aborted-waits.ts in a child process with a GC we can call (`--expose-gc`). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export interface AbortedWaitsReport {
  kind: string;
  count: number;
  /** Heap growth after the aborted waits, after a full GC (MB). */
  grewMb: number;
  /** Condition only: ms from the next notify to the live waiter waking. */
  notifyMs?: number;
}

export async function abortedWaits(kind: string, count: number): Promise<AbortedWaitsReport> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', 'test/fixtures/aborted-waits.ts', kind, String(count)],
    { timeout: 120_000 },
  );
  return JSON.parse(stdout.trim().split('\n').pop() as string) as AbortedWaitsReport;
}
