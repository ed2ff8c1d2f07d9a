/**
 * Submit, cancel, abort and shut down at random, many rounds, and check that every future
 * settles exactly once, with its right value or CancelledError, and that nothing is left over.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CancelledError, type Future } from 'skein';
import { slowSquare, square } from '../fixtures/tasks.ts';
import { BACKENDS, sleep } from '../helpers.ts';

/** A small seeded PRNG (mulberry32) so that a failing round can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ROUNDS = 6;
const TASKS = 300;

for (const backend of BACKENDS) {
  describe(`${backend.name} under random submit / cancel / abort / shutdown`, () => {
    for (let round = 0; round < ROUNDS; round++) {
      const seed = 1000 + round;
      it(`round ${round} (seed ${seed}): every future settles exactly once, correctly`, async () => {
        const rand = random(seed);
        const ex = backend.create({ maxWorkers: 2, abortGracePeriod: 10 });
        const futures: { future: Future<number>; expected: number; settledCalls: number }[] = [];
        const controllers: AbortController[] = [];
        for (let i = 0; i < TASKS; i++) {
          const roll = rand();
          let future: Future<number>;
          if (roll < 0.15) {
            const controller = new AbortController();
            controllers.push(controller);
            future = ex.submitWith({ signal: controller.signal }, slowSquare, i, Math.floor(rand() * 5));
          } else if (roll < 0.3) {
            future = ex.submit(slowSquare, i, Math.floor(rand() * 3));
          } else {
            future = ex.submit(square, i);
          }
          const entry = { future, expected: i * i, settledCalls: 0 };
          future.addDoneCallback(() => entry.settledCalls++);
          futures.push(entry);
          if (rand() < 0.1) future.cancel();
          if (rand() < 0.05) await sleep(Math.floor(rand() * 5));
          if (rand() < 0.05 && controllers.length > 0) controllers[Math.floor(rand() * controllers.length)]?.abort();
        }
        const cancelFutures = rand() < 0.5;
        if (rand() < 0.5) await sleep(Math.floor(rand() * 20));
        await ex.shutdown({ cancelFutures });

        let cancelled = 0;
        for (const { future, expected, settledCalls } of futures) {
          assert.equal(future.done, true, 'settled by the time shutdown resolves');
          assert.equal(settledCalls, 1, 'done callbacks ran exactly once');
          if (future.cancelled) {
            cancelled++;
            assert.ok((await future.exception().catch((e) => e)) instanceof CancelledError);
          } else {
            assert.equal(await future, expected);
          }
        }
        const stats = ex.stats;
        assert.deepEqual(
          { workers: stats.workers, queued: stats.queued, running: stats.running },
          { workers: 0, queued: 0, running: 0 },
        );
        assert.equal(stats.completed + stats.cancelled, TASKS, JSON.stringify(stats));
        assert.equal(stats.cancelled, cancelled);
      });
    }
  });
}
