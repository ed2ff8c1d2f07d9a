/** The demo's task functions: exported, so pool workers import them by reference. */

/** CPU-bound: count primes in [from, to) by trial division (deliberately plain arithmetic). */
export function countPrimesInRange(from: number, to: number): number {
  let count = 0;
  for (let n = Math.max(2, from); n < to; n++) {
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

/** The same, as an async function, so the event-loop variant can run "concurrently". */
export async function countPrimesInRangeAsync(from: number, to: number): Promise<number> {
  return countPrimesInRange(from, to);
}

/** I/O-bound: one HTTP request to a server that answers after a delay. */
export async function fetchText(url: string): Promise<number> {
  const response = await fetch(url);
  return (await response.text()).length;
}
