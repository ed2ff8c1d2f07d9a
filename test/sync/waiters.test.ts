/**
 * The waiter list every primitive's async waits share (src/sync/waiters.ts): a wait that gives up
 * leaves it at once and leaves nothing behind (the Condition has its own test).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { abortedWaits } from './aborted-waits.ts';

describe('aborted waits', () => {
  for (const kind of ['Lock', 'Semaphore', 'Event', 'Queue', 'Barrier']) {
    it(`${kind}: 20,000 aborted waits keep the heap flat`, async () => {
      const report = await abortedWaits(kind, 20_000);
      assert.ok(report.grewMb < 8, `the heap grew ${report.grewMb.toFixed(1)} MB`);
    });
  }
});
