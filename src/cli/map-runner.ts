/**
 * The scheduler of `skein map`: reads chunks of lines, runs them on a backend, and hands their
 * records to the writer, with bounded read-ahead, retries and `--max-errors`.
 *
 *   LineReader ──next(size)──► chunk ──backend.run()──► ChunkResult ──► RecordWriter
 *        ▲                       │  lost (worker died / timed out): its lines again, one per task
 *        │                       └─ failed lines with retries left: again, one per task
 *        └── only while fewer than MAX_IN_FLIGHT chunks run and MAX_UNWRITTEN lines wait
 *
 * Chunk size is measured, not configured: it starts at one line and grows so that a chunk takes
 * about TARGET_CHUNK_MS in a worker. Tiny functions then travel thousands of lines per message; a
 * function that takes a millisecond or more goes one line per task, so a worker that dies or a
 * timeout takes exactly its own line. When a chunk of several lines is lost, its lines are run
 * again one per task, so that only the line that killed the worker fails (the lines that had
 * finished in that worker before it died run a second time: `--chunk-size 1` rules that out).
 */
import type { ProgressReporter } from '../progress/reporter.js';
import type { LineReader } from './map-input.js';
import type { RecordWriter } from './map-output.js';
import { type FailureKind, failureKindOf, failureRecord, parseLine } from './map-records.js';
import type { ChunkResult } from './map-task.js';

const TARGET_CHUNK_MS = 2;
const MAX_CHUNK_LINES = 4096;
const MAX_CHUNK_BYTES = 1 << 20;
/** Lines read but not yet written at most: bounds memory, the `--keep-order` buffer included. */
const MAX_UNWRITTEN = 100_000;
/** `--max-errors P%` is judged only once this many lines have finished. */
const PERCENT_MIN_LINES = 100;

/** Runs chunks of lines somewhere: a local pool (map-backends.ts) or Redis workers. */
export interface ChunkBackend {
  /** Chunks in flight at most. */
  readonly maxInFlight: number;
  /** A fixed number of lines per chunk; undefined: sized from the measured time per line. */
  readonly chunkLines: number | undefined;
  /**
   * The records of lines first.. of `text` (`\n`-separated). Rejects when the chunk as a whole
   * is lost: its worker died, it timed out, it was cancelled.
   */
  run(first: number, text: string, signal: AbortSignal): Promise<ChunkResult>;
}

export interface MaxErrors {
  count?: number;
  percent?: number;
}

export interface MapRunOptions {
  reader: LineReader;
  writer: RecordWriter;
  backend: ChunkBackend;
  /** Times a failed line is tried again (not a line that is not JSON: it cannot succeed). */
  retries: number;
  /** Lines per chunk, fixed (`--chunk-size`). */
  chunkLines?: number;
  /** ms a line may run (sizes chunks so that one chunk stays well under it). */
  timeout?: number;
  maxErrors?: MaxErrors;
  idField?: string;
  progress?: ProgressReporter;
  /** Aborted on Ctrl-C: running chunks are stopped and no further line starts. */
  signal: AbortSignal;
}

/** How a run ended. */
export interface MapRunSummary {
  ok: number;
  failed: number;
  /** Why it stopped before the end of the input, if it did. */
  stopped?: 'interrupted' | 'max-errors';
  /** An error that made every further task impossible (a broken pool). */
  fatal?: unknown;
}

interface Work {
  first: number;
  count: number;
  text: string;
  /** Retries already made (for single lines). */
  attempt: number;
}

export class MapRun {
  private readonly singles: Work[] = [];
  private inFlight = 0;
  private exhausted = false;
  private stopped: MapRunSummary['stopped'];
  private fatal: unknown;
  private msPerLine: number | undefined;
  private lastChunk = 1;
  private ok = 0;
  private failed = 0;
  private wake: (() => void) | undefined;
  private readonly targetMs: number;

  constructor(private readonly options: MapRunOptions) {
    this.targetMs = Math.min(TARGET_CHUNK_MS, options.timeout === undefined ? Infinity : options.timeout / 10);
    options.signal.addEventListener('abort', () => this.stop('interrupted'), { once: true });
  }

