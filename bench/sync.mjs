// The synchronisation workloads of `npm run bench`: skein's primitives in one event loop against
// async-mutex and p-limit (and asyncio), and across threads against what Node and Python offer
// for the same job (postMessage between two workers; threading.Lock, queue.Queue).
import { Worker } from 'node:worker_threads';
import { Mutex, Semaphore as MutexSemaphore } from 'async-mutex';
import pLimit from 'p-limit';
import { Barrier, gather, Lock, Queue, Semaphore, SharedValue, ThreadPoolExecutor } from 'skein';
import { withCpuHog } from './load.mjs';
import { lockLoop, queueConsume, queueProduce } from './tasks.mjs';

const CONTENDERS = 100;
/** Work done inside the sections, so that no engine can drop them as dead code. */
const work = { sections: 0 };
const LIMIT = 8;

/** ops/s of `run`, which performs `n` operations. */
async function rate(n, run) {
  const t0 = performance.now();
  await run();
  return n / ((performance.now() - t0) / 1000);
}

/** Every task does one short section under the lock, yielding once inside it (as real work would). */
export function inLoopLock({ measure, python, pythonRun }, n) {
  const contend = (section) => async () => {
    const lanes = [];
    for (let k = 0; k < CONTENDERS; k++) {
      lanes.push(
        (async () => {
          for (let i = 0; i < n / CONTENDERS; i++) await section();
        })(),
      );
    }
    await Promise.all(lanes);
  };
  const lock = new Lock();
  const mutex = new Mutex();
  return measure(
    `Lock in one event loop: ${n.toLocaleString('en')} sections, ${CONTENDERS} async tasks contending`,
    'sections/s',
    'higher',
    [
      {
        name: 'skein Lock.withLock',
        once: () =>
          rate(
            n,
            contend(() =>
              lock.withLock(async () => {
                work.sections++;
                await null;
              }),
            ),
          ),
      },
      {
        name: 'async-mutex Mutex.runExclusive',
        once: () =>
          rate(
            n,
            contend(() =>
              mutex.runExclusive(async () => {
                work.sections++;
                await null;
              }),
            ),
          ),
      },
      ...(python ? [{ name: 'Python asyncio.Lock', once: () => n / (pythonRun('asyncio-lock', 1, n).ms / 1000) }] : []),
    ],
  );
}

/** `n` async jobs started at once, at most LIMIT running. */
function limitedJobs(n) {
  const job = async () => {
    work.sections++;
    await null;
  };
  const all = (start) => async () => {
    const promises = new Array(n);
    for (let i = 0; i < n; i++) promises[i] = start();
    await Promise.all(promises);
  };
  return { job, all };
}

/**
 * The least a limiter can do, for the reference row: a promise per job, a `then` on the job's
 * promise that starts the next queued job and then settles the caller's. No timeouts, signals,
 * threads or error checks: what every in-loop limiter pays at the least.
 */
function simplestLimiter(limit) {
  let running = 0;
  let head;
  let tail;
  const start = (entry) => {
    running++;
    let result;
    try {
      result = entry.fn();
    } catch (error) {
      finish();
      entry.reject(error);
      return;
    }
    Promise.resolve(result).then(
      (value) => {
        finish();
        entry.resolve(value);
      },
      (error) => {
        finish();
        entry.reject(error);
      },
    );
  };
  const finish = () => {
    running--;
    const next = head;
    if (next === undefined) return;
    head = next.next;
    if (head === undefined) tail = undefined;
    start(next);
  };
  return (fn) =>
    new Promise((resolve, reject) => {
      const entry = { fn, resolve, reject, next: undefined };
      if (running < limit) start(entry);
      else {
        if (tail) tail.next = entry;
        else head = entry;
        tail = entry;
      }
    });
}

export function inLoopSemaphore({ measure }, n) {
  const { job, all } = limitedJobs(n);
  const semaphore = new Semaphore(LIMIT);
  const limit = pLimit(LIMIT);
  const mutexSemaphore = new MutexSemaphore(LIMIT);
  const simplest = simplestLimiter(LIMIT);
  return measure(
    `Semaphore in one event loop: ${n.toLocaleString('en')} jobs started at once, ${LIMIT} at a time`,
    'jobs/s',
    'higher',
    [
      {
        name: 'skein Semaphore.withPermit',
        once: () =>
          rate(
            n,
            all(() => semaphore.withPermit(job)),
          ),
      },
      {
        name: 'p-limit',
        once: () =>
          rate(
            n,
            all(() => limit(job)),
          ),
      },
      {
        name: 'async-mutex Semaphore.runExclusive',
        once: () =>
          rate(
            n,
            all(() => mutexSemaphore.runExclusive(job)),
          ),
      },
      {
        name: '(reference) the simplest limiter (a promise and a then per job, nothing else)',
        once: () =>
          rate(
            n,
            all(() => simplest(job)),
          ),
      },
      {
        // Each job's own async function, its promise and Promise.all, nothing limiting them: all
        // n run at once, so n suspended jobs are alive together (a limiter can beat this row).
        name: '(reference) the same jobs with no limiter at all',
        once: () =>
          rate(
            n,
            all(() => job()),
          ),
      },
    ],
    'The `(reference)` rows are not peers: they bound what a limiter can do here (docs/performance.md).',
  );
}

