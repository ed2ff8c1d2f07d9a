// Ported from seed article 004:
//
//   with ThreadPoolExecutor(max_workers=3) as executor:
//       results = executor.map(greet, ["Alice", "Bob", "Charlie"])
//       for res in results:
//           print(res)
import { ThreadPoolExecutor } from 'skein';

function greet(name: string): string {
  return `Hello, ${name}!`;
}

await using executor = new ThreadPoolExecutor({ maxWorkers: 3 });
for await (const res of executor.map(greet, ['Alice', 'Bob', 'Charlie'])) {
  console.log(res);
}
