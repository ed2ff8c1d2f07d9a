/**
 * Option keys of the asyncio calls (checked by src/futures/options.ts): every documented option
 * is accepted, a misspelled one is a TypeError with the closest known option.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gather, mapConcurrent, sleep, TaskGroup, timeout } from 'skein';
import { itChecksOptionKeys } from '../option-checks.ts';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('asyncio options', () => {
  itChecksOptionKeys({
    where: 'sleep(ms, options)',
    documented: ['signal'],
    misspelled: ['sigal', 'signal'],
    call: (options) => sleep(1, options),
  });

  itChecksOptionKeys({
    where: 'timeout(ms, fn, options)',
    documented: ['signal'],
    misspelled: ['Signal', 'signal'],
    call: (options) => timeout(1000, () => 1, options),
  });

  itChecksOptionKeys({
    where: 'gather(tasks, options)',
    documented: ['concurrency', 'returnExceptions', 'signal'],
    misspelled: ['return_exceptions', 'returnExceptions'],
    call: (options) => gather([() => 1, Promise.resolve(2)], options),
  });

  itChecksOptionKeys({
    where: 'new TaskGroup(options)',
    documented: ['signal'],
    misspelled: ['singal', 'signal'],
    call: (options) => TaskGroup.run((group) => group.spawn(() => 1), options),
  });

  itChecksOptionKeys({
    where: 'mapConcurrent(items, fn, options)',
    documented: ['concurrency', 'ordered', 'signal'],
    required: { concurrency: 2 },
    misspelled: ['concurency', 'concurrency'],
    call: (options) => collect(mapConcurrent([1, 2, 3], (x: number) => x * 2, options as never)),
  });

  it('a function is required where one runs, and the error says what came instead', async () => {
    assert.throws(() => timeout(10, 5 as never), {
      name: 'TypeError',
      message: 'timeout(ms, fn) expects a function to run, got 5',
    });
    await TaskGroup.run((group) => {
      assert.throws(
        () => group.spawn('job' as never),
        /TaskGroup.spawn\(fn\) expects a function to run, got "job" \(a string\)/,
      );
    });
    await assert.rejects(collect(mapConcurrent([1], null as never, { concurrency: 1 })), /got null$/);
    await assert.rejects(
      collect(mapConcurrent([1], (x) => x, undefined as never)),
      /options are required, e.g. \{ concurrency: 8 \}/,
    );
  });

  it('a bad concurrency is shown so that a string cannot pass for a number', () => {
    assert.throws(() => gather([], { concurrency: '0' as never }), /got "0" \(a string\)/);
  });
});
