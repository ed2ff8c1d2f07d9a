/**
 * Issue 11's new-user findings: a Manager proxy call storing a value that cannot be cloned rejects
 * in its caller with a message naming the culprit (a child used to crash, exit 1, in the batched
 * send), the other calls of its batch still go; and `Connection.send` says the same.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Manager, Pipe, Process } from 'skein';
import { echo } from '../fixtures/mp-tasks.ts';
import {
  batchWithBadCalls,
  everyStoreRefused,
  everyStoreRefusedAndReport,
  storeFunction,
  storeFunctionAndReport,
} from '../fixtures/mp-trial-tasks.ts';
import { BACKENDS } from '../helpers.ts';

const FUNCTION_IN_VALUE =
  /^dict\.set\(key, value\): value\.a\[1\] is a function \(function \(anonymous\)\), which cannot be cloned\. Values cross by structured clone: pass plain data/;

/** What `everyStoreRefused` should return: each storing method names its argument and the culprit. */
const EVERY_STORE = [
  /^TypeError: dict\.set\(key, value\): value\.deep\[0\] is a function \(function callback\)/,
  /^TypeError: dict\.setDefault\(key, value\): value is a function \(function callback\)/,
  /^TypeError: dict\.update\(entries\): entries\.k is a function \(function callback\)/,
  /^TypeError: list\.append\(value\): value is a function/,
  /^TypeError: list\.extend\(values\): values\[1\] is a function/,
  /^TypeError: list\.insert\(index, value\): value is a function/,
  /^TypeError: list\.set\(index, value\): value is a function/,
  /^TypeError: namespace\.set\(name, value\): value is a function/,
  /^TypeError: value\.set\(value\): value is a function/,
  /^TypeError: value\.compareExchange\(expected, value\): value is a function/,
  /^TypeError: queue\.put\(item\): item is a symbol/,
];

function assertEveryStoreRefused(messages: string[]): void {
  assert.equal(messages.length, EVERY_STORE.length);
  for (const [i, message] of messages.entries()) assert.match(message, EVERY_STORE[i] as RegExp);
}

/** The batch's outcome: the good calls stored, each bad one rejected alone with why. */
async function assertBatchOutcome(outcome: string[], d: import('skein').DictProxy<unknown, unknown>): Promise<void> {
  assert.equal(outcome[0], 'ok');
  assert.match(
    outcome[1] as string,
    /^rejected: set\(\.\.\.\): arguments cannot be cloned \(#<Object> could not be cloned\.\)/,
  );
  assert.equal(outcome[2], 'ok');
  assert.match(
    outcome[3] as string,
    /^rejected: get\(\.\.\.\): arguments\[0\] is a function \(function \(anonymous\)\), which cannot/,
  );
  assert.equal(outcome[4], 'ok');
  assert.deepEqual(
    [await d.get('before'), await d.get('middle'), await d.get('after'), await d.has('proxy')],
    [1, 2, 3, false],
  );
}

describe('values that cannot be cloned (clone-check.ts), through Manager proxies and Pipes', () => {
  it('the issue repro: a Process child catches the clear error and exits 0', async () => {
    await using manager = await Manager.start();
    const d = manager.dict<string, unknown>();
    const p = new Process({ target: storeFunctionAndReport, args: [d] });
    p.start();
    await p.join(10_000);
    assert.equal(p.exitCode, 0);
    assert.match((await d.get('message')) as string, FUNCTION_IN_VALUE);
    assert.equal(await d.has('k'), false);
  });

  it('in a Process child, the good calls batched with bad ones still succeed', async () => {
    await using manager = await Manager.start();
    const d = manager.dict<unknown, unknown>();
    const p = new Process({ target: batchWithBadCalls, args: [d] });
    p.start();
    await p.join(10_000);
    assert.equal(p.exitCode, 0);
    await assertBatchOutcome((await d.get('outcome')) as string[], d);
  });

  it('in a Process child, every storing method refuses a function with its own message', async () => {
    await using manager = await Manager.start();
    const report = manager.list<string>();
    const p = new Process({
      target: everyStoreRefusedAndReport,
      args: [
        manager.dict<string, unknown>(),
        manager.list(),
        manager.Namespace(),
        manager.Value<unknown>('i', 0),
        manager.Queue(),
        report,
      ],
    });
    p.start();
    await p.join(10_000);
    assert.equal(p.exitCode, 0);
    assertEveryStoreRefused(await report.toArray());
  });

  for (const backend of BACKENDS) {
    it(`in a ${backend.name} task: the repro, every storing method, and a batch with bad calls`, async () => {
      await using manager = await Manager.start();
      await using pool = backend.create({ maxWorkers: 1 });
      const d = manager.dict<string, unknown>();
      assert.match(await pool.submit(storeFunction, d), FUNCTION_IN_VALUE);
      assertEveryStoreRefused(
        await pool.submit(
          everyStoreRefused,
          manager.dict<string, unknown>(),
          manager.list(),
          manager.Namespace(),
          manager.Value<unknown>('i', 0),
          manager.Queue(),
        ),
      );
      const batch = manager.dict<unknown, unknown>();
      await assertBatchOutcome(await pool.submit(batchWithBadCalls, batch), batch);
    });
  }

  it('in the parent: every storing method, and calls the check does not see, refuse with the same messages', async () => {
    await using manager = await Manager.start();
    assert.match(await storeFunction(manager.dict()), FUNCTION_IN_VALUE);
    assertEveryStoreRefused(
      await everyStoreRefused(
        manager.dict(),
        manager.list(),
        manager.Namespace(),
        manager.Value<unknown>('i', 0),
        manager.Queue(),
      ),
    );
    const batch = manager.dict<unknown, unknown>();
    await assertBatchOutcome(await batchWithBadCalls(batch), batch);
  });

  it('Connection.send names the culprit, in this thread and to a Process child', async () => {
    const [a, b] = Pipe();
    assert.throws(() => a.send({ list: [1, { cb: () => 2 }] }), {
      name: 'TypeError',
      message: /^send\(value\): value\.list\[1\]\.cb is a function \(function cb\), which cannot be cloned/,
    });
    a.send('still works');
    assert.equal(await b.recv(), 'still works');
    a.close();
    b.close();

    const [mine, theirs] = Pipe();
    const child = new Process({ target: echo, args: [theirs] });
    child.start();
    assert.throws(() => mine.send(new Map([['k', Symbol('s')]])), {
      name: 'TypeError',
      message: /^send\(value\): value\.get\(0\) is a symbol, which cannot be cloned/,
    });
    mine.send('after');
    assert.equal(await mine.recv(), 'after');
    mine.close();
    await child.join(10_000);
    assert.equal(child.exitCode, 0);
  });
});
