/**
 * `skein demo`'s report: from repeated timings to rows (median and range per mode), how busy the
 * machine was, and verdicts. Every sentence of a verdict is chosen by the numbers: the winner is the
 * lowest median, the explanation is the one that fits that winner, and when the winner's range
 * overlaps the runner-up's the verdict says the order is not settled.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';

export type Mode = 'sequential' | 'event loop' | 'threads' | 'processes';
export const MODES: readonly Mode[] = ['sequential', 'event loop', 'threads', 'processes'];
export type Workload = 'CPU-bound' | 'I/O-bound';

/** One run of one mode. */
export interface Sample {
  wallMs: number;
  /** CPU time of this process and its children during the run; undefined where /proc is missing. */
  cpuMs: number | undefined;
}

export interface DemoRow {
  workload: Workload;
  mode: Mode;
  /** The median wall time of the runs. */
  wallMs: number;
  /** Every run's wall time, in the order they ran. */
  samplesMs: number[];
  minMs: number;
  maxMs: number;
  /** (max − min) / median, in percent: how far apart the runs were. */
  spreadPercent: number;
  /** The sequential median over this median. */
  speedup: number;
  /** Median CPU time over median wall time: 100% is one core busy throughout. */
  cpuPercent: number | undefined;
}

/** How much else the machine was doing while the demo measured. */
export interface MachineLoad {
  cores: number;
  /** The 1-minute load average just before the first run (the demo's own load not yet in it). */
  loadAverage: number;
  /** The share of all cores' time used by other processes during the runs (Linux /proc/stat). */
  othersCpuPercent: number | undefined;
  /** The share of CPU time the hypervisor gave to other guests during the runs (Linux /proc/stat). */
  stealPercent: number | undefined;
}

export interface Verdict {
  workload: Workload;
  /** The mode with the lowest median. */
  winner: Mode;
  /** The mode with the second lowest median. */
  runnerUp: Mode;
  /** False when the winner's and the runner-up's ranges overlap: another run may change the order. */
  clear: boolean;
  text: string;
}

/** What the verdicts need to know about how the demo ran. */
export interface DemoSetup {
  workers: number;
  runs: number;
  quick: boolean;
  requests: number;
}

export interface DemoReport extends DemoSetup {
  rows: DemoRow[];
  machine: MachineLoad;
  verdicts: Verdict[];
  /** Warnings about the measurement itself (a busy machine, noisy runs), empty when there are none. */
  notes: string[];
}

/** A machine this busy (load average per core, or other processes' CPU share) skews the comparison. */
const BUSY_LOAD_PER_CORE = 0.5;
const BUSY_OTHERS_PERCENT = 20;
const BUSY_STEAL_PERCENT = 5;
/** Runs this far apart (max − min over median) make a single mode's time unreliable. */
const NOISY_SPREAD_PERCENT = 50;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** CPU time (ms) of this process (all its threads) plus its reaped children, from /proc (Linux). */
export function ownCpuTimeMs(): number | undefined {
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

/** The machine-wide CPU counters (ms, all cores together); undefined where /proc/stat is missing. */
export interface CpuCounters {
  totalMs: number;
  busyMs: number;
  stealMs: number;
  ownMs: number | undefined;
}

export function readCpuCounters(): CpuCounters | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // "cpu  user nice system idle iowait irq softirq steal guest guest_nice", in USER_HZ (100/s) ticks;
    // guest time is already counted in user, so the total is the first eight.
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (line.split(/\s/)[0] !== 'cpu' || ticks.length < 8 || ticks.some((t) => !Number.isFinite(t))) return undefined;
    const [user, nice, system, _idle, _iowait, irq, softirq, steal] = ticks as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    return {
      totalMs: ticks.reduce((a, b) => a + b, 0) * 10,
      // idle and iowait are neither busy nor stolen
      busyMs: (user + nice + system + irq + softirq) * 10,
      stealMs: steal * 10,
      ownMs: ownCpuTimeMs(),
    };
  } catch {
    return undefined;
  }
}

/** How busy the machine was between two readings of the counters. */
export function machineLoad(
  loadAverage: number,
  before: CpuCounters | undefined,
  after: CpuCounters | undefined,
): MachineLoad {
  const cores = availableParallelism();
  if (!before || !after || after.totalMs <= before.totalMs) {
    return { cores, loadAverage, othersCpuPercent: undefined, stealPercent: undefined };
  }
  const total = after.totalMs - before.totalMs;
  const own = before.ownMs === undefined || after.ownMs === undefined ? 0 : after.ownMs - before.ownMs;
  const others = Math.max(0, after.busyMs - before.busyMs - own);
  return {
    cores,
    loadAverage,
    othersCpuPercent: (100 * others) / total,
    stealPercent: (100 * (after.stealMs - before.stealMs)) / total,
  };
}

