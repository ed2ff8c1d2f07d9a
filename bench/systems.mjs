// One adapter per system, so every workload drives each of them the same way, each through its
// fastest public path. Workers are started and warmed before anything is timed.
import { availableParallelism } from 'node:os';
import Piscina from 'piscina';
import { ProcessPoolExecutor, ThreadPoolExecutor } from 'skein';
import Tinypool from 'tinypool';
import workerpool from 'workerpool';
import { countPrimes, inc, sumArray } from './tasks.mjs';

const tasksUrl = new URL('./tasks.mjs', import.meta.url).href;
const workerpoolScript = new URL('./workerpool-worker.mjs', import.meta.url).pathname;
export const WORKERS = availableParallelism();

const FUNCTIONS = { inc, countPrimes, sumArray };

/**
 * A peer's fastest public way to map: a loop of `run`, keeping a bounded window in flight.
 * (All one million at once is slower for every peer, and pathological for tinypool, whose
 * queue degrades with a million pending tasks: 1.6k items/s measured here.)
 */
async function windowedLoop(items, runOne, window = 1024) {
  const out = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await runOne(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, items.length) }, lane));
  return out;
}

function skein(name, Executor) {
  return {
    name,
    async create(workers = WORKERS) {
      const pool = new Executor({ maxWorkers: workers, minWorkers: workers });
      await Promise.all(Array.from({ length: workers * 2 }, (_, i) => pool.submit(inc, i)));
      return pool;
    },
    run: (pool, fn, arg) => pool.submit(FUNCTIONS[fn], arg),
    map: (pool, fn, items) => pool.map(FUNCTIONS[fn], items).toArray(),
    async mapForAwait(pool, fn, items) {
      const out = [];
      for await (const value of pool.map(FUNCTIONS[fn], items)) out.push(value);
      return out;
    },
    sum: (pool, values, mode) =>
      mode === 'transfer'
        ? pool.submitWith({ transfer: [values.buffer] }, sumArray, values)
        : pool.submit(sumArray, values),
    close: (pool) => pool.shutdown(),
  };
}

/**
 * piscina and tinypool share one API (tinypool began as a piscina fork): `run(arg, { name })`
 * on a pool made from a filename. Only construction and how a buffer is moved differ.
 */
function runByName(name, makePool, moveOptions) {
  return {
    name,
    async create(workers = WORKERS) {
      const pool = makePool({ filename: tasksUrl, minThreads: workers, maxThreads: workers, idleTimeout: 60_000 });
      await Promise.all(Array.from({ length: workers * 2 }, (_, i) => pool.run(i, { name: 'inc' })));
      return pool;
    },
    run: (pool, fn, arg) => pool.run(arg, { name: fn }),
    map: (pool, fn, items) => windowedLoop(items, (x) => pool.run(x, { name: fn })),
    sum: (pool, values, mode) =>
      mode === 'transfer' ? pool.run(...moveOptions(values)) : pool.run(values, { name: 'sumArray' }),
    close: (pool) => pool.destroy(),
  };
}

const piscina = () =>
  runByName(
    'piscina',
    (options) => new Piscina(options),
    (values) => [Piscina.move(values), { name: 'sumArray' }],
  );

const tinypool = (runtime) =>
  runByName(
    runtime === 'child_process' ? 'tinypool (child_process)' : 'tinypool',
    (options) => new Tinypool({ ...options, runtime }),
    (values) => [values, { name: 'sumArray', transferList: [values.buffer] }],
  );

function workerpoolSystem(workerType) {
  return {
    name: workerType === 'process' ? 'workerpool (process)' : 'workerpool',
    async create(workers = WORKERS) {
      const pool = workerpool.pool(workerpoolScript, { minWorkers: workers, maxWorkers: workers, workerType });
      await Promise.all(Array.from({ length: workers * 2 }, (_, i) => pool.exec('inc', [i])));
      return pool;
    },
    run: (pool, fn, arg) => pool.exec(fn, [arg]),
    map: (pool, fn, items) => windowedLoop(items, (x) => pool.exec(fn, [x])),
    sum: (pool, values, mode) =>
      mode === 'transfer'
        ? pool.exec('sumArray', [values], { transfer: [values.buffer] })
        : pool.exec('sumArray', [values]),
    close: (pool) => pool.terminate(),
  };
}

export const THREAD_SYSTEMS = [
  skein('skein', ThreadPoolExecutor),
  piscina(),
  tinypool('worker_threads'),
  workerpoolSystem('thread'),
];
export const PROCESS_SYSTEMS = [
  skein('skein (processes)', ProcessPoolExecutor),
  tinypool('child_process'),
  workerpoolSystem('process'),
];
