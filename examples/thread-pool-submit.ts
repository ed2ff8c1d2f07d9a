// Ported from "concurrent.futures" in seed article 002:
//
//   with ThreadPoolExecutor() as executor:
//       future = executor.submit(print_numbers)
//       future.result()
//
// `printNumbers` uses nothing from outside itself, so skein sends it to the worker as source:
// like Python, no separate module is needed. (A function that used an outer variable would be
// refused with an error naming it; export such a function from a module instead.)
import { ThreadPoolExecutor } from 'skein';

async function printNumbers(delayMs: number): Promise<void> {
  for (let i = 0; i < 5; i++) {
    console.log(i);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

await using executor = new ThreadPoolExecutor();
const future = executor.submit(printNumbers, Number(process.env.DELAY_MS ?? 1000));
await future.result();