/** The 1-minute load average now. */
export function currentLoadAverage(): number {
  return loadavg()[0] ?? 0;
}

export function summarize(workload: Workload, samples: Record<Mode, Sample[]>): DemoRow[] {
  const baseline = median(samples.sequential.map((s) => s.wallMs));
  return MODES.map((mode) => {
    const samplesMs = samples[mode].map((s) => s.wallMs);
    const wallMs = median(samplesMs);
    const cpu = samples[mode].map((s) => s.cpuMs);
    const cpuMs = cpu.every((c) => c !== undefined) ? median(cpu as number[]) : undefined;
    const minMs = Math.min(...samplesMs);
    const maxMs = Math.max(...samplesMs);
    return {
      workload,
      mode,
      wallMs,
      samplesMs,
      minMs,
      maxMs,
      spreadPercent: (100 * (maxMs - minMs)) / wallMs,
      speedup: baseline / wallMs,
      cpuPercent: cpuMs === undefined ? undefined : (100 * cpuMs) / wallMs,
    };
  });
}

/**
 * Whether other work competed for the CPU during the runs. What other processes used meanwhile
 * (/proc/stat) decides where it is known; the load average, a decaying 1-minute mean that still
 * counts work that has just ended, decides only where it is not (not Linux).
 */
export function isBusy(machine: MachineLoad): boolean {
  if (machine.othersCpuPercent === undefined) return machine.loadAverage / machine.cores >= BUSY_LOAD_PER_CORE;
  return machine.othersCpuPercent >= BUSY_OTHERS_PERCENT || (machine.stealPercent ?? 0) >= BUSY_STEAL_PERCENT;
}

const x = (row: DemoRow) => `${row.speedup.toFixed(2)}x`;

function cpuExplanation(winner: DemoRow, rows: Record<Mode, DemoRow>, setup: DemoSetup, machine: MachineLoad) {
  if (winner.mode === 'threads' || winner.mode === 'processes') {
    const other = winner.mode === 'threads' ? rows.processes : rows.threads;
    return (
      `the ${setup.workers} workers counted primes in parallel (${other.mode}: ${x(other)}). ` +
      `The event loop gives ${x(rows['event loop'])}: async functions that compute still run one at a time, on one thread.`
    );
  }
  const why =
    setup.workers === 1 || machine.cores === 1
      ? 'with one worker or one core nothing runs in parallel, and starting workers costs time'
      : isBusy(machine)
        ? 'the machine was busy, so the workers found no idle cores to run on'
        : setup.quick
          ? 'this small workload does not repay starting the workers; run without --quick for a larger one'
          : 'starting and stopping the workers cost more than running in parallel saved';
  return `the pools did not beat one thread here (threads ${x(rows.threads)}, processes ${x(rows.processes)}): ${why}.`;
}

function ioExplanation(winner: DemoRow, rows: Record<Mode, DemoRow>, setup: DemoSetup, machine: MachineLoad) {
  if (winner.mode === 'event loop') {
    return (
      `waiting needs no CPU, so one event loop overlapped all ${setup.requests} requests at no start-up cost; ` +
      `the pools gave ${x(rows.threads)} (threads) and ${x(rows.processes)} (processes), paying to start workers.`
    );
  }
  const busy = isBusy(machine) ? ' The machine was busy, which delays the event loop as much as any worker.' : '';
  if (winner.mode === 'sequential') {
    return `no way of overlapping the requests beat making them one after another (event loop: ${x(rows['event loop'])}).${busy}`;
  }
  return (
    `unusually, the pool beat one event loop (${x(rows['event loop'])}), which overlaps every request without ` +
    `starting anything.${busy}`
  );
}

export function verdict(rows: DemoRow[], setup: DemoSetup, machine: MachineLoad): Verdict {
  const byMode = Object.fromEntries(rows.map((r) => [r.mode, r])) as Record<Mode, DemoRow>;
  const [winner, runnerUp] = [...rows].sort((a, b) => a.wallMs - b.wallMs) as [DemoRow, DemoRow];
  const workload = winner.workload;
  const clear = winner.maxMs < runnerUp.minMs;
  const explanation =
    workload === 'CPU-bound'
      ? cpuExplanation(winner, byMode, setup, machine)
      : ioExplanation(winner, byMode, setup, machine);
  const speed = winner.mode === 'sequential' ? '' : ` (${x(winner)} over sequential)`;
  let text = `${winner.mode} wins${speed}: ${explanation}`;
  if (!clear) {
    text +=
      ` Too close to call: ${winner.mode} took ${range(winner)} and ${runnerUp.mode} ${range(runnerUp)};` +
      ' the ranges overlap, so another run may change the order.';
  }
  return { workload, winner: winner.mode, runnerUp: runnerUp.mode, clear, text };
}

