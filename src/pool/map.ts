/**
 * `executor.map(fn, items)`: lazy, chunked, bounded.
 *
 *   items ──readChunk()──► chunk tasks (≤ buffersize in flight) ──► workers
 *                                                                     │
 *   for await / toArray() ◄── buffer ◄── nextChunk() (input order, or completion order) ◄──┘
 *
 * Items are read from the (sync or async) iterable only as chunks are needed; arrays are sliced,
 * not iterated. With `chunksize: 'auto'` the first chunks hold one item each; from then on chunks
 * are sized so one takes about TARGET_CHUNK_MS in the worker and, when the input's length is known,
 * so that every worker still gets several chunks (as `multiprocessing.Pool.map` does).
 *
 * The result is a hand-written async iterator, not an async generator: a generator pays a promise
 * and a microtask per item on both sides, which was over half the cost of mapping tiny items.
 * `toArray()` skips per-item iteration entirely (whole chunks are appended). A chunk of only
 * numbers travels packed in a Float64Array whose buffer is transferred, both ways (packNumbers):
 * per-item serialisation was what was left of the cost.
 */
import type { Future, MapIterator, MapOptions } from '../futures/base.js';
import { TimeoutError } from '../futures/errors.js';
import { Wakeup } from '../futures/wakeup.js';
import { deserializeError, resolveErrorClasses } from '../wire/errors.js';
import { Deque } from './deque.js';
import { type ChunkOutcome, packNumbers } from './protocol.js';

const TARGET_CHUNK_MS = 4;
const noop = (): void => {};
const MAX_CHUNK = 65_536;
const GROWTH = 16;

export interface ChunkSubmitter {
  readonly maxWorkers: number;
  submitChunk(items: unknown[] | Float64Array): Future<ChunkOutcome>;
}

interface Pending {
  readonly future: Future<ChunkOutcome>;
  readonly size: number;
}

function knownLength(items: unknown): number | undefined {
  if (Array.isArray(items) || ArrayBuffer.isView(items)) return (items as { length: number }).length;
  if (items instanceof Set || items instanceof Map) return items.size;
  return undefined;
}

class ChunkedMap<R> implements MapIterator<R> {
  private readonly ordered: boolean;
  private readonly buffersize: number;
  private readonly fixed: number | undefined;
  private readonly balanceCap: number;
  private readonly deadline: number | undefined;
  private readonly array: readonly unknown[] | undefined;
  private readonly iterator: Iterator<unknown> | AsyncIterator<unknown> | undefined;
  private position = 0; // next index to read, for arrays
  private exhausted = false;
  private chunksize: number;
  private readonly inflight = new Deque<Pending>();
  private readonly finished: Pending[] = []; // unordered: completion order
  private readonly wakeup = new Wakeup();
  private buffer: ArrayLike<unknown> = [];
  private index = 0;
  private pendingError: { error: unknown } | undefined;
  private closed = false;
  /** next() calls waiting for a refill; while there are any, a new call queues behind them. */
  private waiting = 0;
  /** Settles (never rejects) when the last queued next() is served. */
  private turn: Promise<void> = Promise.resolve();

