/**
 * `skein demo`: the lesson of the seed articles, measured on this machine. Two workloads
 * (CPU-bound prime counting, I/O-bound HTTP requests to a local server that answers after a
 * delay), each run four ways: sequentially, concurrently in one event loop, on a
 * ThreadPoolExecutor and on a ProcessPoolExecutor. Pool timings include starting and shutting
 * down the pool, as a script that uses one would pay.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import type { PoolExecutor } from '../executors/pool.js';
import { ProcessPoolExecutor } from '../executors/process.js';
import { ThreadPoolExecutor } from '../executors/thread.js';
import { countPrimesInRange, countPrimesInRangeAsync, fetchText } from './demo-tasks.js';

export interface DemoOptions {
  quick: boolean;
  json: boolean;
  workers: number;
}

type Mode = 'sequential' | 'event loop' | 'threads' | 'processes';
const MODES: Mode[] = ['sequential', 'event loop', 'threads', 'processes'];

export interface DemoRow {
  workload: 'CPU-bound' | 'I/O-bound';
  mode: Mode;
  wallMs: number;
  cpuMs: number | undefined;
  speedup: number;
  /** CPU time / wall time: 100% is one core busy all along. */
  cpuPercent: number | undefined;
}

/** CPU time (ms) of this process (all its threads) plus its reaped children, from /proc (Linux). */
function cpuTimeMs(): number | undefined {
  const own = process.cpuUsage();
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
    // after "pid (comm) ": state is field 3; cutime and cstime are fields 16 and 17
    const ticks = Number(fields[13]) + Number(fields[14]);
    return (own.user + own.system) / 1000 + (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

async function measure(run: () => Promise<unknown>): Promise<{ wallMs: number; cpuMs: number | undefined }> {
  const cpu0 = cpuTimeMs();
  const t0 = performance.now();
  await run();
  const wallMs = performance.now() - t0;
  const cpu1 = cpuTimeMs();
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

export async function runDemo(options: DemoOptions, log: (line: string) => void): Promise<DemoRow[]> {
  const { workers } = options;
  // Sized so the sequential CPU run takes ~1.5 s on this 2-core machine (~0.3 s with --quick).
  const limit = options.quick ? 1_500_000 : 5_000_000;
  // Many parts: later ranges cost more (trial division), and small parts keep every worker busy to the end.
  const parts = Math.max(32, workers * 16);
  const ranges = Array.from(
    { length: parts },
    (_, i) => [Math.floor((i * limit) / parts), Math.floor(((i + 1) * limit) / parts)] as const,
  );
  const requests = options.quick ? 12 : 32;
  const delayMs = 50;
  const server = await startSlowServer(delayMs);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const rows: DemoRow[] = [];
  try {
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
    for (const [workload, runs, what] of [
      ['CPU-bound', cpu, `count primes below ${limit.toLocaleString('en')} in ${parts} parts`],
      ['I/O-bound', io, `${requests} HTTP requests, each answered after ${delayMs} ms`],
    ] as const) {
      log(`${workload}: ${what}`);
      let baseline = 0;
      for (const mode of MODES) {
        log(`  ${mode}...`);
        const { wallMs, cpuMs } = await measure(runs[mode]);
        if (mode === 'sequential') baseline = wallMs;
        rows.push({
          workload,
          mode,
          wallMs,
          cpuMs,
          speedup: baseline / wallMs,
          cpuPercent: cpuMs === undefined ? undefined : (100 * cpuMs) / wallMs,
        });
      }
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  return rows;
}

export function verdict(rows: DemoRow[], workload: DemoRow['workload']): string {
  const mine = rows.filter((r) => r.workload === workload);
  const best = mine.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
  const loop = mine.find((r) => r.mode === 'event loop');
  if (workload === 'CPU-bound') {
    return (
      `${best.mode} wins (${best.speedup.toFixed(2)}x): CPU work needs more cores, which only worker threads or ` +
      `processes give; the event loop alone gives ${loop?.speedup.toFixed(2)}x, because JavaScript runs on one thread.`
    );
  }
  return (
    `${best.mode} wins (${best.speedup.toFixed(2)}x): waiting needs no CPU, so one event loop overlaps every request; ` +
    'pools overlap only as many requests as they have workers, and pay to start them.'
  );
}

export function formatTable(rows: DemoRow[], workers: number): string {
  const header = ['workload', 'mode', 'wall time', 'speed-up', 'CPU use'];
  const lines = rows.map((r) => [
    r.workload,
    r.mode === 'threads' || r.mode === 'processes' ? `${r.mode} (${workers})` : r.mode,
    `${r.wallMs.toFixed(0)} ms`,
    `${r.speedup.toFixed(2)}x`,
    r.cpuPercent === undefined ? 'n/a' : `${r.cpuPercent.toFixed(0)}%`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  const out = [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)];
  out.push('', `CPU-bound: ${verdict(rows, 'CPU-bound')}`, `I/O-bound: ${verdict(rows, 'I/O-bound')}`);
  out.push(
    '',
    `${availableParallelism()} cores, Node ${process.version}. Pool times include starting and shutting down the pool.`,
    'CPU use is CPU time over wall time: 100% is one core busy throughout.',
  );
  return out.join('\n');
}
