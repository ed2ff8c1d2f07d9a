import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { asCompleted, gather, mapConcurrent, sleep, TaskGroup, TimeoutError, timeout } from 'skein';
import { countedEndless, rejection } from '../helpers.ts';

/** A task that records how many run at once, and finishes after `ms` unless aborted. */
function tracker() {
  let running = 0;
  let most = 0;
  const task =
    <T>(value: T, ms: number) =>
    async (signal: AbortSignal): Promise<T> => {
      running++;
      most = Math.max(most, running);
      try {
        await sleep(ms, { signal });
        return value;
      } finally {
        running--;
      }
    };
  return { task, most: () => most, running: () => running };
}

describe('sleep', () => {
  it('resolves after the delay, and rejects with the reason when aborted while waiting', async () => {
    const started = performance.now();
    await sleep(20);
    assert.ok(performance.now() - started >= 15);
    const controller = new AbortController();
    const waiting = sleep(10_000, { signal: controller.signal });
    controller.abort(new Error('stop'));
    assert.equal(((await rejection(waiting)) as Error).message, 'stop');
    assert.ok((await rejection(sleep(1, { signal: AbortSignal.abort() }))) instanceof DOMException);
  });

  it('leaves no listener on a long-lived signal', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 100; i++) await sleep(0, { signal: controller.signal });
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });
});

describe('timeout', () => {
  it('returns the result when the work finishes in time', async () => {
    assert.equal(await timeout(1000, async () => 'done'), 'done');
  });

  it('rejects with TimeoutError at the deadline and aborts the work', async () => {
    let seen: unknown;
    const error = await rejection(
      timeout(30, async (signal) => {
        signal.addEventListener('abort', () => {
          seen = signal.reason;
        });
        await new Promise(() => {}); // never settles on its own
      }),
    );
    assert.ok(error instanceof TimeoutError);
    assert.equal(seen, error, "the work's signal aborted with the same TimeoutError");
  });

  it('passes the work its own error, and follows a parent signal', async () => {
    assert.equal(
      ((await rejection(timeout(1000, () => Promise.reject(new RangeError('x'))))) as Error).name,
      'RangeError',
    );
    const parent = new AbortController();
    const pending = timeout(10_000, (signal) => sleep(10_000, { signal }), { signal: parent.signal });
    parent.abort(new Error('parent gave up'));
    assert.equal(((await rejection(pending)) as Error).message, 'parent gave up');
    assert.equal(getEventListeners(parent.signal, 'abort').length, 0);
  });
});

describe('gather', () => {
  it('returns results in input order, from promises and thunks', async () => {
    const results = await gather([Promise.resolve(1), async () => 'two', () => 3] as const);
    assert.deepEqual(results, [1, 'two', 3]);
    assert.deepEqual(await gather([]), []);
  });

  it('runs at most `concurrency` thunks at once', async () => {
    const t = tracker();
    const results = await gather(
      Array.from({ length: 12 }, (_, i) => t.task(i, 5)),
      { concurrency: 3 },
    );
    assert.deepEqual(
      results,
      Array.from({ length: 12 }, (_, i) => i),
    );
    assert.equal(t.most(), 3);
  });

  it('rejects at the first failure, aborts the running thunks and starts no more', async () => {
    const t = tracker();
    let started = 0;
    const failing = async () => {
      started++;
      throw new Error('first failure');
    };
    const tasks = [
      t.task('slow', 10_000),
      failing,
      ...Array.from({ length: 5 }, () => async (signal: AbortSignal) => {
        started++;
        return t.task('late', 1)(signal);
      }),
    ];
    const error = await rejection(gather(tasks, { concurrency: 2 }));
    assert.equal((error as Error).message, 'first failure');
    await sleep(10);
    assert.equal(t.running(), 0, 'the slow sibling saw the abort and stopped');
    assert.equal(started, 1, 'queued thunks never started');
  });

  it('with returnExceptions puts errors in the results', async () => {
    const results = await gather([async () => 1, async () => Promise.reject(new TypeError('bad')), async () => 3], {
      returnExceptions: true,
    });
    assert.equal(results[0], 1);
    assert.ok(results[1] instanceof TypeError);
    assert.equal(results[2], 3);
  });

  it('rejects with the signal reason when aborted while waiting', async () => {
    const controller = new AbortController();
    const t = tracker();
    const pending = gather([t.task(1, 10_000), t.task(2, 10_000)], { signal: controller.signal });
    await sleep(5);
    controller.abort(new Error('cancelled by caller'));
    assert.equal(((await rejection(pending)) as Error).message, 'cancelled by caller');
    await sleep(5);
    assert.equal(t.running(), 0);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });
});

