/**
 * The scheduler of `skein map`: reads chunks of lines, runs them on a backend, and hands their
 * records to the writer, with bounded read-ahead, retries and `--max-errors`.
 *
 *   LineReader ──next(size)──► chunk ──backend.run()──► ChunkOutcome ──► RecordWriter
 *        ▲                       │  lost (worker died / timed out): the lines that finished keep
 *        │                       │  their records (the chunk's journal), the running line fails or
 *        │                       │  is retried, the lines never started go again as a chunk
 *        │                       └─ failed lines with retries left: again, one per task
 *        └── only while fewer than maxInFlight chunks run and MAX_UNWRITTEN lines wait
 *
 * Chunk size is measured, not configured: it starts at one line and grows so that a chunk takes
 * about TARGET_CHUNK_MS in a worker. Tiny functions then travel thousands of lines per message; a
 * function that takes a millisecond or more goes one line per task. Batching costs no exactness:
 * each line's record is journaled as it finishes (map-journal.ts), so a worker that dies in the
 * middle of a chunk fails only the line it was running and no line runs twice unless retried.
 */
import type { ProgressReporter } from '../progress/reporter.js';
import type { LineReader } from './map-input.js';
import type { RecordWriter } from './map-output.js';
import { type FailureKind, failureKindOf, failureRecord, parseLine } from './map-records.js';
import type { ChunkResult } from './map-task.js';

/** What became of a chunk: the records of the lines that ran, and, if it did not answer, why. */
export interface ChunkOutcome extends ChunkResult {
  /**
   * Set when the chunk was lost (its worker died, it timed out, it was stopped): `error` says why,
   * `running` whether line `first + lines` had started (that line is the one the chunk was lost in).
   * The lines after it never started.
   */
  lost?: { error: unknown; running: boolean };
}

const TARGET_CHUNK_MS = 20;
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
   * Runs the `count` lines of `text` (`\n`-separated), the first numbered `first`. Resolves what
   * became of them (a lost chunk included); rejects only when none of its lines can be accounted
   * for (a broken pool, or a backend that cannot tell, stopped by `signal`).
   */
  run(first: number, count: number, text: string, signal: AbortSignal): Promise<ChunkOutcome>;
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

/** Lines [from, from + count) of `work`, as a Work of their own. */
function slice(work: Work, lines: string[], from: number, count: number, attempt = work.attempt): Work {
  const at = from - work.first;
  return { first: from, count, text: lines.slice(at, at + count).join('\n'), attempt };
}

export class MapRun {
  /** Lines to run again: failed lines with retries left, lines a lost chunk never started. */
  private readonly again: Work[] = [];
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
        const again = this.again.shift();
        if (again) {
          this.launch(again);
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
        if (this.stopped || (this.exhausted && this.again.length === 0)) break;
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
      .run(work.first, work.count, work.text, this.options.signal)
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

  private finished(work: Work, outcome: ChunkOutcome): void {
    const ran = outcome.lines;
    if (ran > 0 && !outcome.lost) {
      const sample = outcome.ms / ran;
      this.msPerLine = this.msPerLine === undefined ? sample : 0.7 * this.msPerLine + 0.3 * sample;
    }
    let lines: string[] | undefined;
    const linesOf = () => {
      lines ??= work.text.split('\n');
      return lines;
    };
    this.ran(work, outcome, linesOf);
    let next = work.first + ran;
    const end = work.first + work.count;
    if (outcome.lost?.running && next < end) {
      this.failRunning(slice(work, linesOf(), next, 1), outcome.lost.error);
      next++;
    }
    // Never started (the chunk ended early, or was lost before them): they go again, as a chunk.
    if (next < end) this.again.push(slice(work, linesOf(), next, end - next));
  }

  /** Writes the records of the lines a chunk ran; failed lines with retries left go again. */
  private ran(work: Work, outcome: ChunkOutcome, linesOf: () => string[]): void {
    const count = outcome.lines;
    if (count === 0) return;
    const again = outcome.failures.filter((f) => f.kind !== 'parse' && work.attempt < this.options.retries);
    if (again.length === 0) {
      this.options.writer.add(work.first, count, outcome.records);
      this.settled(count, outcome.failures.length);
      return;
    }
    // Some lines go again: write the records around them, as segments that leave their lines open.
    const records = outcome.records.split('\n'); // one per line, in line order (and a last '')
    const segment = (from: number, to: number) =>
      this.writeSegment(from, to - from, `${records.slice(from - work.first, to - work.first).join('\n')}\n`);
    let line = work.first;
    for (const failure of again) {
      segment(line, failure.line);
      this.again.push(slice(work, linesOf(), failure.line, 1, work.attempt + 1));
      line = failure.line + 1;
    }
    segment(line, work.first + count);
    this.settled(count - again.length, outcome.failures.length - again.length);
  }

  private writeSegment(first: number, count: number, text: string): void {
    if (count > 0) this.options.writer.add(first, count, text);
  }

  /** A chunk that could not be accounted for at all (a broken pool, a stopped Redis chunk). */
  private lost(_work: Work, error: unknown): void {
    const name = (error as { name?: unknown } | null)?.name;
    if (name === 'BrokenExecutorError') {
      this.fatal ??= error;
      this.stop('interrupted');
      return;
    }
    if (this.options.signal.aborted || name === 'CancelledError') return; // no record: --resume runs them
    // A backend rejects only as above; anything else is a bug that must not pass unseen.
    this.fatal ??= error;
    this.stop('interrupted');
  }

  /** The line a lost chunk was running: it failed with the chunk's error, or goes again. */
  private failRunning(work: Work, error: unknown): void {
    const name = (error as { name?: unknown } | null)?.name;
    if (this.options.signal.aborted || name === 'CancelledError') return; // no record: --resume runs it
    if (name === 'BrokenExecutorError') {
      this.lost(work, error);
      return;
    }
    if (work.attempt < this.options.retries) {
      this.again.push({ ...work, attempt: work.attempt + 1 });
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