  constructor(
    private readonly submitter: ChunkSubmitter,
    items: Iterable<unknown> | AsyncIterable<unknown>,
    private readonly options: MapOptions,
  ) {
    this.ordered = options.ordered ?? true;
    this.buffersize = Math.max(1, options.buffersize ?? submitter.maxWorkers * 4);
    this.fixed = typeof options.chunksize === 'number' ? Math.max(1, Math.floor(options.chunksize)) : undefined;
    const total = knownLength(items);
    this.balanceCap = total === undefined ? MAX_CHUNK : Math.max(1, Math.ceil(total / (submitter.maxWorkers * 4)));
    this.deadline = options.timeout === undefined ? undefined : performance.now() + options.timeout;
    this.chunksize = this.fixed ?? 1;
    if (Array.isArray(items)) this.array = items;
    else
      this.iterator =
        Symbol.asyncIterator in items
          ? (items as AsyncIterable<unknown>)[Symbol.asyncIterator]()
          : (items as Iterable<unknown>)[Symbol.iterator]();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The next result. A ready item is handed out from the buffer by a plain method (no async
   * function, no await of its own): a loop over ready items pays only its own await. An empty
   * buffer is refilled a chunk at a time, one refill at a time: a `next()` called while others
   * wait takes its turn behind them, so calls not awaited one by one still get results in order.
   */
  next(): Promise<IteratorResult<R, undefined>> {
    if (this.waiting === 0 && this.index < this.buffer.length) {
      return Promise.resolve({ value: this.buffer[this.index++] as R, done: false });
    }
    this.waiting++;
    const result = this.nextInTurn(this.turn);
    this.turn = result.then(noop, noop);
    return result;
  }

  async return(): Promise<IteratorResult<R, undefined>> {
    await this.close();
    return { value: undefined, done: true };
  }

  async toArray(): Promise<R[]> {
    await this.turn; // a next() still refilling owns the buffer until it is done
    const out = Array.prototype.slice.call(this.buffer, this.index) as R[];
    this.buffer = [];
    this.index = 0;
    for (;;) {
      const values = await this.nextValues();
      if (values === undefined) return out;
      // Grow once per chunk, then fill: a push per item was a sixth of a big map's main-thread time.
      const base = out.length;
      out.length = base + values.length;
      for (let i = 0; i < values.length; i++) out[base + i] = values[i] as R;
    }
  }

  /** `next()` once the calls before it are served: refill if need be, then take an item. */
  private async nextInTurn(previous: Promise<void>): Promise<IteratorResult<R, undefined>> {
    try {
      await previous;
      await this.refill();
      if (this.index < this.buffer.length) return { value: this.buffer[this.index++] as R, done: false };
      return { value: undefined, done: true };
    } finally {
      this.waiting--;
    }
  }

  /** Refills the buffer until it holds an item or the map is over (a task error throws here, at its position). */
  private async refill(): Promise<void> {
    while (this.index >= this.buffer.length) {
      const values = await this.nextValues();
      if (values === undefined) return;
      this.buffer = values;
      this.index = 0;
    }
  }

  /** The next chunk's values in the map's order, or undefined at the end; throws a task error in its place. */
  private async nextValues(): Promise<ArrayLike<unknown> | undefined> {
    if (this.pendingError) {
      const { error } = this.pendingError;
      this.pendingError = undefined;
      await resolveErrorClasses(error); // a custom error class, found by reference
      await this.close();
      throw error;
    }
    if (this.closed) return undefined;
    try {
      await this.topUp();
      if (this.inflight.length === 0) {
        await this.close();
        return undefined;
      }
      const done = await this.nextDone();
      const outcome = await done.future; // a cancelled or failed chunk task throws here
      this.learn(outcome);
      // The values before a failing item are still results: hand them out, then throw.
      if (outcome.error) this.pendingError = { error: deserializeError(outcome.error) };
      return outcome.values;
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  private async topUp(): Promise<void> {
    while (!this.exhausted && this.inflight.length < this.buffersize) {
      const chunk = await this.readChunk();
      if (chunk.length === 0) break;
      const pending: Pending = { future: this.submitter.submitChunk(packNumbers(chunk)), size: chunk.length };
      this.inflight.push(pending);
      pending.future.addDoneCallback(() => {
        if (!this.ordered) this.finished.push(pending);
        this.wakeup.wake();
      });
    }
  }

  private async readChunk(): Promise<unknown[]> {
    if (this.array) {
      const chunk = this.array.slice(this.position, this.position + this.chunksize);
      this.position += chunk.length;
      if (this.position >= this.array.length) this.exhausted = true;
      return chunk;
    }
    const chunk: unknown[] = [];
    const iterator = this.iterator as Iterator<unknown> | AsyncIterator<unknown>;
    while (chunk.length < this.chunksize) {
      const step = iterator.next();
      const result = step instanceof Promise ? await step : (step as IteratorResult<unknown>);
      if (result.done) {
        this.exhausted = true;
        break;
      }
      chunk.push(result.value);
    }
    return chunk;
  }

  private async nextDone(): Promise<Pending> {
    for (;;) {
      const head = this.inflight.peek();
      if (this.ordered ? head?.future.done : this.finished.length > 0) {
        const ready = this.ordered ? (this.inflight.shift() as Pending) : (this.finished.shift() as Pending);
        if (!this.ordered) {
          const rest = this.inflight.drain().filter((p) => p !== ready);
          for (const p of rest) this.inflight.push(p);
        }
        return ready;
      }
      if (!(await this.wakeup.sleepUntil(this.deadline))) {
        if (this.ordered ? this.inflight.peek()?.future.done : this.finished.length > 0) continue;
        throw new TimeoutError(`map did not finish within ${this.options.timeout} ms`);
      }
    }
  }

  /**
   * Sizes the next chunks from the latest chunk's time per item. Small first chunks overstate
   * it (call overhead, a cold JIT), so the latest, larger sample is trusted as it is, and the
   * size grows at most GROWTH times a step in case an item's cost rises as the input goes on.
   */
  private learn(outcome: ChunkOutcome): void {
    if (this.fixed !== undefined) return;
    const count = outcome.values.length + (outcome.error ? 1 : 0);
    if (count === 0) return;
    const msPerItem = Math.max(outcome.ms / count, 1e-5);
    const target = Math.round(TARGET_CHUNK_MS / msPerItem);
    this.chunksize = Math.max(1, Math.min(MAX_CHUNK, this.balanceCap, count * GROWTH, target));
  }

  /** Early exit (break, error, timeout): chunks not yet handed to a worker are cancelled. */
  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.buffer = [];
    this.index = 0;
    for (const pending of this.inflight.drain()) pending.future.cancel();
    await (this.iterator as { return?: () => unknown } | undefined)?.return?.();
  }
}

export function mapChunks<R>(
  submitter: ChunkSubmitter,
  items: Iterable<unknown> | AsyncIterable<unknown>,
  options: MapOptions = {},
): MapIterator<R> {
  return new ChunkedMap<R>(submitter, items, options);
}