describe('TaskGroup', () => {
  it('waits for every child and returns their values through spawn()', async () => {
    await using group = new TaskGroup();
    const a = group.spawn(async () => 1);
    const b = group.spawn(async (signal) => {
      await sleep(10, { signal });
      return 2;
    });
    assert.deepEqual(await Promise.all([a, b]), [1, 2]);
  });

  it('aborts the siblings at the first failure and rejects, after all settle, with every failure', async () => {
    const settled: string[] = [];
    const error = await rejection(
      TaskGroup.run(async (group) => {
        group.spawn(async (signal) => {
          try {
            await sleep(10_000, { signal });
          } finally {
            settled.push('sibling stopped');
          }
        });
        group.spawn(async () => {
          await sleep(5);
          throw new Error('child one failed');
        });
        group.spawn(async (signal) => {
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          await sleep(20); // cleanup that takes a while: the group waits for it
          settled.push('slow cleanup done');
          throw new Error('child two failed while stopping');
        });
      }),
    );
    assert.ok(error instanceof AggregateError);
    assert.deepEqual(
      error.errors.map((e) => (e as Error).message),
      ['child one failed', 'child two failed while stopping'],
    );
    assert.deepEqual(settled.sort(), ['sibling stopped', 'slow cleanup done']);
  });

  it('treats an error thrown by the body as a failure: children are stopped and waited for', async () => {
    let childStopped = false;
    const error = await rejection(
      TaskGroup.run(async (group) => {
        group.spawn(async (signal) => {
          await sleep(10_000, { signal }).catch(() => {
            childStopped = true;
          });
        });
        throw new Error('body failed');
      }),
    );
    assert.ok(error instanceof AggregateError);
    assert.equal((error.errors[0] as Error).message, 'body failed');
    assert.equal(childStopped, true);
  });

  it('cancel() stops the children without failing; spawn after the group finished throws', async () => {
    const group = new TaskGroup();
    const child = group.spawn((signal) => sleep(10_000, { signal }).then(() => 'finished'));
    group.cancel(new Error('not needed'));
    assert.equal(((await rejection(child)) as Error).message, 'not needed');
    await group.wait(); // a child stopped by cancel() is cancelled, not failed
    assert.throws(() => group.spawn(async () => 1), /has finished/);
  });

  it('a failing child nobody awaits is not an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await rejection(
        TaskGroup.run((group) => {
          group.spawn(async () => {
            throw new Error('unobserved');
          });
        }),
      );
      await sleep(10);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(unhandled, []);
  });
});

describe('mapConcurrent', () => {
  it('yields in input order with at most `concurrency` calls at once', async () => {
    const t = tracker();
    const out: number[] = [];
    for await (const v of mapConcurrent([5, 1, 4, 2, 3], (x, signal) => t.task(x, x * 3)(signal), { concurrency: 2 })) {
      out.push(v);
    }
    assert.deepEqual(out, [5, 1, 4, 2, 3]);
    assert.equal(t.most(), 2);
  });

  it('with ordered: false yields as calls finish', async () => {
    const out: number[] = [];
    const delay = (x: number, signal: AbortSignal) => sleep(x, { signal }).then(() => x);
    for await (const v of mapConcurrent([60, 5, 10], delay, { concurrency: 3, ordered: false })) out.push(v);
    assert.deepEqual(out, [5, 10, 60]);
  });

  it('reads the input lazily (backpressure)', async () => {
    const input = countedEndless();
    let taken = 0;
    for await (const _ of mapConcurrent(input.items, async (x) => x, { concurrency: 4 })) {
      if (++taken === 10) break;
    }
    assert.ok(input.pulled() <= 10 + 4, `pulled ${input.pulled()} items for 10 results`);
  });

  it('throws an error at its position and aborts the calls still running', async () => {
    const t = tracker();
    const seen: number[] = [];
    const fn = (x: number, signal: AbortSignal) => {
      if (x === 2) return Promise.reject(new Error('item 2'));
      return t.task(x, x === 3 ? 10_000 : 1)(signal);
    };
    const error = await rejection(
      (async () => {
        for await (const v of mapConcurrent([0, 1, 2, 3], fn, { concurrency: 4 })) seen.push(v);
      })(),
    );
    assert.equal((error as Error).message, 'item 2');
    assert.deepEqual(seen, [0, 1]);
    await sleep(5);
    assert.equal(t.running(), 0, 'the long call saw the abort');
  });

  it('leaving the loop early aborts the calls still running', async () => {
    const t = tracker();
    for await (const _ of mapConcurrent([1, 10_000, 10_000], (x, signal) => t.task(x, x)(signal), { concurrency: 3 }))
      break;
    await sleep(5);
    assert.equal(t.running(), 0);
  });
});

describe('asCompleted with promises', () => {
  it('yields each promise as a Future when it settles, fastest first', async () => {
    const order: string[] = [];
    const inputs = [sleep(30).then(() => 'slow'), sleep(5).then(() => 'fast'), Promise.reject(new Error('failed'))];
    for await (const f of asCompleted(inputs)) {
      try {
        order.push(await f);
      } catch (error) {
        order.push((error as Error).message);
      }
    }
    assert.deepEqual(order, ['failed', 'fast', 'slow']);
  });
});
