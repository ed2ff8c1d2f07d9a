/**
 * Where `skein map` runs its chunks: a local ThreadPoolExecutor or ProcessPoolExecutor (a chunk is
 * one `submitWith` of map-task.ts's `mapChunk`, with a journal that outlives its worker:
 * map-journal.ts), or Redis workers through a DistributedExecutor
 * (each line is one `submitWith` of the user's own function: a `skein worker` runs only exports of
 * the modules it was started with, so it could not run `mapChunk`).
 */
import { connectionOptions } from '../distributed/connection.js';
import type { Executor } from '../futures/base.js';
import type { Journals } from './map-journal.js';
import { failureKindOf, failureRecord, okRecord, parseLine } from './map-records.js';
import { MapUsageError } from './map-resume.js';
import type { ChunkBackend, ChunkOutcome } from './map-runner.js';
import { type ChunkFailure, mapChunk } from './map-task.js';

/** The user's function, loaded and checked in the parent. */
export interface LoadedTask {
  fn: (input: unknown) => unknown;
  /** The module's URL and the export path to the function in it, for the workers. */
  moduleUrl: string;
  exportPath: string[];
}

export interface BackendOptions {
  task: LoadedTask;
  timeout: number | undefined;
  idField: string | undefined;
}

/** The failures among journaled records (read back only for a chunk that was lost). */
function failuresIn(records: string): ChunkFailure[] {
  const failures: ChunkFailure[] = [];
  for (const text of records.split('\n')) {
    if (text === '') continue;
    const record = JSON.parse(text) as { line: number; ok: boolean; error?: { kind: ChunkFailure['kind'] } };
    if (!record.ok) failures.push({ line: record.line, kind: record.error?.kind ?? 'task' });
  }
  return failures;
}

/** A local pool: chunks sized by the runner, records written (and journaled) in the workers. */
export class PoolChunkBackend implements ChunkBackend {
  readonly maxInFlight: number;
  readonly chunkLines = undefined;

  constructor(
    private readonly pool: Executor,
    workers: number,
    private readonly journals: Journals,
    private readonly options: BackendOptions,
  ) {
    // Four chunks per worker: enough for none to wait on the parent, few enough to bound memory.
    this.maxInFlight = workers * 4;
  }

  async run(first: number, count: number, text: string, signal: AbortSignal): Promise<ChunkOutcome> {
    const { task, timeout, idField } = this.options;
    // A line of a batch starts only within the first tenth of --timeout from the batch's start,
    // and the batch gets that tenth on top: every line gets its whole --timeout, and is stopped
    // at most a tenth later than it would be alone.
    const yieldAfter = timeout !== undefined && count > 1 ? timeout / 10 : undefined;
    const chunkTimeout = timeout === undefined ? undefined : timeout + (yieldAfter ?? 0);
    const journal = this.journals.acquire();
    try {
      const result = await this.pool.submitWith(
        { timeout: chunkTimeout, signal },
        mapChunk,
        task.moduleUrl,
        task.exportPath,
        first,
        text,
        idField,
        journal,
        yieldAfter,
      );
      const journaled = this.journals.records(journal);
      this.journals.release(journal);
      if (journaled !== '') result.records = journaled + result.records;
      return result;
    } catch (error) {
      const name = (error as { name?: unknown } | null)?.name;
      if (name === 'BrokenExecutorError') throw error;
      const salvage = await this.journals.salvage(journal, name === 'WorkerExitedError');
      return {
        records: salvage.records,
        failures: failuresIn(salvage.records),
        lines: salvage.committed,
        ms: 0,
        lost: { error, running: salvage.running && salvage.committed < count },
      };
    }
  }
}

/** Lines per chunk on Redis: each line is its own job; a chunk only groups their bookkeeping. */
const REDIS_CHUNK_LINES = 32;

/** Redis workers: one job per line, records written here. */
export class DistributedChunkBackend implements ChunkBackend {
  readonly maxInFlight = 16;
  readonly chunkLines = REDIS_CHUNK_LINES;

  constructor(
    private readonly executor: Executor,
    private readonly options: BackendOptions,
  ) {}

  async run(first: number, count: number, text: string, signal: AbortSignal): Promise<ChunkOutcome> {
    const { task, timeout, idField } = this.options;
    const started = performance.now();
    const lines = text.split('\n');
    const parsed = lines.map(parseLine);
    const outcomes = await Promise.allSettled(
      parsed.map((p) =>
        p.ok ? Promise.resolve(this.executor.submitWith({ timeout, signal }, task.fn, p.value)) : undefined,
      ),
    );
    if (signal.aborted) throw signal.reason;
    let records = '';
    const failures: ChunkFailure[] = [];
    outcomes.forEach((outcome, i) => {
      const line = first + i;
      const lineText = lines[i] as string;
      const p = parsed[i] as ReturnType<typeof parseLine>;
      let record: string | undefined;
      let error: unknown;
      if (!p.ok) error = p.error;
      else if (outcome.status === 'rejected') error = outcome.reason;
      else {
        try {
          record = okRecord(line, p.value, outcome.value, idField);
        } catch (notJson) {
          error = notJson;
        }
      }
      if (record === undefined) {
        const kind = p.ok ? failureKindOf(error) : 'parse';
        record = failureRecord(line, lineText, p, error, kind, idField);
        failures.push({ line, kind });
      }
      records += record;
    });
    return { records, failures, lines: count, ms: performance.now() - started };
  }
}

/** How long `--connection` may take to answer before the run is refused. */
const REDIS_CHECK_MS = 5000;

/**
 * Checks that the Redis of `--backend redis` answers, once, before anything starts: BullMQ's
 * connections retry forever, so an unreachable Redis would otherwise be a run that waits silently.
 */
export async function checkRedis(connection: string): Promise<void> {
  let options: ReturnType<typeof connectionOptions>;
  try {
    options = connectionOptions(connection);
  } catch (error) {
    throw new MapUsageError(`--connection: ${(error as Error).message}`);
  }
  const { Redis } = await import('ioredis');
  const client = new Redis({
    ...options,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: REDIS_CHECK_MS,
  });
  client.on('error', () => {}); // the failure is reported by ping() below
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new MapUsageError(`cannot reach Redis at ${connection}: ${(error as Error).message}`);
  } finally {
    client.disconnect();
  }
}
