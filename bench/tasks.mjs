// The task functions every system runs. Plain JavaScript, so no system pays for a TypeScript
// loader. skein submits these by reference; piscina and tinypool call them by export name;
// workerpool through bench/workerpool-worker.mjs. (The bench runs after `npm run build`.)
import { countPrimesInRange } from '../dist/cli/demo-tasks.js';

export function inc(x) {
  return x + 1;
}

/** CPU-bound: the demo's prime counter below `limit` (~50 ms for the limit bench/run.mjs picks). */
export function countPrimes(limit) {
  return countPrimesInRange(2, limit);
}

/** Sums a Float64Array (copied, transferred, or over a SharedArrayBuffer). */
export function sumArray(values) {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return total;
}

/** Cross-thread lock: `n` blocking acquire/release pairs, each adding 1 to a shared counter. */
export function lockLoop(lock, counter, n, start) {
  start.waitSync();
  for (let i = 0; i < n; i++) {
    lock.acquireSync();
    counter.value += 1;
    lock.release();
  }
  return n;
}

export function queueProduce(queue, n, start) {
  start.waitSync();
  for (let i = 0; i < n; i++) queue.putSync(i);
  return n;
}

export function queueConsume(queue, n, start) {
  start.waitSync();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += queue.getSync();
  return sum;
}
