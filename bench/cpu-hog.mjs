// A busy machine on demand: one CPU-bound process (a Node child spinning in a loop) running while
// a row is measured, so that every system of the row competes with it for the same cores.
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** Starts the hog; `stop()` ends it (and waits for its exit). Give it a moment to be running. */
export async function startCpuHog() {
  const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  await once(child, 'spawn');
  // Past its start-up (the loop is what must compete, not Node's boot).
  await new Promise((resolve) => setTimeout(resolve, 200));
  return {
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * `measureRow(lazyHog)` with a hog running from the first measured system to the end of the row:
 * `lazyHog()` starts it on first call (a row the --only filter skips never starts one).
 */
export async function withCpuHog(measureRow) {
  let hog;
  try {
    return await measureRow(async () => {
      hog ??= await startCpuHog();
    });
  } finally {
    await hog?.stop();
  }
}
