// A busy machine on demand: CPU-bound processes for the rows measured "under load". Each hog is a
// Node child spinning in plain JavaScript; every system of a row runs under the same hogs.
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** Starts `count` hogs; `stop()` ends them (and waits for their exit). A crash of the bench kills them too. */
export async function startCpuHogs(count = 1) {
  const hogs = Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  const kill = () => {
    for (const hog of hogs) hog.kill('SIGKILL');
  };
  process.once('exit', kill);
  await Promise.all(hogs.map((hog) => once(hog, 'spawn')));
  // Past their start-up: the loop is what must compete, not Node's boot.
  await new Promise((resolve) => setTimeout(resolve, 500));
  return {
    async stop() {
      const running = hogs.filter((hog) => hog.exitCode === null && hog.signalCode === null);
      const exited = Promise.all(running.map((hog) => once(hog, 'exit')));
      kill();
      process.removeListener('exit', kill);
      await exited;
    },
  };
}

/** Runs `use()` while `count` hogs are running; they are stopped afterwards, whatever happens. */
export async function withCpuHogs(count, use) {
  const hogs = await startCpuHogs(count);
  try {
    return await use();
  } finally {
    await hogs.stop();
  }
}

/**
 * `measureRow(lazyHog)` with one hog running from the first measured system to the end of the row:
 * `lazyHog()` starts it on first call (a row the --only filter skips never starts one).
 */
export async function withCpuHog(measureRow) {
  let hogs;
  try {
    return await measureRow(async () => {
      hogs ??= await startCpuHogs(1);
    });
  } finally {
    await hogs?.stop();
  }
}
