/**
 * The one writer of `skein map`'s output, in the parent. Records arrive as segments: the text of
 * the records of consecutive lines [first, first + count). Without `--keep-order` a segment is
 * written as it arrives (completion order); with it, segments wait in a reorder buffer until every
 * line before them is written. The buffer is bounded by the runner, which reads no further input
 * while too many lines are read but not yet written (`unwritten`).
 *
 * Writes are batched (~64 KiB) because one `write` per record costs more than the record, but no
 * record waits more than FLUSH_MS: a slow run's records reach the file (and survive a kill -9)
 * while it runs.
 */
import { once } from 'node:events';

const FLUSH_BYTES = 64 * 1024;
const FLUSH_MS = 200;

interface Segment {
  count: number;
  text: string;
}

export class RecordWriter {
  private pending: string[] = [];
  private pendingBytes = 0;
  private nextLine = 1; // --keep-order: the first line not yet written
  private readonly waiting = new Map<number, Segment>();
  private written = 0;
  private accepted = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: NodeJS.WritableStream & { writableNeedDrain?: boolean },
    private readonly ordered: boolean,
  ) {}

  /** Lines accepted (or skipped) but not yet handed to the stream: what the reorder buffer holds. */
  get unwritten(): number {
    return this.accepted - this.written;
  }

  /** True while the stream asks writers to wait for 'drain'. */
  get congested(): boolean {
    return this.stream.writableNeedDrain === true;
  }

  /** The records of lines [first, first + count); `text` is '' for lines that have no new record. */
  add(first: number, count: number, text: string): void {
    this.accepted += count;
    if (!this.ordered) {
      this.emit(count, text);
      return;
    }
    if (first !== this.nextLine) {
      this.waiting.set(first, { count, text });
      return;
    }
    this.emit(count, text);
    this.nextLine += count;
    for (let next = this.waiting.get(this.nextLine); next; next = this.waiting.get(this.nextLine)) {
      this.waiting.delete(this.nextLine);
      this.emit(next.count, next.text);
      this.nextLine += next.count;
    }
  }

  private emit(count: number, text: string): void {
    this.written += count;
    if (text.length === 0) return;
    this.pending.push(text);
    this.pendingBytes += text.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref(); // close() flushes what is left; the timer must not keep the process alive
    }
  }

  /** Hands the batched records to the stream. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const text = this.pending.length === 1 ? (this.pending[0] as string) : this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    this.stream.write(text);
  }

  /** Resolves once the stream has room again (at once if it has). */
  async drained(): Promise<void> {
    if (this.congested) await once(this.stream, 'drain');
  }

  /**
   * Writes everything still held, including segments that wait for a line that will not come
   * (an interrupted `--keep-order` run: `--resume` writes those lines later), and flushes.
   */
  async close(endStream: boolean): Promise<void> {
    for (const first of [...this.waiting.keys()].sort((a, b) => a - b)) {
      const segment = this.waiting.get(first) as Segment;
      this.emit(segment.count, segment.text);
    }
    this.waiting.clear();
    this.flush();
    if (endStream) {
      const finished = once(this.stream, 'finish');
      this.stream.end();
      await finished;
    } else if (this.congested) {
      await this.drained();
    }
  }
}
