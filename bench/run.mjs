// `npm run bench`: skein against piscina, tinypool, workerpool and Python in the same run.
// Each workload runs every system once per repeat, systems alternating, then reports the
// median and min–max of the repeats and skein's ratio to the best peer. Writes bench/results.md.
//
//   node bench/run.mjs [--quick] [--only NAME,NAME]     (--quick: tiny sizes, 1 repeat: a smoke run)
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { cliMap } from './cli-map.mjs';
import { dataFrames } from './data.mjs';
import { distributedMap } from './distributed.mjs';
import { gpuKernels } from './gpu.mjs';
import { graphRows } from './graph.mjs';
import { withCpuHogs } from './load.mjs';
import { managerDictRoundTrip, pipeRoundTrip, poolMap, queueBetweenProcesses } from './multiprocessing.mjs';
import {
  crossThreadLock,
  crossThreadQueue,
  crossThreadQueueBusy,
  inLoopGather,
  inLoopLock,
  inLoopSemaphore,
} from './sync.mjs';
import { PROCESS_SYSTEMS, THREAD_SYSTEMS, WORKERS } from './systems.mjs';
import { countPrimes } from './tasks.mjs';

const { values: flags } = parseArgs({
  options: { quick: { type: 'boolean' }, only: { type: 'string' }, out: { type: 'string' } },
});
const QUICK = flags.quick ?? false;
const REPEATS = QUICK ? 1 : Number(process.env.BENCH_REPEATS ?? 5);
const only = flags.only?.split(',');
// Peers have no map: their loop of run() goes at a flat ~30k items/s (7k with processes), so
// they get fewer items (the rate does not depend on the count) to keep the run under 10 minutes.
const SIZES = QUICK
  ? {
      tiny: 2_000,
      latency: 200,
      bulk: 20_000,
      bulkPeers: 5_000,
      processTiny: 1_000,
      processBulkPeers: 2_000,
      cpuTasks: 4,
      inLoop: 10_000,
      crossThread: 20_000,
      distributed: 1_000,
      dataRows: 200_000,
      graphNodes: 2_000,
      graphChain: 2_000,
      parallelCalls: 20_000,
      memoryHits: 200,
      pipe: 500,
      managerDict: 200,
      mpQueue: 5_000,
    }
  : {
      tiny: 100_000,
      latency: 2_000,
      bulk: 1_000_000,
      bulkPeers: 100_000,
      processTiny: 20_000,
      processBulkPeers: 20_000,
      cpuTasks: 4 * WORKERS,
      inLoop: 200_000,
      crossThread: 1_000_000,
      distributed: 10_000,
      dataRows: 10_000_000,
      graphNodes: 100_000,
      graphChain: 100_000,
      parallelCalls: 1_000_000,
      memoryHits: 2_000,
      pipe: 10_000,
      managerDict: 5_000,
      mpQueue: 200_000,
    };

const python = (() => {
  try {
    execFileSync('python3', ['--version']);
    return 'python3';
  } catch {
    return undefined;
  }
})();
const pythonRun = (...args) =>
  JSON.parse(
    execFileSync(python, [new URL('./python_bench.py', import.meta.url).pathname, ...args.map(String)], {
      encoding: 'utf8',
    }),
  );

