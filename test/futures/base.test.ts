import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
// From the source, not 'skein': these tests drive Future by the executor-side methods (setResult...),
// which are @internal and so absent from the published types.
import { asCompleted, CancelledError, Future, TimeoutError, wait } from '../../src/index.ts';
import { rejection, sleep } from '../helpers.ts';

function finishLater<T>(future: Future<T>, ms: number, value: T): void {
  setTimeout(() => future.setResult(value), ms);
}

describe('Future', () => {
  it('moves PENDING → RUNNING → FINISHED and is awaitable', async () => {
    const f = new Future<number>();
    assert.equal(f.state, 'PENDING');
    assert.equal(f.setRunningOrNotifyCancel(), true);
    assert.equal(f.running, true);
    assert.equal(f.cancel(), false, 'a running future cannot be cancelled');
    f.setResult(42);
    assert.equal(f.done, true);
    assert.equal(await f, 42);
    assert.equal(await f.result(), 42);
    assert.equal(await f.exception(), undefined);
  });

  it('settles exactly once: later results, errors and cancels are refused', async () => {
    const f = new Future<number>();
    assert.equal(f.setResult(1), true);
    assert.equal(f.setResult(2), false);
    assert.equal(f.setException(new Error('late')), false);
    assert.equal(f.cancel(), false);
    assert.equal(await f, 1);
  });

  it('cancel() on a pending future rejects awaiters with CancelledError and calls onCancel once', async () => {
    let calls = 0;
    const f = new Future<number>(() => calls++);
    const awaited = rejection(f);
    assert.equal(f.cancel(), true);
    assert.equal(f.cancel(), true, 'cancelling again still reports cancelled');
    assert.equal(calls, 1);
    assert.ok((await awaited) instanceof CancelledError);
    assert.equal(f.cancelled, true);
    assert.ok((await rejection(f.exception())) instanceof CancelledError);
    assert.equal(f.setRunningOrNotifyCancel(), false);
  });

  it('exception() returns the error of a failed future, which also rejects when awaited', async () => {
    const f = new Future<number>();
    const error = new RangeError('x');
    f.setException(error);
    assert.equal(await f.exception(), error);
    assert.equal(await rejection(f), error);
  });

  it('treats `throw undefined` as a failure, not a result', async () => {
    const f = new Future<number>();
    f.setException(undefined);
    assert.equal(await rejection(f), undefined);
    const { done } = await wait([f], { returnWhen: 'FIRST_EXCEPTION' });
    assert.equal(done.size, 1);
  });

  it('result(timeout) rejects with TimeoutError but leaves the future running', async () => {
    const f = new Future<number>();
    assert.ok((await rejection(f.result(20))) instanceof TimeoutError);
    assert.equal(f.done, false);
    finishLater(f, 5, 7);
    assert.equal(await f.result(1000), 7);
  });

  it('addDoneCallback runs at once when done, and a throwing callback does not stop the others', async () => {
    const f = new Future<string>();
    const seen: string[] = [];
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      f.addDoneCallback(() => {
        throw new Error('callback failure');
      });
      f.addDoneCallback((g) => seen.push(`second ${g.state}`));
      f.setResult('x');
      f.addDoneCallback(() => seen.push('after'));
      await sleep(5);
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(seen, ['second FINISHED', 'after']);
    const reported = warnings.filter((w) => w.name === 'FutureCallbackWarning');
    assert.equal(reported.length, 1, 'the callback error is reported, not swallowed');
    assert.match(reported[0]?.message ?? '', /callback failure/);
  });

  it('an unobserved failed future does not cause an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    new Future<number>().setException(new Error('nobody looks'));
    await sleep(10);
    process.off('unhandledRejection', onUnhandled);
    assert.deepEqual(unhandled, []);
  });
});

describe('wait', () => {
  it('ALL_COMPLETED waits for every future', async () => {
    const fs = [new Future<number>(), new Future<number>(), new Future<number>()];
    fs.forEach((f, i) => {
      finishLater(f, 5 + i * 5, i);
    });
    const { done, notDone } = await wait(fs);
    assert.equal(done.size, 3);
    assert.equal(notDone.size, 0);
  });

  it('FIRST_COMPLETED returns as soon as one is done', async () => {
    const slow = new Future<number>();
    const fast = new Future<number>();
    finishLater(fast, 5, 1);
    finishLater(slow, 200, 2);
    const { done, notDone } = await wait([slow, fast], { returnWhen: 'FIRST_COMPLETED' });
    assert.deepEqual([...done], [fast]);
    assert.deepEqual([...notDone], [slow]);
  });

  it('FIRST_EXCEPTION returns at the first failure, or when all are done', async () => {
    const ok = new Future<number>();
    const bad = new Future<number>();
    const slow = new Future<number>();
    finishLater(ok, 2, 1);
    setTimeout(() => bad.setException(new Error('x')), 10);
    finishLater(slow, 300, 3);
    const { done, notDone } = await wait([ok, bad, slow], { returnWhen: 'FIRST_EXCEPTION' });
    assert.ok(done.has(ok) && done.has(bad));
    assert.deepEqual([...notDone], [slow]);

    const a = new Future<number>();
    const b = new Future<number>();
    finishLater(a, 2, 1);
    finishLater(b, 4, 2);
    const all = await wait([a, b], { returnWhen: 'FIRST_EXCEPTION' });
    assert.equal(all.done.size, 2, 'with no failure it waits for all');
  });

  it('resolves with what is done when the timeout passes', async () => {
    const done1 = new Future<number>();
    done1.setResult(1);
    const never = new Future<number>();
    const { done, notDone } = await wait([done1, never], { timeout: 20 });
    assert.deepEqual([...done], [done1]);
    assert.deepEqual([...notDone], [never]);
  });
});

describe('asCompleted', () => {
  it('yields futures (not their values) in completion order, done ones first', async () => {
    const a = new Future<string>();
    const b = new Future<string>();
    const c = new Future<string>();
    c.setResult('c');
    finishLater(a, 30, 'a');
    finishLater(b, 5, 'b');
    const order: string[] = [];
    // TypeScript types a for-await variable as the awaited element (string here); at run time
    // it is the Future itself, as in Python.
    for await (const f of asCompleted([a, b, c, b])) {
      assert.ok((f as unknown) instanceof Future, 'asCompleted yields the Future itself');
      order.push(await f);
    }
    assert.deepEqual(order, ['c', 'b', 'a']);
  });

  it('throws TimeoutError naming how many are unfinished', async () => {
    const done = new Future<number>();
    done.setResult(1);
    const never = new Future<number>();
    const seen: Future<number>[] = [];
    const error = await rejection(
      (async () => {
        for await (const f of asCompleted([done, never], { timeout: 20 })) seen.push(f as unknown as Future<number>);
      })(),
    );
    assert.ok(error instanceof TimeoutError);
    assert.match((error as Error).message, /1 \(of 2\) futures unfinished/);
    assert.deepEqual(seen, [done]);
  });

  it('stops listening when the loop breaks early', async () => {
    const a = new Future<number>();
    const b = new Future<number>();
    a.setResult(1);
    for await (const f of asCompleted([a, b])) {
      assert.equal(f as unknown, a);
      break;
    }
    assert.equal(
      b.removeDoneCallback(() => {}),
      false,
    );
    assert.equal((b as unknown as { _callbacks?: unknown[] })._callbacks?.length ?? 0, 0);
  });
});