export function inLoopGather({ measure }, n) {
  const { job, all } = limitedJobs(n);
  const limit = pLimit(LIMIT);
  return measure(
    `gather with a concurrency limit: ${n.toLocaleString('en')} jobs, ${LIMIT} at a time`,
    'jobs/s',
    'higher',
    [
      {
        name: 'skein gather({ concurrency })',
        once: () =>
          rate(n, () =>
            gather(
              Array.from({ length: n }, () => job),
              { concurrency: LIMIT },
            ),
          ),
      },
      {
        name: 'p-limit + Promise.all',
        once: () =>
          rate(
            n,
            all(() => limit(job)),
          ),
      },
    ],
  );
}

/** Two worker threads taking turns on one lock, blocking (acquireSync), as Python threads do. */
export function crossThreadLock({ measure, python, pythonRun }, workers, n) {
  return measure(
    `Lock across threads: ${n.toLocaleString('en')} acquire/release pairs from ${workers} threads`,
    'acquisitions/s',
    'higher',
    [
      {
        name: 'skein Lock (acquireSync in workers)',
        once: async () => {
          const pool = new ThreadPoolExecutor({ maxWorkers: workers, minWorkers: workers });
          try {
            const lock = new Lock();
            const counter = new SharedValue('int32', 0);
            // Warm: workers up and the task module loaded before the clock starts.
            const warm = new Barrier(workers);
            await Promise.all(Array.from({ length: workers }, () => pool.submit(lockLoop, lock, counter, 1, warm)));
            const start = new Barrier(workers + 1);
            const runs = Array.from({ length: workers }, () =>
              pool.submit(lockLoop, lock, counter, n / workers, start),
            );
            await start.wait();
            return await rate(n, () => Promise.all(runs));
          } finally {
            await pool.shutdown();
          }
        },
      },
      ...(python
        ? [{ name: 'Python threading.Lock (GIL)', once: () => n / (pythonRun('thread-lock', workers, n).ms / 1000) }]
        : []),
    ],
    'Both sides take the lock in a tight loop, so nearly every acquisition is a hand-off between threads.',
  );
}

const POST_MESSAGE_PEER = `
const { parentPort, workerData } = require('node:worker_threads');
const { role, port, n } = workerData;
parentPort.once('message', () => {
  if (role === 'produce') { for (let i = 0; i < n; i++) port.postMessage(i); }
  else { let got = 0; port.on('message', () => { if (++got === n) { parentPort.postMessage('done'); port.close(); } }); parentPort.postMessage('ready'); return; }
});
if (role === 'consume') parentPort.postMessage('listening');
`;

/** The plain Node way: a MessageChannel between two workers, one message per item. */
async function postMessageItems(n, before) {
  const { port1, port2 } = new MessageChannel();
  const consumer = new Worker(POST_MESSAGE_PEER, {
    eval: true,
    workerData: { role: 'consume', port: port2, n },
    transferList: [port2],
  });
  const producer = new Worker(POST_MESSAGE_PEER, {
    eval: true,
    workerData: { role: 'produce', port: port1, n },
    transferList: [port1],
  });
  const next = (worker, what) => new Promise((resolve) => worker.on('message', (m) => m === what && resolve()));
  await next(consumer, 'listening');
  consumer.postMessage('go');
  await next(consumer, 'ready');
  await before();
  const done = next(consumer, 'done');
  const t0 = performance.now();
  producer.postMessage('go');
  await done;
  const perSecond = n / ((performance.now() - t0) / 1000);
  await Promise.all([consumer.terminate(), producer.terminate()]);
  return perSecond;
}

/** The systems of the Queue rows; `before()` runs before each measurement (the busy row starts its hog there). */
function queueSystems({ python, pythonRun }, n, before = async () => {}) {
  return [
    {
      name: 'skein Queue (putSync / getSync, maxsize 1024)',
      once: async () => {
        const pool = new ThreadPoolExecutor({ maxWorkers: 2, minWorkers: 2 });
        try {
          const queue = new Queue({ maxsize: 1024 });
          const warm = new Barrier(2);
          await Promise.all([pool.submit(queueProduce, queue, 1, warm), pool.submit(queueConsume, queue, 1, warm)]);
          await before();
          const start = new Barrier(3);
          const runs = [pool.submit(queueProduce, queue, n, start), pool.submit(queueConsume, queue, n, start)];
          await start.wait();
          return await rate(n, () => Promise.all(runs));
        } finally {
          await pool.shutdown();
        }
      },
    },
    {
      name: 'Node postMessage (MessageChannel between two workers)',
      once: async () => postMessageItems(n, before),
    },
    ...(python
      ? [
          {
            name: 'Python queue.Queue (two threads)',
            once: async () => {
              await before();
              return n / (pythonRun('thread-queue', 2, n).ms / 1000);
            },
          },
        ]
      : []),
  ];
}

export function crossThreadQueue(context, n) {
  return context.measure(
    `Queue across threads: ${n.toLocaleString('en')} items from one thread to another`,
    'items/s',
    'higher',
    queueSystems(context, n),
  );
}

/** The same with one CPU-bound process running on the machine's cores all along (bench/load.mjs). */
export function crossThreadQueueBusy(context, n) {
  return withCpuHog((startHog) =>
    context.measure(
      `Queue across threads, busy machine: ${n.toLocaleString('en')} items from one thread to another, one CPU-bound process running`,
      'items/s',
      'higher',
      queueSystems(context, n, startHog),
      'A CPU-bound process (a Node child in an endless loop) runs from the first measurement of this row to its end, ' +
        'so every system competes with it for the 2 cores: 3 runnable threads on 2 cores.',
    ),
  );
}
