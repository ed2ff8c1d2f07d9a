// Ported from seed article 002:
//
//   from multiprocessing import Process
//   import time
//
//   def print_numbers():
//       for i in range(5):
//           print(i)
//           time.sleep(1)
//
//   process = Process(target=print_numbers)
//   process.start()
//   process.join()
//
// The target runs in a child process of its own; `join()` waits for it to exit. (DELAY_MS
// shortens the one-second sleeps, for the tests; the child inherits the environment.)
import { Process } from 'skein';

async function printNumbers(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    console.log(i);
    await new Promise((resolve) => setTimeout(resolve, Number(process.env.DELAY_MS ?? 1000)));
  }
}

const proc = new Process({ target: printNumbers });
proc.start();
await proc.join();
console.log(`exit code ${proc.exitCode}`);
