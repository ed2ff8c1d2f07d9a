// The task functions every system runs. Plain JavaScript, so no system pays for a TypeScript
// loader. skein submits these by reference; piscina and tinypool call them by export name;
// workerpool through bench/workerpool-worker.mjs.

export function inc(x) {
  return x + 1;
}

/** CPU-bound: count primes below `limit` by trial division (~50 ms for the limit bench/run.mjs picks). */
export function countPrimes(limit) {
  let count = 0;
  for (let n = 2; n < limit; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

/** Sums a Float64Array (copied, transferred, or over a SharedArrayBuffer). */
export function sumArray(values) {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return total;
}
