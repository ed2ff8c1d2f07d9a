// asyncio's structured concurrency in one event loop:
//
//   async with asyncio.TaskGroup() as tg:        ->  await TaskGroup.run(async (group) => { group.spawn(...) })
//   async with asyncio.timeout(0.05): ...        ->  await timeout(50, (signal) => ...)
//   for coro in asyncio.as_completed(aws): ...   ->  for await (const p of asCompleted(promises)) ...
//   (a bounded, lazy map, as aiostream does)     ->  for await (const r of mapConcurrent(items, fn, { concurrency }))
//
// Every child gets an AbortSignal: when a sibling fails, or a deadline passes, the signal tells
// the others to stop, and nothing is left running after the block.
import { asCompleted, mapConcurrent, sleep, TaskGroup, TimeoutError, timeout } from 'skein';

// TaskGroup: the first failure aborts the siblings' signal; the group then rejects with an
// AggregateError of every failure, once every child has settled.
const stopped: string[] = [];
try {
  await TaskGroup.run(async (group) => {
    for (const name of ['a', 'b']) {
      group.spawn(async (signal) => {
        try {
          await sleep(10_000, { signal });
        } finally {
          stopped.push(name);
        }
      });
    }
    group.spawn(async () => {
      await sleep(5);
      throw new Error('c failed');
    });
  });
} catch (error) {
  const failures = (error as AggregateError).errors.map((e: Error) => e.message);
  console.log('group failed with', failures, 'and stopped', stopped.sort());
}

// timeout: the work's signal aborts at the deadline, and the call rejects with TimeoutError.
try {
  await timeout(20, (signal) => sleep(10_000, { signal }));
} catch (error) {
  console.log('timeout:', error instanceof TimeoutError);
}
console.log('in time:', await timeout(1_000, async () => 'done'));

// asCompleted over plain promises: yields each one as it settles.
const delays = [30, 10, 20];
const finishOrder: number[] = [];
for await (const settled of asCompleted(delays.map((ms) => sleep(ms).then(() => ms)))) {
  finishOrder.push(await settled);
}
console.log('finished in order', finishOrder);

// mapConcurrent: at most 2 calls at once, reading the input only as calls finish, results in
// input order.
let running = 0;
let mostAtOnce = 0;
const squares: number[] = [];
for await (const square of mapConcurrent(
  [1, 2, 3, 4, 5, 6],
  async (n) => {
    mostAtOnce = Math.max(mostAtOnce, ++running);
    await sleep(7 - n);
    running--;
    return n * n;
  },
  { concurrency: 2 },
)) {
  squares.push(square);
}
console.log('squares', squares, 'with at most', mostAtOnce, 'at once');
