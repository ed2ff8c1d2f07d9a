/**
 * Reading `skein map`'s input: a byte-level line splitter over a stream, handing out chunks of
 * consecutive lines as one string each.
 *
 * Not `readline`: it has lost lines on some streams (nodejs/node#33463, #28565), and cutting at
 * `\n` bytes lets a chunk be decoded with one `toString` instead of one per line. Lines are read
 * only when a chunk is asked for, so the input is read no faster than the pool works through it.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';

const NEWLINE = 0x0a;

/**
 * Consecutive input lines. `text` holds them joined by `\n` (no final newline); it is undefined
 * for a run of lines that `--resume` skips, which is passed on only so that `--keep-order` knows
 * not to wait for them.
 */
export interface LineChunk {
  first: number;
  count: number;
  text: string | undefined;
}

export class LineReader {
  private readonly source: AsyncIterator<Buffer | string>;
  private buffer: Buffer = Buffer.alloc(0);
  private position = 0;
  private ended = false;
  private nextLine = 1;

  /**
   * @param stream the input, read as bytes.
   * @param skip says which line numbers not to hand out (lines `--resume` finds done).
   */
  constructor(
    stream: Readable,
    private readonly skip: (line: number) => boolean = () => false,
  ) {
    this.source = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  }

  /** Lines handed out or skipped so far. */
  get linesRead(): number {
    return this.nextLine - 1;
  }

  /**
   * The next chunk of at most `maxLines` lines and (roughly) `maxBytes` bytes, a run of skipped
   * lines, or undefined at the end of the input.
   */
  async next(maxLines: number, maxBytes: number): Promise<LineChunk | undefined> {
    const first = this.nextLine;
    let start = -1;
    let end = -1; // end of the last line taken (exclusive, before its newline)
    let count = 0;
    let skipped = 0;
    for (;;) {
      let newline = this.buffer.indexOf(NEWLINE, this.position);
      if (newline < 0) {
        // Return what is cut already before reading on: a refill moves the buffer.
        if (count > 0) return { first, count, text: this.buffer.toString('utf8', start, end) };
        if (skipped > 0) return { first, count: skipped, text: undefined };
        if (!this.ended) {
          await this.refill();
          continue;
        }
        if (this.position >= this.buffer.length) return undefined;
        newline = this.buffer.length; // the last line, with no newline after it
      }
      const line = this.nextLine;
      if (this.skip(line)) {
        if (count > 0) return { first, count, text: this.buffer.toString('utf8', start, end) };
        skipped++;
        this.position = newline + 1;
        this.nextLine++;
        continue;
      }
      if (skipped > 0) return { first, count: skipped, text: undefined };
      if (count === 0) start = this.position;
      end = newline;
      count++;
      this.position = newline + 1;
      this.nextLine++;
      if (count >= maxLines || end - start >= maxBytes) {
        return { first, count, text: this.buffer.toString('utf8', start, end) };
      }
    }
  }

  private async refill(): Promise<void> {
    const { value, done } = await this.source.next();
    if (done) {
      this.ended = true;
      return;
    }
    const data = typeof value === 'string' ? Buffer.from(value) : value;
    const rest = this.buffer.subarray(this.position);
    this.buffer = rest.length === 0 ? data : Buffer.concat([rest, data]);
    this.position = 0;
  }

  /** Stops reading (the stream is destroyed; for stdin that just lets the process exit). */
  async close(): Promise<void> {
    await this.source.return?.();
  }
}

/** The number of lines in a file (a last line without a newline counts), read as fast as it goes. */
export async function countLines(path: string, signal?: AbortSignal): Promise<number> {
  let lines = 0;
  let last = NEWLINE;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(NEWLINE); i >= 0; i = chunk.indexOf(NEWLINE, i + 1)) lines++;
    if (chunk.length > 0) last = chunk[chunk.length - 1] as number;
  }
  return last === NEWLINE ? lines : lines + 1;
}