  async run(): Promise<MapRunSummary> {
    const { reader, writer, backend } = this.options;
    for (;;) {
      while (
        !this.stopped &&
        this.inFlight < backend.maxInFlight &&
        writer.unwritten < MAX_UNWRITTEN &&
        !writer.congested
      ) {
        const single = this.singles.shift();
        if (single) {
          this.launch(single);
          continue;
        }
        if (this.exhausted) break;
        let chunk: Awaited<ReturnType<LineReader['next']>>;
        try {
          chunk = await reader.next(this.nextChunkLines(), MAX_CHUNK_BYTES);
        } catch (error) {
          if (this.stopped) break; // Ctrl-C while waiting for input: the input was closed under it
          throw error;
        }
        if (this.stopped) break;
        if (!chunk) this.exhausted = true;
        else if (chunk.text === undefined) writer.add(chunk.first, chunk.count, '');
        else this.launch({ first: chunk.first, count: chunk.count, text: chunk.text, attempt: 0 });
      }
      if (this.inFlight === 0) {
        if (this.stopped || (this.exhausted && this.singles.length === 0)) break;
        if (writer.congested) await writer.drained();
        continue;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    const summary: MapRunSummary = { ok: this.ok, failed: this.failed };
    if (this.stopped) summary.stopped = this.stopped;
    if (this.fatal !== undefined) summary.fatal = this.fatal;
    return summary;
  }

  private stop(why: 'interrupted' | 'max-errors'): void {
    this.stopped ??= why;
    this.wake?.();
  }

  private nextChunkLines(): number {
    const fixed = this.options.chunkLines ?? this.options.backend.chunkLines;
    if (fixed !== undefined) return fixed;
    if (this.msPerLine === undefined) return 1;
    const wanted = Math.floor(this.targetMs / Math.max(this.msPerLine, 1e-6));
    // Grow at most 16-fold per step: an early measurement (a cold JIT) is not trusted blindly.
    this.lastChunk = Math.max(1, Math.min(wanted, MAX_CHUNK_LINES, this.lastChunk * 16));
    return this.lastChunk;
  }

  private launch(work: Work): void {
    this.inFlight++;
    this.options.backend
      .run(work.first, work.text, this.options.signal)
      .then(
        (result) => this.finished(work, result),
        (error: unknown) => this.lost(work, error),
      )
      .catch((error: unknown) => {
        // A bug in the bookkeeping above must end the run, not leave it waiting forever.
        this.fatal ??= error;
        this.stop('interrupted');
      })
      .finally(() => {
        this.inFlight--;
        this.wake?.();
      });
  }

  private finished(work: Work, result: ChunkResult): void {
    if (work.count > 0) {
      const sample = result.ms / work.count;
      this.msPerLine = this.msPerLine === undefined ? sample : 0.7 * this.msPerLine + 0.3 * sample;
    }
    const again = result.failures.filter((f) => f.kind !== 'parse' && work.attempt < this.options.retries);
    if (again.length === 0) {
      this.options.writer.add(work.first, work.count, result.records);
      this.settled(work.count, result.failures.length);
      return;
    }
    // Some lines go again: write the records around them, as segments that leave their lines open.
    const lines = work.text.split('\n');
    let line = work.first;
    let offset = 0;
    for (const failure of again) {
      this.writeSegment(line, failure.line - line, result.records.slice(offset, failure.start));
      this.singles.push({
        first: failure.line,
        count: 1,
        text: lines[failure.line - work.first] as string,
        attempt: work.attempt + 1,
      });
      line = failure.line + 1;
      offset = failure.end;
    }
    this.writeSegment(line, work.first + work.count - line, result.records.slice(offset));
    this.settled(work.count - again.length, result.failures.length - again.length);
  }

  private writeSegment(first: number, count: number, text: string): void {
    if (count > 0) this.options.writer.add(first, count, text);
  }

  private lost(work: Work, error: unknown): void {
    const name = (error as { name?: unknown } | null)?.name;
    if (this.options.signal.aborted || name === 'CancelledError') return; // no record: --resume runs them
    if (name === 'BrokenExecutorError') {
      this.fatal ??= error;
      this.stop('interrupted');
      return;
    }
    if (work.count > 1) {
      // Which line was to blame is unknown: each goes again on its own (not counted as a retry).
      const lines = work.text.split('\n');
      lines.forEach((text, i) => {
        this.singles.push({ first: work.first + i, count: 1, text, attempt: work.attempt });
      });
      return;
    }
    if (work.attempt < this.options.retries) {
      this.singles.push({ ...work, attempt: work.attempt + 1 });
      return;
    }
    const kind: FailureKind = failureKindOf(error);
    if (kind === 'timeout') {
      // The executor's message names the chunk task; the user knows their line and --timeout.
      error = { name: 'TimeoutError', message: `the line ran longer than --timeout ${this.options.timeout} ms` };
    }
    const record = failureRecord(work.first, work.text, parseLine(work.text), error, kind, this.options.idField);
    this.options.writer.add(work.first, 1, record);
    this.settled(1, 1);
  }

  private settled(lines: number, failed: number): void {
    this.ok += lines - failed;
    this.failed += failed;
    this.options.progress?.tick(lines, failed);
    const limit = this.options.maxErrors;
    if (!limit || failed === 0) return;
    const done = this.ok + this.failed;
    if (
      (limit.count !== undefined && this.failed >= limit.count) ||
      (limit.percent !== undefined && done >= PERCENT_MIN_LINES && this.failed * 100 >= limit.percent * done)
    ) {
      this.stop('max-errors');
    }
  }
}
