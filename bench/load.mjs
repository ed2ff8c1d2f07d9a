// A busy machine on demand: CPU-bound processes for the rows measured "under load". Each hog is
// a child process spinning in plain JavaScript; every system of a row runs under the same hogs.
import { spawn } from 'node:child_process';

/** Runs `use()` while `count` CPU-bound processes are running; they are killed afterwards, whatever happens. */
export async function withCpuHogs(count, use) {
  const hogs = Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  // A crash of the bench must not leave them spinning.
  const kill = () => {
    for (const hog of hogs) hog.kill('SIGKILL');
  };
  process.once('exit', kill);
  try {
    // Give them time to start and reach their loop before anything is timed.
    await new Promise((resolve) => setTimeout(resolve, 500));
    return await use();
  } finally {
    kill();
    process.removeListener('exit', kill);
    await Promise.all(
      hogs.map((hog) =>
        hog.exitCode !== null || hog.signalCode !== null ? undefined : new Promise((r) => hog.once('exit', r)),
      ),
    );
  }
}
