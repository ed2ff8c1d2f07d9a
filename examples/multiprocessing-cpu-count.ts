// Ported from seed article 004:
//
//   import multiprocessing
//
//   def square_numbers():
//       for i in range(1_000_000):
//           i * i
//
//   if __name__ == "__main__":
//       processes = []
//       for _ in range(multiprocessing.cpu_count()):
//           p = multiprocessing.Process(target=square_numbers)
//           processes.append(p)
//           p.start()
//       for p in processes:
//           p.join()
//       print("Completed multiprocessing example.")
//
// One child process per CPU, all started before any is joined, so they run at the same time.
import { cpuCount, Process } from 'skein';

function squareNumbers(): void {
  for (let i = 0; i < 1_000_000; i++) void (i * i);
}

const processes: Process[] = [];
for (let n = 0; n < cpuCount(); n++) {
  const p = new Process({ target: squareNumbers });
  processes.push(p);
  p.start();
}
for (const p of processes) await p.join();
console.log('Completed multiprocessing example.');
console.log(`${processes.length} processes, exit codes ${processes.map((p) => p.exitCode).join(',')}`);
