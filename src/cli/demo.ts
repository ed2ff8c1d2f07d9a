/**
 * `skein demo`: the lesson of the seed articles, measured on this machine. Two workloads
 * (CPU-bound prime counting, I/O-bound HTTP requests to a local server that answers after a
 * delay), each run four ways: sequentially, concurrently in one event loop, on a
 * ThreadPoolExecutor and on a ProcessPoolExecutor. Pool timings include starting and shutting
 * down the pool, as a script that uses one would pay.
 *
 * Each mode runs several times, interleaved (round 1 runs every mode, then round 2...) so that a
 * burst of load from elsewhere hits all modes alike rather than one; the report (demo-report.ts)
 * compares medians and says when the runs are too far apart, or the machine too busy, to trust it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import type { PoolExecutor } from '../executors/pool.js';
import { ProcessPoolExecutor } from '../executors/process.js';
import { ThreadPoolExecutor } from '../executors/thread.js';
import { type Command, wholeNumberOption } from './command.js';
import {
  buildReport,
  currentLoadAverage,
  type DemoReport,
  type DemoSetup,
  formatReport,
  MODES,
  type Mode,
  machineLoad,
  ownCpuTimeMs,
  readCpuCounters,
  type Sample,
  type Workload,
} from './demo-report.js';
import { countPrimesInRange, countPrimesInRangeAsync, fetchText } from './demo-tasks.js';

export interface DemoOptions {
  quick: boolean;
  workers: number;
  /** Runs per mode. Default: 5, or 3 with `quick`. */
  runs?: number;
}

async function measure(run: () => Promise<unknown>): Promise<Sample> {
  const cpu0 = ownCpuTimeMs();
  const t0 = performance.now();
  await run();
  const wallMs = performance.now() - t0;
  const cpu1 = ownCpuTimeMs();
  return { wallMs, cpuMs: cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0 };
}

async function onPool<T>(
  Pool: new (options: { maxWorkers: number }) => PoolExecutor,
  workers: number,
  use: (pool: PoolExecutor) => Promise<T>,
): Promise<T> {
  const pool = new Pool({ maxWorkers: workers });
  try {
    return await use(pool);
  } finally {
    await pool.shutdown();
  }
}

function startSlowServer(delayMs: number): Promise<Server> {
  const server = createServer((_request, response) => {
    setTimeout(() => response.end('ok'), delayMs);
  });
  server.keepAliveTimeout = 1;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** The eight runs (two workloads, four modes) as functions, and a line describing each workload. */
function workloads(quick: boolean, workers: number, url: string, requests: number, delayMs: number) {
  // Sized so the sequential CPU run takes ~1.5 s on a 2-core machine (~0.3 s with --quick).
  const limit = quick ? 1_500_000 : 5_000_000;
  // Many parts: later ranges cost more (trial division), and small parts keep every worker busy to the end.
  const parts = Math.max(32, workers * 16);
  const ranges = Array.from(
    { length: parts },
    (_, i) => [Math.floor((i * limit) / parts), Math.floor(((i + 1) * limit) / parts)] as const,
  );
  const cpu: Record<Mode, () => Promise<unknown>> = {
    sequential: async () => {
      for (const [from, to] of ranges) countPrimesInRange(from, to);
    },
    'event loop': () => Promise.all(ranges.map(([from, to]) => countPrimesInRangeAsync(from, to))),
    threads: () =>
      onPool(ThreadPoolExecutor, workers, (p) =>
        Promise.all(ranges.map(([a, b]) => p.submit(countPrimesInRange, a, b))),
      ),
    processes: () =>
      onPool(ProcessPoolExecutor, workers, (p) =>
        Promise.all(ranges.map(([a, b]) => p.submit(countPrimesInRange, a, b))),
      ),
  };
  const io: Record<Mode, () => Promise<unknown>> = {
    sequential: async () => {
      for (let i = 0; i < requests; i++) await fetchText(url);
    },
    'event loop': () => Promise.all(Array.from({ length: requests }, () => fetchText(url))),
    threads: () =>
      onPool(ThreadPoolExecutor, workers, (p) =>
        Promise.all(Array.from({ length: requests }, () => p.submit(fetchText, url))),
      ),
    processes: () =>
      onPool(ProcessPoolExecutor, workers, (p) =>
        Promise.all(Array.from({ length: requests }, () => p.submit(fetchText, url))),
      ),
  };
  return [
    ['CPU-bound', cpu, `count primes below ${limit.toLocaleString('en')} in ${parts} parts`],
    ['I/O-bound', io, `${requests} HTTP requests, each answered after ${delayMs} ms`],
  ] as const;
}

/** Runs every mode `runs` times and reports; progress lines go to `log`. */
export async function runDemo(options: DemoOptions, log: (line: string) => void): Promise<DemoReport> {
  const setup: DemoSetup = {
    workers: options.workers,
    runs: options.runs ?? (options.quick ? 3 : 5),
    quick: options.quick,
    requests: options.quick ? 12 : 32,
  };
  const delayMs = 50;
  const server = await startSlowServer(delayMs);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const samples = {} as Record<Workload, Record<Mode, Sample[]>>;
  // Read before the first run, so the demo's own load is not in it.
  const loadAverage = currentLoadAverage();
  const before = readCpuCounters();
  try {
    const all = workloads(setup.quick, setup.workers, url, setup.requests, delayMs);
    for (const [workload, , what] of all) {
      log(`${workload}: ${what}`);
      samples[workload] = { sequential: [], 'event loop': [], threads: [], processes: [] };
    }
    for (let round = 0; round < setup.runs; round++) {
      log(`run ${round + 1} of ${setup.runs}...`);
      // Each round starts with a different mode, so none always runs first (on a cold cache) or last.
      const order = MODES.map((_, i) => MODES[(i + round) % MODES.length] as Mode);
      for (const [workload, runs] of all) {
        for (const mode of order) samples[workload][mode].push(await measure(runs[mode]));
      }
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  return buildReport(setup, samples, machineLoad(loadAverage, before, readCpuCounters()));
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'measure concurrency against parallelism on this machine',
  description:
    'Runs a CPU-bound workload (counting primes) and an I/O-bound one (HTTP requests to a local server that ' +
    'answers after 50 ms) four ways: sequentially, concurrently in one event loop, on a ThreadPoolExecutor ' +
    'and on a ProcessPoolExecutor. Each mode runs several times; the table shows the median and the range, ' +
    'and the verdicts say which mode won each workload, why, and whether the runs were too close or the ' +
    'machine too busy to be sure. Progress goes to stderr, the report to stdout.',
  options: {
    quick: {
      type: 'boolean',
      description: 'a smaller workload and 3 runs per mode (about 10 s instead of 30–50 s on 2 cores)',
    },
    json: { type: 'boolean', description: 'print the report as JSON (every run, the load, the verdicts)' },
    workers: {
      type: 'string',
      valueName: 'N',
      description: 'workers in each pool (default: the number of cores)',
    },
    runs: {
      type: 'string',
      valueName: 'N',
      description: 'runs per mode (default: 5, or 3 with --quick); the median of them is compared',
    },
  },
  async run(parsed) {
    const workers = wholeNumberOption('demo', parsed, 'workers', 1) ?? availableParallelism();
    const runs = wholeNumberOption('demo', parsed, 'runs', 1);
    const report = await runDemo(
      { quick: parsed.values.quick === true, workers, ...(runs === undefined ? {} : { runs }) },
      (line) => process.stderr.write(`${line}\n`),
    );
    process.stdout.write(parsed.values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
  },
};