const log = (line) => process.stderr.write(`${line}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/** Whether `--only` (if given) asks for the row with this title. */
const selected = (title) => !only || only.some((o) => title.toLowerCase().includes(o.toLowerCase()));

/**
 * A workload: `systems` are { name, once() → number } measured REPEATS times, alternating.
 * `better` says whether a higher or lower number wins.
 */
async function measure(title, unit, better, systems, note = '') {
  if (!selected(title)) return undefined;
  log(`\n${title}`);
  const samples = new Map(systems.map((s) => [s.name, []]));
  for (let r = 0; r < REPEATS; r++) {
    for (const system of systems) {
      // Collect the last repeat's garbage first: V8's concurrent GC threads would otherwise
      // compete with the workers for this 2-core machine in the middle of someone's run.
      globalThis.gc?.();
      const value = await system.once();
      samples.get(system.name).push(value);
      log(`  ${r + 1}/${REPEATS} ${system.name}: ${format(value)} ${unit}`);
    }
  }
  const rows = systems.map((s) => {
    const xs = samples.get(s.name);
    return { name: s.name, median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
  });
  return { title, unit, better, rows, note };
}

function format(value) {
  if (value >= 1000) return Math.round(value).toLocaleString('en');
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

async function withPool(system, workers, use) {
  const pool = await system.create(workers);
  try {
    return await use(pool);
  } finally {
    await system.close(pool);
  }
}

// ---- workloads

function tinyTasks(systems, n, label) {
  return measure(`${label}: ${n.toLocaleString('en')} tiny tasks submitted at once, all awaited`, 'tasks/s', 'higher', [
    ...systems.map((system) => ({
      name: system.name,
      once: () =>
        withPool(system, WORKERS, async (pool) => {
          const t0 = performance.now();
          const all = new Array(n);
          for (let i = 0; i < n; i++) all[i] = system.run(pool, 'inc', i);
          await Promise.all(all);
          return n / ((performance.now() - t0) / 1000);
        }),
    })),
    ...(python
      ? [{ name: 'Python ProcessPoolExecutor', once: () => n / (pythonRun('tiny', WORKERS, n).ms / 1000) }]
      : []),
  ]);
}

async function latency(systems, n) {
  const p = (q) =>
    systems.map((system) => ({
      name: system.name,
      once: () =>
        withPool(system, WORKERS, async (pool) => {
          // Steady state for everyone: the first round trips of a fresh pool measure the JIT.
          for (let i = 0; i < 500; i++) await system.run(pool, 'inc', i);
          const us = [];
          for (let i = 0; i < n; i++) {
            const t0 = performance.now();
            await system.run(pool, 'inc', i);
            us.push((performance.now() - t0) * 1000);
          }
          return percentile(us, q);
        }),
    }));
  const py = (q) =>
    python
      ? [{ name: 'Python ProcessPoolExecutor', once: () => percentile(pythonRun('latency', WORKERS, n).us, q) }]
      : [];
  const rows = [
    await measure(`Latency p50: one task at a time, ${n} round trips`, 'µs', 'lower', [...p(50), ...py(50)]),
    await measure(`Latency p99: one task at a time, ${n} round trips`, 'µs', 'lower', [...p(99), ...py(99)]),
  ];
  // The same under load: one CPU-bound process per core, so every wake-up of a pool's thread
  // competes with a busy process for a core (what a user's machine is doing during a build).
  const loaded = (q) =>
    `Latency p${q} under load: one task at a time, ${n} round trips, ${WORKERS} CPU-bound processes running`;
  if (selected(loaded(50)) || selected(loaded(99))) {
    const note =
      `${WORKERS} child processes spin in JavaScript (bench/load.mjs) through every repeat of both under-load ` +
      'rows, so every system runs under the same load.';
    await withCpuHogs(WORKERS, async () => {
      rows.push(await measure(loaded(50), 'µs', 'lower', [...p(50), ...py(50)], note));
      rows.push(await measure(loaded(99), 'µs', 'lower', [...p(99), ...py(99)], note));
    });
  }
  return rows;
}

function bulkMap(systems, n, peerN, label) {
  const timed = (name, system, map, count = n) => ({
    name,
    once: () =>
      withPool(system, WORKERS, async (pool) => {
        const input = Array.from({ length: count }, (_, i) => i);
        const t0 = performance.now();
        const out = await map(pool, 'inc', input);
        const s = (performance.now() - t0) / 1000;
        if (out.length !== count || out[count - 1] !== count) throw new Error(`${name}: wrong map result`);
        return count / s;
      }),
  });
  const rows = systems.flatMap((system) =>
    system.mapForAwait
      ? [
          timed(`${system.name} map().toArray()`, system, system.map),
          timed(`${system.name} for await of map()`, system, system.mapForAwait),
        ]
      : [
          timed(
            `${system.name} (loop of run, 1024 in flight; ${peerN.toLocaleString('en')} items)`,
            system,
            system.map,
            peerN,
          ),
        ],
  );
  return measure(
    `${label}: ${n.toLocaleString('en')} tiny items through map`,
    'items/s',
    'higher',
    [
      ...rows,
      ...(python
        ? [
            {
              name: 'Python Pool.map (default chunksize)',
              once: () => n / (pythonRun('pool-map', WORKERS, n).ms / 1000),
            },
            {
              name: 'Python ProcessPoolExecutor.map (chunksize 1000)',
              once: () => n / (pythonRun('ppe-map', WORKERS, n).ms / 1000),
            },
          ]
        : []),
    ],
    'skein automatic chunking; peers have no map, so each runs a loop of run() with 1,024 tasks in flight (their fastest).',
  );
}

/**
 * `for await` over map, one result at a time, against Python's Pool.map (which hands back the
 * list). The reference row runs the same loop over values already in memory, with no pool: what
 * `for await` itself costs on this machine (an await and a resumption per item), the bound for
 * any async iterator.
 */
function forAwaitMap(system, n) {
  const input = Array.from({ length: n }, (_, i) => i);
  const check = (name, out) => {
    if (out.length !== n || out[n - 1] !== n) throw new Error(`${name}: wrong map result`);
  };
  const inMemory = () => {
    let i = 0;
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      next: () => Promise.resolve(i < n ? { value: input[i++] + 1, done: false } : { value: undefined, done: true }),
    };
  };
  return measure(
    `for await over map (threads): ${n.toLocaleString('en')} tiny items, one result at a time`,
    'items/s',
    'higher',
    [
      {
        name: `${system.name} for await of map()`,
        once: () =>
          withPool(system, WORKERS, async (pool) => {
            const t0 = performance.now();
            const out = await system.mapForAwait(pool, 'inc', input);
            const s = (performance.now() - t0) / 1000;
            check('for await of map()', out);
            return n / s;
          }),
      },
      ...(python
        ? [
            {
              name: 'Python Pool.map (default chunksize)',
              once: () => n / (pythonRun('pool-map', WORKERS, n).ms / 1000),
            },
          ]
        : []),
      {
        name: '(reference) the same for await loop over values already in memory, no pool',
        once: async () => {
          const t0 = performance.now();
          const out = [];
          for await (const value of inMemory()) out.push(value);
          const s = (performance.now() - t0) / 1000;
          check('in-memory loop', out);
          return n / s;
        },
      },
    ],
    'Reference rows are not peers: they bound what any `for await` loop can do here (see bench/README.md).',
  );
}

function calibrate(ms) {
  let limit = 1000;
  for (;;) {
    const t0 = performance.now();
    countPrimes(limit);
    if (performance.now() - t0 >= ms) return limit;
    limit = Math.floor(limit * 1.3);
  }
}

async function cpuScaling(systems, tasks) {
  const limit = calibrate(50);
  const pyLimit = python ? pythonRun('calibrate', 1, 50).limit : 0;
  const entry = (name, run) => ({
    name,
    once: async () => {
      const one = await run(1);
      const all = await run(WORKERS);
      return one / all;
    },
  });
  const result = await measure(
    `CPU-bound scaling: ${tasks} prime-counting tasks of ~50 ms, 1 worker vs ${WORKERS}`,
    'x speed-up',
    'higher',
    [
      ...systems.map((system) =>
        entry(system.name, (workers) =>
          withPool(system, workers, async (pool) => {
            const t0 = performance.now();
            await Promise.all(Array.from({ length: tasks }, () => system.run(pool, 'countPrimes', limit)));
            return performance.now() - t0;
          }),
        ),
      ),
      ...(python
        ? [entry('Python ProcessPoolExecutor', (workers) => pythonRun('cpu', workers, tasks, pyLimit).ms)]
        : []),
    ],
    `Parallel efficiency = speed-up / ${WORKERS}. Task size calibrated per runtime (JS limit ${limit}, Python ${pyLimit}).`,
  );
  return result;
}

async function bigData(systems) {
  const fill = (values) => {
    for (let i = 0; i < values.length; i++) values[i] = i % 7;
  };
  const sumOf = (mib) => {
    const v = new Float64Array((mib * 1024 * 1024) / 8);
    fill(v);
    let t = 0;
    for (let i = 0; i < v.length; i++) t += v[i];
    return t;
  };
  // Passed by value (the caller keeps it): below and above the size from which skein copies a
  // buffer once and transfers the copy instead of cloning it (src/wire/large-arrays.ts).
  const rows = [
    ...[4, 16, 64, 256].map((mib) => ({ mode: 'copy', mib })),
    { mode: 'transfer', mib: 64 },
    { mode: 'shared', mib: 64 },
  ];
  const out = [];
  for (const { mode, mib } of rows) {
    const length = (mib * 1024 * 1024) / 8;
    const title = `Big data (${mode}): a ${mib} MiB Float64Array summed in a worker and returned`;
    if (!selected(title)) continue;
    const expected = sumOf(mib);
    // Small arrays take a few ms: several tasks per sample, one after another, as a user's loop would.
    const tasks = Math.max(1, Math.round(64 / mib));
    out.push(
      await measure(
        title,
        'ms',
        'lower',
        systems.map((system) => ({
          name: system.name,
          once: () =>
            withPool(system, 1, async (pool) => {
              const values =
                mode === 'shared' ? new Float64Array(new SharedArrayBuffer(length * 8)) : new Float64Array(length);
              fill(values);
              const t0 = performance.now();
              for (let i = 0; i < tasks; i++) {
                // A transferred buffer is gone after the first task: transfer rows run one task.
                const total = await system.sum(pool, values, mode === 'transfer' ? 'transfer' : 'copy');
                if (total !== expected) throw new Error(`${system.name}: wrong sum ${total}`);
              }
              return (performance.now() - t0) / tasks;
            }),
        })),
        tasks > 1 ? `Per task: the mean of ${tasks} tasks run one after another with the same array.` : '',
      ),
    );
  }
  return out;
}

async function startup(systems) {
  const time = await measure(
    `Start-up: from constructing a pool of ${WORKERS} workers to the first result`,
    'ms',
    'lower',
    [
      ...systems.map((system) => ({
        name: system.name,
        once: async () => {
          const t0 = performance.now();
          const pool = await system.create(WORKERS);
          const ms = performance.now() - t0;
          await system.close(pool);
          return ms;
        },
      })),
      ...(python ? [{ name: 'Python ProcessPoolExecutor', once: () => pythonRun('startup', WORKERS).ms }] : []),
    ],
    'Each system starts all its workers and runs 2 tasks per worker, the same warm-up every workload uses.',
  );
  const memory = await measure(
    'Memory: resident set size per idle worker thread',
    'MiB',
    'lower',
    systems.map((system) => ({
      name: system.name,
      once: async () => {
        const workers = 4;
        globalThis.gc?.();
        await new Promise((r) => setTimeout(r, 100));
        const before = process.memoryUsage.rss();
        const pool = await system.create(workers);
        await new Promise((r) => setTimeout(r, 300));
        const after = process.memoryUsage.rss();
        await system.close(pool);
        return (after - before) / workers / 2 ** 20;
      },
    })),
    'RSS growth of this process while 4 idle workers are up, divided by 4.',
  );
  return [time, memory];
}

// ---- report

function ratioLine(result) {
  const skein = result.rows.find((r) => r.name.startsWith('skein'));
  const peers = result.rows.filter((r) => !r.name.startsWith('skein') && !r.name.startsWith('(reference)'));
  if (!skein || peers.length === 0) return { text: 'n/a', value: Number.NaN, best: undefined };
  const best = peers.reduce((a, b) =>
    (result.better === 'higher' ? b.median > a.median : b.median < a.median) ? b : a,
  );
  const value = result.better === 'higher' ? skein.median / best.median : best.median / skein.median;
  return { text: `${value.toFixed(2)}x`, value, best };
}

function report(results) {
  const lines = [
    '# skein benchmark results',
    '',
    `Machine: ${WORKERS} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}${python ? `, ${execFileSync(python, ['--version'], { encoding: 'utf8' }).trim()}` : ', no python3 (Python rows skipped)'}.`,
    `Run: \`npm run bench\`, ${REPEATS} repeats per system, systems alternating within each repeat; median and min–max of the repeats.`,
    `Date: ${new Date().toISOString().slice(0, 10)}. Pools of ${WORKERS} workers everywhere unless a row says otherwise.`,
    '',
    '"skein vs best peer" is how many times better skein is than the best other system on that row',
    '(throughput: skein / peer; time: peer / skein). Above 1 means skein is ahead.',
    '',
    '## Summary',
    '',
    '| workload | skein | best peer | skein vs best peer |',
    '|---|---|---|---|',
  ];
  for (const result of results) {
    const skein = result.rows.find((r) => r.name.startsWith('skein'));
    const { text, best } = ratioLine(result);
    lines.push(
      `| ${result.title} | ${skein ? `${format(skein.median)} ${result.unit}` : 'n/a'} | ${best ? `${best.name}: ${format(best.median)} ${result.unit}` : 'n/a'} | ${text} |`,
    );
  }
  for (const result of results) {
    lines.push(
      '',
      `## ${result.title}`,
      '',
      `| system | median (${result.unit}) | min – max | ${result.better} is better |`,
      '|---|---|---|---|',
    );
    for (const row of result.rows)
      lines.push(`| ${row.name} | ${format(row.median)} | ${format(row.min)} – ${format(row.max)} | |`);
    if (result.note) lines.push('', result.note);
  }
  return `${lines.join('\n')}\n`;
}