const range = (row: DemoRow) => `${row.minMs.toFixed(0)}–${row.maxMs.toFixed(0)} ms`;

/** Warnings about the measurement: a busy machine, modes whose runs were far apart. */
export function measurementNotes(rows: DemoRow[], machine: MachineLoad): string[] {
  const notes: string[] = [];
  const load = `load average ${machine.loadAverage.toFixed(2)} on ${machine.cores} cores before the runs`;
  const highLoad = machine.loadAverage / machine.cores >= BUSY_LOAD_PER_CORE;
  if (machine.othersCpuPercent === undefined) {
    if (highLoad) {
      notes.push(
        `Busy machine: ${load}: other work competed for the cores; parallel modes gain less than on an idle one.`,
      );
    }
  } else if (machine.othersCpuPercent >= BUSY_OTHERS_PERCENT) {
    notes.push(
      `Busy machine: other processes used ${machine.othersCpuPercent.toFixed(0)}% of all cores' time during the runs ` +
        `(${load}); parallel modes gain less than on an idle one.`,
    );
  } else if (highLoad) {
    // The load average lags: it still counts work that ended just before the demo started.
    notes.push(
      `The ${load} was high, but other processes used only ${machine.othersCpuPercent.toFixed(0)}% of the CPU ` +
        'during them: the machine was free while the demo measured.',
    );
  }
  if (machine.stealPercent !== undefined && machine.stealPercent >= BUSY_STEAL_PERCENT) {
    notes.push(
      `Busy host: ${machine.stealPercent.toFixed(0)}% of CPU time was stolen by the hypervisor for other virtual machines.`,
    );
  }
  const noisy = rows.filter((r) => r.spreadPercent >= NOISY_SPREAD_PERCENT);
  if (noisy.length > 0) {
    const worst = noisy.reduce((a, b) => (b.spreadPercent > a.spreadPercent ? b : a));
    notes.push(
      `Noisy timings: ${noisy.length} of ${rows.length} modes had runs more than ${NOISY_SPREAD_PERCENT}% apart ` +
        `(worst: ${worst.workload} ${worst.mode}, ${range(worst)}); treat their speed-ups as rough.`,
    );
  }
  return notes;
}

export function buildReport(
  setup: DemoSetup,
  samples: Record<Workload, Record<Mode, Sample[]>>,
  machine: MachineLoad,
): DemoReport {
  const cpu = summarize('CPU-bound', samples['CPU-bound']);
  const io = summarize('I/O-bound', samples['I/O-bound']);
  const rows = [...cpu, ...io];
  return {
    ...setup,
    rows,
    machine,
    verdicts: [verdict(cpu, setup, machine), verdict(io, setup, machine)],
    notes: measurementNotes(rows, machine),
  };
}

export function formatReport(report: DemoReport): string {
  const header = ['workload', 'mode', 'wall time (median)', 'range', 'speed-up', 'CPU use'];
  const lines = report.rows.map((r) => [
    r.workload,
    r.mode === 'threads' || r.mode === 'processes' ? `${r.mode} (${report.workers})` : r.mode,
    `${r.wallMs.toFixed(0)} ms`,
    range(r),
    `${r.speedup.toFixed(2)}x`,
    r.cpuPercent === undefined ? 'n/a' : `${r.cpuPercent.toFixed(0)}%`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  const out = [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt), ''];
  for (const v of report.verdicts) out.push(`${v.workload}: ${v.text}`);
  if (report.notes.length > 0) out.push('', ...report.notes);
  const { machine } = report;
  const load = [
    `load average ${machine.loadAverage.toFixed(2)} before the runs`,
    machine.othersCpuPercent === undefined ? undefined : `others' CPU use ${machine.othersCpuPercent.toFixed(0)}%`,
    machine.stealPercent === undefined ? undefined : `steal ${machine.stealPercent.toFixed(0)}%`,
  ].filter(Boolean);
  out.push(
    '',
    `${machine.cores} cores, Node ${process.version}; ${load.join(', ')}.`,
    `${report.runs} runs per mode, interleaved; pool times include starting and shutting down the pool.`,
    'CPU use is CPU time over wall time: 100% is one core busy throughout.',
  );
  return out.join('\n');
}
