/** `Process`, `currentProcess`, `activeChildren`, `cpuCount` (api.md section 3). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { activeChildren, CapturedVariableError, cpuCount, currentProcess, Pipe, Process } from 'skein';
import { exitWith, report, returnNothing, runForever, squareNumbers, throwBoom } from '../fixtures/mp-tasks.ts';
import { sleep } from '../helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'skein-mp-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const script = fileURLToPath(new URL('../fixtures/mp-exit-script.ts', import.meta.url));

function runScript(...args: string[]) {
  const started = performance.now();
  const run = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { ...run, ms: performance.now() - started };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Process', () => {
  describe('exit codes', () => {
    it('0 when the target returns', async () => {
      const p = new Process({ target: returnNothing });
      assert.equal(p.exitCode, null);
      p.start();
      await p.join();
      assert.equal(p.exitCode, 0);
    });

    it('1 when the target throws, with the error printed to stderr as Python prints it', () => {
      const run = runScript('throw');
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^exitCode 1$/m);
      assert.match(run.stderr, /^Process Thrower:\nRangeError: boom from the child/m);
    });

    it('the code the target passes to process.exit', async () => {
      const p = new Process({ target: exitWith, args: [7] });
      p.start();
      await p.join();
      assert.equal(p.exitCode, 7);
    });

    it('−15 after terminate(), −9 after kill()', async () => {
      for (const [stop, code] of [
        ['terminate', -15],
        ['kill', -9],
      ] as const) {
        const p = new Process({ target: runForever });
        p.start();
        await sleep(200);
        assert.equal(p.isAlive(), true);
        assert.equal(p.exitCode, null);
        p[stop]();
        await p.join();
        assert.equal(p.exitCode, code, stop);
        assert.equal(p.isAlive(), false);
        p[stop](); // a no-op once it has exited
      }
    });

    it('a self-contained target runs as source; an async one is awaited', async () => {
      const p = new Process({
        target: async (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)),
        args: [50],
      });
      p.start();
      await p.join();
      assert.equal(p.exitCode, 0);
    });
  });

  describe('lifecycle', () => {
    it('pid, isAlive, join(timeoutMs) returning while it still runs, activeChildren', async () => {
      const p = new Process({ target: runForever });
      assert.equal(p.pid, undefined);
      assert.equal(p.isAlive(), false);
      p.start();
      assert.ok(typeof p.pid === 'number' && p.pid !== process.pid);
      assert.ok(activeChildren().includes(p));
      const started = performance.now();
      await p.join(100);
      assert.ok(performance.now() - started >= 90);
      assert.equal(p.isAlive(), true);
      p.kill();
      await p.join();
      assert.ok(!activeChildren().includes(p));
      assert.equal(isRunning(p.pid as number), false);
    });

    it('start once; join, terminate before start; daemon fixed at start', async () => {
      const p = new Process({ target: returnNothing });
      await assert.rejects(p.join(), /cannot join Process-\d+ before start\(\)/);
      assert.throws(() => p.terminate(), /before start\(\)/);
      p.daemon = true;
      p.start();
      assert.throws(() => p.start(), /already started: a Process can be started once/);
      assert.throws(() => {
        p.daemon = false;
      }, /already started/);
      await p.join();
    });

    it('refuses bad options and a target that captures a variable, in the caller', () => {
      assert.throws(() => new Process({ target: 3 as never }), /target must be a function/);
      assert.throws(() => new Process({ target: returnNothing, args: 5 as never }), /args must be an array/);
      const captured = 2;
      assert.throws(() => new Process({ target: (x: number) => x * captured }), CapturedVariableError);
      const p = new Process({ target: (x: unknown) => x, args: [() => 1] });
      assert.throws(() => p.start(), /args\[0\] is a function/);
    });

    it('the child knows its name, pid and daemon flag (currentProcess)', async () => {
      const [mine, theirs] = Pipe();
      const p = new Process({ target: report, args: [theirs, { inner: [theirs] }], name: 'Reporter', daemon: true });
      p.start();
      const info = (await mine.recv()) as { name: string; pid: number; daemon: boolean; same: boolean };
      assert.deepEqual(info, { name: 'Reporter', pid: p.pid, daemon: true, same: true });
      await p.join();
      assert.equal(currentProcess().name, 'MainProcess');
      assert.equal(currentProcess().pid, process.pid);
    });

    it('one Process per core runs the seeds’ square_numbers', async () => {
      const processes = Array.from({ length: cpuCount() }, () => new Process({ target: squareNumbers }));
      for (const p of processes) p.start();
      for (const p of processes) await p.join();
      assert.deepEqual(
        processes.map((p) => p.exitCode),
        processes.map(() => 0),
      );
      assert.ok(cpuCount() >= 1);
    });
  });

  describe('at exit', () => {
    it('a daemonic child does not keep the program alive, and is killed when it exits', async () => {
      const run = runScript('daemon');
      assert.equal(run.signal, null, `the daemonic child kept the script alive\n${run.stderr}`);
      assert.equal(run.status, 0, run.stderr);
      const pid = Number(/daemon pid (\d+)/.exec(run.stdout)?.[1]);
      assert.ok(pid > 0, run.stdout);
      // SIGKILL was sent as the script exited; give the kernel a moment to reap it.
      for (let i = 0; i < 50 && isRunning(pid); i++) await sleep(100);
      assert.equal(isRunning(pid), false, 'the daemonic child outlived its parent');
    });

    it('a daemonic child blocked in CPU-bound code dies with a parent killed outright (SIGKILL)', async () => {
      const pidPath = join(scratch, 'daemon.pid');
      // No pipes: the child inherits the script's stdio, and a pipe would make spawnSync wait for it.
      const killedScript = fileURLToPath(new URL('../fixtures/daemon-killed-script.mjs', import.meta.url));
      // Plain node: under tsx the child happens to die with its parent anyway, which would hide the bug.
      const run = spawnSync(process.execPath, [killedScript, pidPath], { stdio: 'ignore', timeout: 30_000 });
      assert.equal(run.signal, 'SIGKILL');
      const pid = Number(readFileSync(pidPath, 'utf8'));
      assert.ok(pid > 0);
      try {
        // A watchdog thread checks the parent every 500 ms; without it the child blocks for 60 s.
        for (let i = 0; i < 100 && isRunning(pid); i++) await sleep(100);
        assert.equal(isRunning(pid), false, 'the daemonic child outlived its killed parent');
      } finally {
        if (isRunning(pid)) process.kill(pid, 'SIGKILL');
      }
    });

    it('a non-daemonic child is awaited: the program ends after it', () => {
      const path = join(scratch, 'waited.txt');
      const run = runScript('waits', path);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /end of script/);
      assert.equal(existsSync(path) && readFileSync(path, 'utf8'), 'written by the child');
    });

    it('the program ends by itself after a Pool close/join, with a Pipe left open', () => {
      const run = runScript('pool');
      assert.equal(run.signal, null, `something kept the script alive\n${run.stderr}`);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /\[ 1, 4, 9 \]\nend of script/);
    });

    it('the program ends by itself after proxies and a Pipe end were passed to pool tasks and a Thread', () => {
      const run = runScript('handles');
      assert.equal(run.signal, null, `something kept the script alive\n${run.stderr}`);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /echoed process\nechoed thread\ntotal 30\nend of script/);
    });
  });
});

// throwBoom is used by the 'throw' mode of the fixture script.
void throwBoom;
