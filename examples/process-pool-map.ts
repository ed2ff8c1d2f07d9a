// Ported from seed article 003:
//
//   with concurrent.futures.ProcessPoolExecutor() as executor:
//       results = list(executor.map(worker, [1, 2, 3, 4]))
//   print(results)  # Output: [1, 4, 9, 16]
//
// Each worker is a separate Node process. No `if __name__ == "__main__"` guard is needed:
// skein never imports the entry script in a worker.
import { ProcessPoolExecutor } from 'skein';

function worker(x: number): number {
  return x * x;
}

await using executor = new ProcessPoolExecutor();
const results: number[] = [];
for await (const value of executor.map(worker, [1, 2, 3, 4])) results.push(value);
console.log(results);
