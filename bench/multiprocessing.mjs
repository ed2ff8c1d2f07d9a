// The multiprocessing rows of `npm run bench` (issue 11): skein's Pool.map on processes against
// Python's multiprocessing.Pool.map, a Pipe round trip between the parent and a child process
// against Python's Pipe, a Manager dict set+get from a child against Python's Manager, and items
// through a Queue from one process to another against Python's multiprocessing.Queue. Python runs
// with the machine's python3, in the same run.
import { execFileSync } from 'node:child_process';
import { Event, Manager, Pipe, Pool, Process, Queue } from 'skein';
import { consumeItems, dictRoundTrips, echo, produceItems } from './mp-tasks.mjs';
import { inc } from './tasks.mjs';

const pythonMicroseconds = (python, workload, n) =>
  JSON.parse(
    execFileSync(python, [new URL('./multiprocessing_bench.py', import.meta.url).pathname, workload, String(n)], {
      encoding: 'utf8',
    }),
  ).us;

/** Pool.map of `n` tiny items on `workers` processes, vs Python's Pool.map (default chunksize). */
export function poolMap({ measure, python, pythonRun }, workers, n) {
  return measure(
    `Pool.map (processes): ${n.toLocaleString('en')} tiny items, ${workers} workers`,
    'items/s',
    'higher',
    [
      {
        name: 'skein Pool.map',
        once: async () => {
          const pool = new Pool(workers);
          try {
            await pool.map(
              inc,
              Array.from({ length: workers * 2 }, (_, i) => i),
              1,
            ); // start the workers
            const input = Array.from({ length: n }, (_, i) => i);
            const t0 = performance.now();
            const out = await pool.map(inc, input);
            const s = (performance.now() - t0) / 1000;
            if (out.length !== n || out[n - 1] !== n) throw new Error('Pool.map: wrong result');
            return n / s;
          } finally {
            pool.close();
            await pool.join();
          }
        },
      },
      ...(python
        ? [{ name: 'Python multiprocessing Pool.map', once: () => n / (pythonRun('pool-map', workers, n).ms / 1000) }]
        : []),
    ],
  );
}

/** One value sent to a child and echoed back, `n` times in a row: µs per round trip. */
export function pipeRoundTrip({ measure, python }, n) {
  return measure(`Pipe round trip: parent → child process → parent, ${n.toLocaleString('en')} times`, 'µs', 'lower', [
    {
      name: 'skein Pipe + Process',
      once: async () => {
        const [mine, theirs] = Pipe();
        const child = new Process({ target: echo, args: [theirs] });
        child.start();
        for (let i = 0; i < 500; i++) {
          mine.send(i);
          await mine.recv();
        }
        const t0 = performance.now();
        for (let i = 0; i < n; i++) {
          mine.send(i);
          if ((await mine.recv()) !== i) throw new Error('Pipe: wrong echo');
        }
        const us = ((performance.now() - t0) * 1000) / n;
        mine.close();
        await child.join();
        return us;
      },
    },
    ...(python
      ? [{ name: 'Python multiprocessing Pipe + Process', once: () => pythonMicroseconds(python, 'pipe', n) }]
      : []),
  ]);
}

/** A child process sets a key of a Manager dict and reads it back, `n` times: µs per set+get. */
export function managerDictRoundTrip({ measure, python }, n) {
  return measure(`Manager dict set+get from a child process, ${n.toLocaleString('en')} times`, 'µs', 'lower', [
    {
      name: 'skein Manager + Process',
      once: async () => {
        const manager = await Manager.start();
        try {
          const d = manager.dict();
          const child = new Process({ target: dictRoundTrips, args: [d, n] });
          child.start();
          await child.join();
          if (child.exitCode !== 0) throw new Error(`Manager dict: the child exited with ${child.exitCode}`);
          return await d.get('us');
        } finally {
          await manager.shutdown();
        }
      },
    },
    ...(python
      ? [
          {
            name: 'Python multiprocessing Manager + Process',
            once: () => pythonMicroseconds(python, 'manager-dict', n),
          },
        ]
      : []),
  ]);
}

const pythonQueue = (python, n) =>
  JSON.parse(
    execFileSync(python, [new URL('./multiprocessing_bench.py', import.meta.url).pathname, 'queue', String(n)], {
      encoding: 'utf8',
    }),
  );

/**
 * `n` numbers from a producer process to a consumer process through one Queue of the parent:
 * items per second, timed by the parent from the producer's go to the consumer's report, both
 * processes already started (their start-up is not counted). skein's consumer
 * takes them with `getMany` (one trip to the parent per batch); Python's with `get()`, its only way.
 */
export function queueBetweenProcesses({ measure, python }, n) {
  return measure(
    `Queue between processes: ${n.toLocaleString('en')} numbers, producer Process → consumer Process`,
    'items/s',
    'higher',
    [
      {
        name: 'skein Queue (proxies; consumer getMany)',
        once: async () => {
          const queue = new Queue();
          const results = new Queue();
          const ready = new Event();
          const go = new Event();
          const consumer = new Process({ target: consumeItems, args: [queue, results, ready] });
          const producer = new Process({ target: produceItems, args: [queue, n, go] });
          consumer.start();
          producer.start();
          await ready.wait();
          const t0 = performance.now();
          go.set();
          const { items, sum } = await results.get();
          const seconds = (performance.now() - t0) / 1000;
          await Promise.all([consumer.join(), producer.join()]);
          if (items !== n || sum !== (n * (n - 1)) / 2) throw new Error('Queue: items lost or duplicated');
          return items / seconds;
        },
      },
      ...(python
        ? [
            {
              name: 'Python multiprocessing.Queue',
              once: () => {
                const { items, seconds } = pythonQueue(python, n);
                if (items !== n) throw new Error('Python Queue: items lost');
                return items / seconds;
              },
            },
          ]
        : []),
    ],
  );
}
