// Ported from seed article 004:
//
//   import multiprocessing
//
//   def compute_square(n):
//       print(f"Computing square of {n}")
//       return n * n
//
//   if __name__ == "__main__":
//       numbers = [1, 2, 3, 4]
//       with multiprocessing.Pool() as pool:
//           results = pool.map(compute_square, numbers)
//       print("Squares:", results)
//
// `new Pool()` starts one worker per CPU (cpuCount()). The workers print from their own
// processes, in whatever order they run; the results come back in input order.
import { Pool } from 'skein';

function computeSquare(n: number): number {
  console.log(`Computing square of ${n}`);
  return n * n;
}

const numbers = [1, 2, 3, 4];
let results: number[];
{
  await using pool = new Pool();
  results = await pool.map(computeSquare, numbers);
}
console.log('Squares:', results);
