// Ported from seed articles 000 and 003:
//
//   from multiprocessing import Pool
//
//   def square(x):
//       return x * x
//
//   if __name__ == "__main__":
//       with Pool(4) as p:
//           results = p.map(square, [1, 2, 3, 4, 5])
//           print(results)
//
//   pool = Pool(processes=4)
//   result = pool.map(worker, [1, 2, 3, 4])
//   print(result)  # Output: [1, 4, 9, 16]
//
// Each worker is a separate Node process. No `if __name__ == "__main__"` guard is needed: skein
// never imports the entry script in a worker (self-contained functions such as these travel as
// source). `await using` closes and joins the pool at the end of the block; Python's `with`
// terminates it instead (see the Pool docs: work started in the block is not killed here).
import { Pool } from 'skein';

function square(x: number): number {
  return x * x;
}

function worker(x: number): number {
  return x * x;
}

{
  await using p = new Pool(4);
  const results = await p.map(square, [1, 2, 3, 4, 5]);
  console.log(results);
}

const pool = new Pool({ processes: 4 });
const result = await pool.map(worker, [1, 2, 3, 4]);
console.log(result); // Output: [1, 4, 9, 16]
pool.close();
await pool.join();
