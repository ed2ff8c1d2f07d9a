/**
 * `executor.map(fn, items)`: lazy, chunked, bounded.
 *
 * Items are read from the (sync or async) iterable only as chunks are needed, at most
 * `buffersize` chunks are in flight, and each chunk is one task (one message each way). With
 * `chunksize: 'auto'` the first chunks hold one item each; from then on chunks are sized so one
 * takes about TARGET_CHUNK_MS in the worker, and, when the input's length is known, so that
 * every worker still gets several chunks (as `multiprocessing.Pool.map` does).
 */
import type { Future, MapOptions } from '../futures/base.js';
import { TimeoutError } from '../futures/errors.js';
import { Wakeup } from '../futures/wakeup.js';
import { Deque } from './deque.js';
import type { ChunkOutcome } from './protocol.js';
import { deserializeError } from './values.js';

const TARGET_CHUNK_MS = 4;
const MAX_CHUNK = 16_384;

export interface ChunkSubmitter {
  readonly maxWorkers: number;
  submitChunk(items: unknown[]): Future<ChunkOutcome>;
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

export async function* mapChunks<R>(
  submitter: ChunkSubmitter,
  items: Iterable<unknown> | AsyncIterable<unknown>,
  options: MapOptions = {},
): AsyncGenerator<R, void, undefined> {
  const ordered = options.ordered ?? true;
  const buffersize = Math.max(1, options.buffersize ?? submitter.maxWorkers * 4);
  const fixed = typeof options.chunksize === 'number' ? Math.max(1, Math.floor(options.chunksize)) : undefined;
  const total = knownLength(items);
  const balanceCap = total === undefined ? MAX_CHUNK : Math.max(1, Math.ceil(total / (submitter.maxWorkers * 4)));
  const deadline = options.timeout === undefined ? undefined : performance.now() + options.timeout;

  const iterator =
    Symbol.asyncIterator in items
      ? (items as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      : (items as Iterable<unknown>)[Symbol.iterator]();
  let exhausted = false;
  let chunksize = fixed ?? 1;
  let msPerItem = Number.NaN;
  const inflight = new Deque<Pending>();
  const finished: Pending[] = []; // unordered mode: completion order
  const wakeup = new Wakeup();

  const readChunk = async (): Promise<unknown[]> => {
    const chunk: unknown[] = [];
    while (chunk.length < chunksize) {
      const step = iterator.next();
      const result = step instanceof Promise ? await step : (step as IteratorResult<unknown>);
      if (result.done) {
        exhausted = true;
        break;
      }
      chunk.push(result.value);
    }
    return chunk;
  };

  const learn = (outcome: ChunkOutcome): void => {
    if (fixed !== undefined) return;
    const count = outcome.values.length + (outcome.error ? 1 : 0);
    if (count === 0) return;
    const sample = Math.max(outcome.ms / count, 1e-5);
    msPerItem = Number.isNaN(msPerItem) ? sample : msPerItem * 0.5 + sample * 0.5;
    chunksize = Math.max(1, Math.min(MAX_CHUNK, balanceCap, Math.round(TARGET_CHUNK_MS / msPerItem)));
  };

  const nextDone = async (): Promise<Pending> => {
    for (;;) {
      const ready = ordered ? (inflight.peek()?.future.done ? inflight.peek() : undefined) : finished.shift();
      if (ready) {
        if (ordered) inflight.shift();
        return ready;
      }
      if (!(await wakeup.sleepUntil(deadline)) && !(ordered ? inflight.peek()?.future.done : finished.length > 0)) {
        throw new TimeoutError(`map did not finish within ${options.timeout} ms`);
      }
    }
  };

  try {
    for (;;) {
      while (!exhausted && inflight.length < buffersize) {
        const chunk = await readChunk();
        if (chunk.length === 0) break;
        const pending: Pending = { future: submitter.submitChunk(chunk), size: chunk.length };
        inflight.push(pending);
        pending.future.addDoneCallback(() => {
          if (!ordered) finished.push(pending);
          wakeup.wake();
        });
      }
      if (inflight.length === 0) return;
      const done = await nextDone();
      if (!ordered) {
        // remove from the in-flight window
        const rest = inflight.drain().filter((p) => p !== done);
        for (const p of rest) inflight.push(p);
      }
      const outcome = await done.future; // a cancelled or failed chunk task throws here
      learn(outcome);
      for (const value of outcome.values) yield value as R;
      if (outcome.error) throw deserializeError(outcome.error);
    }
  } finally {
    // Early exit (break, error, timeout): chunks not yet handed out are cancelled.
    for (const pending of inflight.drain()) pending.future.cancel();
    await (iterator as { return?: () => unknown }).return?.();
  }
}
