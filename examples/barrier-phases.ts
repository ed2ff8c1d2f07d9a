// Threads that work in phases (Python's threading.Barrier): two worker threads smooth a shared
// array step by step, each on its half, and meet at a Barrier after every step so that nobody
// reads a neighbour's cells before they are written. The array lives in shared memory
// (SharedArray, Python's multiprocessing.Array): no copying between threads.
import { Barrier, SharedArray, ThreadPoolExecutor } from 'skein';

/** One half of each step, on a worker thread. Self-contained, so it travels as source. */
function smooth(
  cells: [SharedArray<'float64'>, SharedArray<'float64'>],
  from: number,
  to: number,
  steps: number,
  barrier: Barrier,
): number {
  for (let step = 0; step < steps; step++) {
    const read = cells[step % 2] as SharedArray<'float64'>;
    const write = cells[(step + 1) % 2] as SharedArray<'float64'>;
    const last = read.length - 1;
    for (let i = from; i < to; i++) {
      const left = read.array[Math.max(0, i - 1)] as number;
      const right = read.array[Math.min(last, i + 1)] as number;
      write.array[i] = (left + (read.array[i] as number) + right) / 3;
    }
    barrier.waitSync({ timeout: 10_000 }); // everyone has written this step
  }
  return steps;
}

const size = 1000;
const steps = 200;
const start = Array.from({ length: size }, (_, i) => (i === size / 2 ? size : 0)); // all heat in the middle
const cells: [SharedArray<'float64'>, SharedArray<'float64'>] = [
  new SharedArray('float64', start),
  new SharedArray('float64', size),
];
const barrier = new Barrier(2);
await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
await Promise.all([
  pool.submit(smooth, cells, 0, size / 2, steps, barrier),
  pool.submit(smooth, cells, size / 2, size, steps, barrier),
]);
const result = (cells[steps % 2] as SharedArray<'float64'>).toArray();
const total = result.reduce((a, b) => a + b, 0);
console.log(`after ${steps} steps: middle ${result[size / 2]?.toFixed(3)}, total heat ${total.toFixed(3)}`);
