import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimeoutError } from 'skein';
import { countPrimes, square } from '../fixtures/tasks.ts';
import { BACKENDS, countedEndless, rejection } from '../helpers.ts';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

for (const backend of BACKENDS) {
  describe(`${backend.name}.map`, () => {
    it('yields results in input order, over many items with automatic chunks', async () => {
      await using ex = backend.create({ maxWorkers: 2 });
      const input = Array.from({ length: 20_000 }, (_, i) => i);
      let tasks = 0; // progress is told once per settled task (a chunk), counting its items
      ex.on('progress', () => tasks++);
      const out = await collect(ex.map(square, input));
      assert.deepEqual(
        out,
        input.map((x) => x * x),
      );
      assert.ok(tasks < 2_000, `chunks, not one task per item (${tasks} tasks)`);
      assert.equal(ex.stats.completed, 20_000, 'the counters count items');
    });

    it('toArray() collects every result in order, as the loop would', async () => {
      await using ex = backend.create({ maxWorkers: 2 });
      const input = Array.from({ length: 50_000 }, (_, i) => i);
      assert.deepEqual(
        await ex.map(square, input).toArray(),
        input.map((x) => x * x),
      );
      const unordered = await ex.map(square, input, { ordered: false }).toArray();
      assert.deepEqual(
        [...unordered].sort((a, b) => a - b),
        input.map((x) => x * x),
      );
      const failing = (x: number) => {
        if (x === 30_000) throw new RangeError('item 30000');
        return x;
      };
      const error = await rejection(ex.map(failing, input).toArray());
      assert.ok(error instanceof RangeError);
    });

    it('toArray() after part of the results were taken by the loop returns the rest', async () => {
      await using ex = backend.create({ maxWorkers: 2 });
      const results = ex.map(square, [1, 2, 3, 4, 5, 6], { chunksize: 2 });
      const first = await results.next();
      assert.deepEqual(first, { value: 1, done: false });
      assert.deepEqual(await results.toArray(), [4, 9, 16, 25, 36]);
    });

    it('keeps every number exact through packed chunks (-0, NaN, Infinity, fractions, 2^53)', async () => {
      await using ex = backend.create({ maxWorkers: 2 });
      const special = [
        -0,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        0.1,
        -1e-300,
        2 ** 53,
        -(2 ** 31),
      ];
      const input = Array.from({ length: 5_000 }, (_, i) => special[i % special.length] as number);
      const identity = (x: number) => x;
      const out = await ex.map(identity, input, { chunksize: 1_000 }).toArray();
      assert.equal(out.length, input.length);
      for (let i = 0; i < input.length; i++)
        assert.ok(Object.is(out[i], input[i]), `item ${i}: ${out[i]} vs ${input[i]}`);
    });

    it('handles chunks that are not all numbers, either way round', async () => {
      await using ex = backend.create({ maxWorkers: 2 });
      const mixed = Array.from({ length: 3_000 }, (_, i) => (i % 1000 === 999 ? `s${i}` : i));
      const describe = (x: number | string) => (typeof x === 'number' ? x * 2 : x.toUpperCase());
      const out = await ex.map(describe, mixed, { chunksize: 500 }).toArray();
      assert.deepEqual(
        out,
        mixed.map((x) => (typeof x === 'number' ? x * 2 : x.toUpperCase())),
      );
      const toText = (x: number) => `#${x}`;
      const texts = await ex
        .map(
          toText,
          Array.from({ length: 2_000 }, (_, i) => i),
          { chunksize: 500 },
        )
        .toArray();
      assert.equal(texts[1999], '#1999');
      const lengths = (x: string) => x.length;
      const counts = await ex
        .map(
          lengths,
          Array.from({ length: 2_000 }, (_, i) => 'x'.repeat(i % 7)),
          { chunksize: 500 },
        )
        .toArray();
      assert.equal(counts[6], 6);
    });

    it('throws an error from inside a packed chunk at its position', async () => {
      await using ex = backend.create({ maxWorkers: 2 });
      const failAt = (x: number) => {
        if (x === 700) throw new RangeError('item 700');
        return x + 1;
      };
      const seen: number[] = [];
      const error = await rejection(
        (async () => {
          for await (const v of ex.map(
            failAt,
            Array.from({ length: 1_000 }, (_, i) => i),
            { chunksize: 250 },
          ))
            seen.push(v);
        })(),
      );
      assert.ok(error instanceof RangeError);
      assert.equal(seen.length, 700);
      assert.equal(seen[699], 700);
    });

    it('accepts a lazy sync generator and an async iterable', async () => {
      await using ex = backend.create({ maxWorkers: 2 });
      function* numbers() {
        for (let i = 0; i < 500; i++) yield i;
      }
      async function* later() {
        for (let i = 0; i < 50; i++) {
          await new Promise((resolve) => setImmediate(resolve));
          yield i;
        }
      }
      assert.equal((await collect(ex.map(square, numbers()))).length, 500);
      assert.deepEqual(
        await collect(ex.map(square, later())),
        Array.from({ length: 50 }, (_, i) => i * i),
      );
    });

    it('with ordered: false yields as results arrive', async () => {
      await using ex = backend.create({ maxWorkers: 2 });
      const out = await collect(
        ex.map((ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)), [300, 10, 10, 10], {
          ordered: false,
          chunksize: 1,
        }),
      );
      assert.notEqual(out[0], 300, 'the slow first item does not hold back the others');
      assert.deepEqual(
        [...out].sort((a, b) => (a as number) - (b as number)),
        [10, 10, 10, 300],
      );
    });

    it('throws a task error at its position, after the results before it', async () => {
      await using ex = backend.create({ maxWorkers: 2 });
      const seen: unknown[] = [];
      const error = await rejection(
        (async () => {
          const check = (x: string) => {
            if (x === 'bad') throw new TypeError(`bad item: ${x}`);
            return x;
          };
          for await (const v of ex.map(check, ['a', 'b', 'bad', 'c'], { chunksize: 2 })) seen.push(v);
        })(),
      );
      assert.ok(error instanceof TypeError);
      assert.equal((error as Error).message, 'bad item: bad');
      assert.deepEqual(seen, ['a', 'b'], 'the items before the failing one were yielded');
    });

    it('serves next() calls made without awaiting each one in order, each result once, then done', async () => {
      await using ex = backend.create({ maxWorkers: 2 });
      const results = ex.map(square, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], { chunksize: 3 });
      const calls = Array.from({ length: 12 }, () => results.next());
      const steps = await Promise.all(calls);
      assert.deepEqual(
        steps.slice(0, 10).map((step) => step.value),
        [0, 1, 4, 9, 16, 25, 36, 49, 64, 81],
      );
      assert.ok(steps.slice(0, 10).every((step) => step.done === false));
      assert.deepEqual(steps.slice(10), [
        { value: undefined, done: true },
        { value: undefined, done: true },
      ]);
      assert.deepEqual(await results.next(), { value: undefined, done: true }, 'stays done');
    });

    it('after a task error, the next() calls queued behind it end the map (done), they do not hang', async () => {
      await using ex = backend.create({ maxWorkers: 2 });
      const failAt3 = (x: number) => {
        if (x === 3) throw new RangeError('item 3');
        return x;
      };
      const results = ex.map(failAt3, [0, 1, 2, 3, 4, 5], { chunksize: 2 });
      const settled = await Promise.allSettled(Array.from({ length: 6 }, () => results.next()));
      assert.deepEqual(
        settled.slice(0, 3).map((s) => (s.status === 'fulfilled' ? s.value.value : s.status)),
        [0, 1, 2],
      );
      const failed = settled[3];
      assert.ok(failed?.status === 'rejected' && failed.reason instanceof RangeError, 'the error at its position');
      for (const later of settled.slice(4))
        assert.deepEqual(later, { status: 'fulfilled', value: { value: undefined, done: true } });
    });

    it('a break cancels the chunks not yet handed to a worker', async () => {
      await using ex = backend.create({ maxWorkers: 1 });
      const slow = (x: number) => new Promise((resolve) => setTimeout(() => resolve(x), 150));
      const seen: unknown[] = [];
      for await (const v of ex.map(slow, [1, 2, 3, 4, 5, 6, 7, 8], { chunksize: 1, buffersize: 4 })) {
        seen.push(v);
        break;
      }
      assert.deepEqual(seen, [1]);
      assert.ok(ex.stats.cancelled >= 2, `queued chunks cancelled (${ex.stats.cancelled})`);
      assert.ok(ex.stats.completed + ex.stats.cancelled + ex.stats.running <= 8);
    });

    it('reads the input only as fast as results are consumed (buffersize)', async () => {
      await using ex = backend.create({ maxWorkers: 2 });
      const input = countedEndless();
      let taken = 0;
      for await (const _ of ex.map(square, input.items, { chunksize: 10, buffersize: 3 })) {
        if (++taken === 25) break;
      }
      assert.ok(input.pulled() <= 25 + 3 * 10 + 10, `pulled ${input.pulled()} items for 25 results`);
    });

    it('stops with TimeoutError when the whole map exceeds its timeout', async () => {
      await using ex = backend.create({ maxWorkers: 1 });
      const slow = (x: number) => new Promise((resolve) => setTimeout(() => resolve(x), 200));
      const error = await rejection(collect(ex.map(slow, [1, 2, 3], { timeout: 250, chunksize: 1 })));
      assert.ok(error instanceof TimeoutError, String(error));
    });

    it('spreads CPU-bound items over the workers (auto chunks keep every worker busy)', async () => {
      await using ex = backend.create({ maxWorkers: 2 });
      const out = await collect(ex.map(countPrimes, [20_000, 20_000, 20_000, 20_000]));
      assert.deepEqual(out, [2262, 2262, 2262, 2262]);
    });
  });
}