const started = performance.now();
const results = [];
const add = (r) => {
  for (const x of [r].flat()) if (x) results.push(x);
};
add(await tinyTasks(THREAD_SYSTEMS, SIZES.tiny, 'Tiny tasks (threads)'));
add(await latency(THREAD_SYSTEMS, SIZES.latency));
add(await bulkMap(THREAD_SYSTEMS, SIZES.bulk, SIZES.bulkPeers, 'Bulk map (threads)'));
add(await forAwaitMap(THREAD_SYSTEMS[0], SIZES.bulk));
add(await cpuScaling(THREAD_SYSTEMS, SIZES.cpuTasks));
add(await bigData(THREAD_SYSTEMS));
add(await startup(THREAD_SYSTEMS));
add(await tinyTasks(PROCESS_SYSTEMS, SIZES.processTiny, 'Tiny tasks (processes)'));
add(await bulkMap(PROCESS_SYSTEMS, SIZES.bulk, SIZES.processBulkPeers, 'Bulk map (processes)'));
const syncContext = { measure, python, pythonRun };
add(await poolMap(syncContext, WORKERS, SIZES.bulk));
add(await pipeRoundTrip(syncContext, SIZES.pipe));
add(await managerDictRoundTrip(syncContext, SIZES.managerDict));
add(await queueBetweenProcesses(syncContext, SIZES.mpQueue));
add(await inLoopLock(syncContext, SIZES.inLoop));
add(await inLoopSemaphore(syncContext, SIZES.inLoop));
add(await inLoopGather(syncContext, SIZES.inLoop));
add(await crossThreadLock(syncContext, WORKERS, SIZES.crossThread));
add(await crossThreadQueue(syncContext, SIZES.crossThread));
add(await crossThreadQueueBusy(syncContext, SIZES.crossThread));
add(await distributedMap({ measure }, SIZES.distributed));
add(await dataFrames({ measure, log }, SIZES.dataRows, WORKERS));
add(await gpuKernels({ measure }, QUICK));
add(await graphRows({ measure }, SIZES));
add(await cliMap({ measure }, { tinyLines: QUICK ? 20_000 : 1_000_000, cpuLines: QUICK ? 500 : 20_000, workers: 2 }));

const markdown = report(results);
const outFile = flags.out ?? (QUICK ? undefined : new URL('./results.md', import.meta.url).pathname);
if (outFile) writeFileSync(outFile, markdown);
process.stdout.write(markdown);
log(`\nbench finished in ${((performance.now() - started) / 1000).toFixed(0)} s${outFile ? `; wrote ${outFile}` : ''}`);
