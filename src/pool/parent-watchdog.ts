/**
 * A child process whose parent died keeps running CPU-bound code forever: 'disconnect' (or its
 * channel's close) is only seen when the event loop turns. A small thread that checks the parent
 * every half second kills the process within a second of its parent's death, busy or not. Used by
 * a process pool's workers and by daemonic `Process` children.
 */
export function startParentWatchdog(): void {
  void import('node:worker_threads').then(({ Worker }) => {
    const watchdog = new Worker(
      `const parent = ${process.ppid};
       const nap = new Int32Array(new SharedArrayBuffer(4));
       for (;;) {
         Atomics.wait(nap, 0, 0, 500);
         if (process.ppid !== parent) process.kill(${process.pid}, 'SIGKILL');
       }`,
      { eval: true, name: 'skein-parent-watchdog' },
    );
    // Without the watchdog the child still exits on 'disconnect' when it is idle; never let
    // the watchdog's own failure take the child down.
    watchdog.on('error', () => {});
    watchdog.unref();
  });
}
