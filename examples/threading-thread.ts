// Ported from seed articles 002 and 004: `threading.Thread(target=..., args=...)`, `start()`,
// `join()`. First `print_numbers` on a thread of its own, then the three "downloads", each on its
// own thread, all started before any is joined, so they overlap: three 2-second downloads take
// about 2 s, not 6 s. (DELAY_MS shortens the waits, for the tests.)
//
// A skein Thread is a real OS thread running JavaScript in parallel (no GIL). A blocking sleep
// inside it (Atomics.wait) blocks only that thread, as time.sleep does in Python. The targets are
// self-contained (they use only their parameters), so they travel to their threads as source;
// a target that used a helper from this file would have to be exported from a module instead.
import { Thread } from 'skein';

const DELAY_MS = Number(process.env.DELAY_MS ?? 1000);

function printNumbers(delayMs: number): void {
  for (let i = 0; i < 5; i++) {
    console.log(i);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delayMs);
  }
}

function downloadFile(fileNum: number, delayMs: number): void {
  console.log(`Downloading file ${fileNum}...`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delayMs);
  console.log(`File ${fileNum} downloaded.`);
}

const thread = new Thread({ target: printNumbers, args: [DELAY_MS / 10] });
thread.start();
await thread.join();

const started = performance.now();
const threads: Thread[] = [];
for (let i = 0; i < 3; i++) {
  const t = new Thread({ target: downloadFile, args: [i + 1, 2 * DELAY_MS] });
  threads.push(t);
  t.start();
}
for (const t of threads) await t.join();
console.log('All downloads completed.');
console.log(
  `3 downloads of ${((2 * DELAY_MS) / 1000).toFixed(1)} s each took ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
