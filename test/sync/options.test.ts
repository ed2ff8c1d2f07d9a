/**
 * Option keys of the sync primitives' constructors (checked by src/futures/options.ts), and what
 * `withLock` / `withPermit` say when given something other than a function.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  Event,
  LifoQueue,
  Lock,
  PriorityQueue,
  Queue,
  RLock,
  Semaphore,
  SharedArray,
} from 'skein';
import { rejection } from '../helpers.ts';
import { itChecksOptionKeys } from '../option-checks.ts';

describe('sync primitive options', () => {
  itChecksOptionKeys({
    where: 'new Barrier(parties, options)',
    documented: ['action', 'timeout'],
    misspelled: ['timout', 'timeout'],
    call: (options) => new Barrier(2, options),
  });

  for (const [name, Kind] of [
    ['Queue', Queue],
    ['LifoQueue', LifoQueue],
    ['PriorityQueue', PriorityQueue],
  ] as const) {
    itChecksOptionKeys({
      where: `new ${name}(options)`,
      documented: ['maxsize', 'maxBytes'],
      misspelled: ['maxSize', 'maxsize'],
      call: (options) => new Kind(options),
    });
  }

  it("new Queue(10) says to write { maxsize: 10 } (Python's Queue(10) is positional)", () => {
    assert.throws(() => new Queue(10 as never), {
      name: 'TypeError',
      message: 'new Queue(options): pass the size as { maxsize: 10 }, got the number 10',
    });
  });

  it('a bad count is shown so that a string cannot pass for a number', () => {
    assert.throws(() => new Queue({ maxsize: '4' as never }), /got "4" \(a string\)/);
    assert.throws(() => new Barrier('2' as never), /got "2" \(a string\)/);
    assert.throws(() => new Semaphore('3' as never), /got "3" \(a string\)/);
    assert.throws(() => new SharedArray('int32', -1), /got -1$/);
  });
});

/** Takes the primitive (a Condition's own lock) if it is free: false if the failed call left it held. */
function isFree(holder: object): boolean {
  const primitive = (holder instanceof Condition ? holder.lock : holder) as { tryAcquire(): boolean };
  return primitive.tryAcquire();
}

describe('withLock / withPermit given something other than a function', () => {
  const holders = [
    ['Lock', 'withLock', () => new Lock()],
    ['RLock', 'withLock', () => new RLock()],
    ['Condition', 'withLock', () => new Condition()],
    ['Semaphore', 'withPermit', () => new Semaphore(2)],
    ['BoundedSemaphore', 'withPermit', () => new BoundedSemaphore(2)],
  ] as const;

  for (const [name, method, make] of holders) {
    it(`${name}.${method}(5) rejects, saying it expects a function, and leaves the primitive free`, async () => {
      const holder = make() as unknown as Record<string, (fn: unknown) => Promise<unknown>>;
      const error = await rejection(holder[method]?.(5) as Promise<unknown>);
      assert.ok(error instanceof TypeError);
      assert.match(error.message, new RegExp(`\\.${method}\\(fn\\) expects a function to run, got 5$`));
      assert.equal(isFree(holder), true, 'nothing was left held');
    });

    it(`${name}.${method}Sync('f') throws, saying it expects a function`, () => {
      const holder = make() as unknown as Record<string, (fn: unknown) => unknown>;
      assert.throws(() => holder[`${method}Sync`]?.('f'), {
        name: 'TypeError',
        message: new RegExp(`\\.${method}Sync\\(fn\\) expects a function to run, got "f" \\(a string\\)$`),
      });
      assert.equal(isFree(holder), true, 'nothing was left held');
    });
  }
});

describe('the options of a wait', () => {
  it('an async wait refuses a misspelled timeout instead of waiting for ever', async () => {
    const lock = new Lock();
    await lock.acquire();
    const waits: [string, () => Promise<unknown>][] = [
      ['acquire(options)', () => lock.acquire({ timout: 10 } as never)],
      ['Lock.withLock(fn, options)', () => lock.withLock(() => 1, { timout: 10 } as never)],
      ['Semaphore.withPermit(fn, options)', () => new Semaphore(0).withPermit(() => 1, { timout: 10 } as never)],
      ['Event.wait(options)', () => new Event().wait({ timout: 10 } as never)],
      ['Queue.get(options)', () => new Queue().get({ timout: 10 } as never)],
      ['Queue.put(item, options)', () => new Queue({ maxsize: 1 }).put(1, { timout: 10 } as never)],
      ['Barrier.wait(options)', () => new Barrier(2).wait({ timout: 10 } as never)],
    ];
    for (const [where, wait] of waits) {
      const error = await rejection(wait());
      assert.ok(error instanceof TypeError, `${where}: expected a TypeError, got ${String(error)}`);
      assert.match(
        error.message,
        new RegExp(`^${where.replace(/[().]/g, '\\$&')}: unknown option 'timout' \\(did you mean 'timeout'\\?\\)`),
      );
    }
    lock.release();
  });

  it('a wait still takes timeout and signal', async () => {
    const event = new Event();
    assert.equal(await event.wait({ timeout: 1, signal: new AbortController().signal }), false);
    assert.equal(await new Lock().acquire({ timeout: 1, signal: undefined }), true);
  });

  it('a blocking wait takes only a timeout: a signal could not interrupt it, so it is refused', () => {
    // withLockSync checks its options before it takes the lock, so this needs no worker thread.
    assert.throws(() => new Lock().withLockSync(() => 1, { signal: undefined } as never), {
      name: 'TypeError',
      message: /^Lock\.withLockSync\(fn, options\): unknown option 'signal'; the options are timeout$/,
    });
  });
});
