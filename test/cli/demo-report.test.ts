import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildReport,
  type DemoSetup,
  formatReport,
  type MachineLoad,
  type Mode,
  machineLoad,
  median,
  readCpuCounters,
  type Sample,
} from '../../src/cli/demo-report.ts';

const setup: DemoSetup = { workers: 2, runs: 3, quick: true, requests: 12 };
const idle: MachineLoad = { cores: 2, loadAverage: 0.1, othersCpuPercent: 2, stealPercent: 0 };
const busy: MachineLoad = { cores: 2, loadAverage: 3.5, othersCpuPercent: 60, stealPercent: 0 };

const runs = (...wallMs: number[]): Sample[] => wallMs.map((ms) => ({ wallMs: ms, cpuMs: ms }));
type Timings = Record<Mode, Sample[]>;
const ioLoopWins: Timings = {
  sequential: runs(640, 650, 660),
  'event loop': runs(70, 75, 80),
  threads: runs(440, 450, 460),
  processes: runs(500, 510, 520),
};

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });
});

describe('demo verdicts', () => {
  it('names the event loop as the CPU winner when it has the lowest median, without claiming parallelism won', () => {
    // The contradiction of issue 10: "event loop wins (1.58x): CPU work needs more cores..."
    const cpu: Timings = {
      sequential: runs(400, 410, 420),
      'event loop': runs(250, 255, 260),
      threads: runs(390, 400, 700),
      processes: runs(600, 650, 700),
    };
    const report = buildReport(setup, { 'CPU-bound': cpu, 'I/O-bound': ioLoopWins }, busy);
    const verdict = report.verdicts[0];
    assert.equal(verdict?.winner, 'event loop');
    assert.match(verdict?.text ?? '', /^event loop wins \(1\.61x over sequential\): the pools did not beat one thread/);
    assert.match(verdict?.text ?? '', /the machine was busy/);
    assert.doesNotMatch(verdict?.text ?? '', /needs more cores|in parallel/);
    assert.equal(verdict?.clear, true);
  });

  it('credits the workers when a pool wins the CPU workload, and gives the event loop its own number', () => {
    const cpu: Timings = {
      sequential: runs(1500, 1510, 1520),
      'event loop': runs(1490, 1500, 1530),
      threads: runs(800, 820, 840),
      processes: runs(900, 950, 990),
    };
    const report = buildReport(setup, { 'CPU-bound': cpu, 'I/O-bound': ioLoopWins }, idle);
    const [cpuVerdict, ioVerdict] = report.verdicts;
    assert.equal(cpuVerdict?.winner, 'threads');
    assert.match(
      cpuVerdict?.text ?? '',
      /^threads wins \(1\.84x over sequential\): the 2 workers counted primes in parallel/,
    );
    assert.match(cpuVerdict?.text ?? '', /The event loop gives 1\.01x/);
    assert.equal(ioVerdict?.winner, 'event loop');
    assert.match(ioVerdict?.text ?? '', /^event loop wins \(8\.67x over sequential\): waiting needs no CPU/);
    assert.deepEqual(report.notes, []);
  });

  it('says "too close to call" when the winner and the runner-up overlap', () => {
    const cpu: Timings = {
      sequential: runs(1000, 1010, 1020),
      'event loop': runs(990, 1000, 1030),
      threads: runs(700, 760, 900),
      processes: runs(740, 780, 800),
    };
    const verdict = buildReport(setup, { 'CPU-bound': cpu, 'I/O-bound': ioLoopWins }, idle).verdicts[0];
    assert.equal(verdict?.winner, 'threads');
    assert.equal(verdict?.runnerUp, 'processes');
    assert.equal(verdict?.clear, false);
    assert.match(verdict?.text ?? '', /Too close to call: threads took 700–900 ms and processes 740–800 ms/);
  });

  it('names a pool that beats the event loop on I/O, and says it is unusual rather than explaining it away', () => {
    const io: Timings = { ...ioLoopWins, 'event loop': runs(480, 500, 900), threads: runs(300, 310, 320) };
    const verdict = buildReport(setup, { 'CPU-bound': ioLoopWins, 'I/O-bound': io }, busy).verdicts[1];
    assert.equal(verdict?.winner, 'threads');
    assert.match(verdict?.text ?? '', /^threads wins .*unusually, the pool beat one event loop/);
    assert.match(verdict?.text ?? '', /The machine was busy/);
  });
});

describe('demo measurement notes', () => {
  it('warns about a high load average, other processes, steal and noisy runs, with the numbers', () => {
    const noisy: Timings = { ...ioLoopWins, threads: runs(200, 450, 900) };
    const report = buildReport(
      setup,
      { 'CPU-bound': ioLoopWins, 'I/O-bound': noisy },
      { cores: 2, loadAverage: 3.5, othersCpuPercent: 60, stealPercent: 12 },
    );
    const notes = report.notes.join('\n');
    assert.match(
      notes,
      /Busy machine: other processes used 60% of all cores' time during the runs \(load average 3\.50 on 2 cores/,
    );
    assert.match(notes, /12% of CPU time was stolen/);
    assert.match(notes, /Noisy timings: 1 of 8 modes .*I\/O-bound threads, 200–900 ms/);
    const table = formatReport(report);
    assert.match(table, /load average 3\.50 before the runs, others' CPU use 60%, steal 12%/);
    assert.match(table, /3 runs per mode/);
  });

  it('trusts what other processes used during the runs over a high load average left from before', () => {
    const lagging: MachineLoad = { cores: 2, loadAverage: 3, othersCpuPercent: 1, stealPercent: 0 };
    const report = buildReport(setup, { 'CPU-bound': ioLoopWins, 'I/O-bound': ioLoopWins }, lagging);
    assert.equal(report.notes.length, 1, report.notes.join('\n'));
    assert.match(
      report.notes[0] ?? '',
      /load average 3\.00 on 2 cores before the runs was high, but other processes used only 1%/,
    );
    assert.doesNotMatch(report.verdicts.map((v) => v.text).join(' '), /busy/i);
  });

  it('falls back to the load average where /proc/stat is missing', () => {
    const noProc: MachineLoad = { cores: 2, loadAverage: 3, othersCpuPercent: undefined, stealPercent: undefined };
    const report = buildReport(setup, { 'CPU-bound': ioLoopWins, 'I/O-bound': ioLoopWins }, noProc);
    assert.match(
      report.notes.join('\n'),
      /^Busy machine: load average 3\.00 on 2 cores before the runs: other work competed/,
    );
    assert.doesNotMatch(formatReport(report), /others' CPU use|steal/);
  });

  it('reads the machine counters from /proc/stat and finds this process busy while it computes', () => {
    const before = readCpuCounters();
    if (before === undefined) return; // not Linux: the demo reports the load average only
    // Spin until this process has used 300 ms of CPU (by Node's own count), however loaded the
    // machine is, then check that /proc saw it too (its clock ticks are 10 ms).
    const cpuStart = process.cpuUsage();
    const giveUp = performance.now() + 10_000;
    let spin = 0;
    while (process.cpuUsage(cpuStart).user < 300_000 && performance.now() < giveUp) spin++;
    const after = readCpuCounters();
    assert.ok(after && spin > 0);
    assert.ok(after.totalMs > before.totalMs && after.busyMs > before.busyMs);
    assert.ok((after.ownMs ?? 0) - (before.ownMs ?? 0) >= 200, 'own CPU time should grow while spinning');
    const load = machineLoad(0.5, before, after);
    assert.ok(load.othersCpuPercent !== undefined && load.othersCpuPercent >= 0 && load.othersCpuPercent <= 100);
  });
});
