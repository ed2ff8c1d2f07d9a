// asyncio's primitives in one event loop: a Semaphore caps concurrent "downloads", an Event is a
// starting gun, a Condition lets a consumer wait for a batch, a PriorityQueue orders jobs, a
// LifoQueue is a stack, a BoundedSemaphore catches a release too many, and an RLock can be
// re-entered by its thread. The same objects work across worker threads too.
import { BoundedSemaphore, Condition, Event, LifoQueue, Lock, PriorityQueue, RLock, Semaphore, sleep } from 'skein';

// Semaphore: at most 2 downloads at once, however many are started.
const slots = new Semaphore(2);
let running = 0;
let mostAtOnce = 0;
const download = (n: number) =>
  slots.withPermit(async () => {
    mostAtOnce = Math.max(mostAtOnce, ++running);
    await sleep(10);
    running--;
    return n;
  });

// Event: nobody starts before the gun.
const go = new Event();
const started = Promise.all(
  [1, 2, 3, 4, 5].map(async (n) => {
    await go.wait();
    return download(n);
  }),
);
go.set();
console.log('downloaded', await started, 'with at most', mostAtOnce, 'at once');

// Condition: the consumer waits until the producer has put a whole batch.
const batch: number[] = [];
const ready = new Condition(new Lock());
const consumer = ready.withLock(async () => {
  await ready.waitFor(() => batch.length >= 3);
  return batch.splice(0);
});
for (const item of [10, 20, 30]) {
  await sleep(1);
  await ready.withLock(() => {
    batch.push(item);
    ready.notify();
  });
}
console.log('consumed batch', await consumer);

// PriorityQueue: the lowest number first, as Python's (priority, item) tuples.
const jobs = new PriorityQueue<[number, string]>();
for (const job of [
  [3, 'low'],
  [1, 'urgent'],
  [2, 'normal'],
] as [number, string][])
  await jobs.put(job);
const order: string[] = [];
while (!jobs.empty()) order.push((await jobs.get())[1]);
console.log('jobs in order', order);

// LifoQueue: last in, first out.
const stack = new LifoQueue<string>();
for (const page of ['home', 'list', 'item']) stack.putNowait(page);
const back: string[] = [];
while (!stack.empty()) back.push(stack.getNowait());
console.log('back through', back);

// BoundedSemaphore: releasing more than was acquired is a bug, and it says so.
const pool = new BoundedSemaphore(1);
await pool.acquire();
pool.release();
try {
  pool.release();
} catch (error) {
  console.log((error as Error).message);
}

// RLock: the holding thread may take it again (release as many times).
const rlock = new RLock();
await rlock.acquire();
await rlock.acquire();
console.log('rlock level', rlock.recursionLevel);
rlock.release();
rlock.release();
console.log('rlock free', !rlock.locked);
