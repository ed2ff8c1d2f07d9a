// Ported from seed articles 000 and 004 (asyncio.gather):
//
//   async def fetch_data(task_id):
//       print(f"Fetching data for task {task_id}...")
//       await asyncio.sleep(2)
//       print(f"Data fetched for task {task_id}.")
//
//   async def main():
//       tasks = [fetch_data(i) for i in range(3)]
//       await asyncio.gather(*tasks)
//
// The three waits overlap in one event loop: the whole run takes one delay, not three. skein's
// gather also takes thunks that receive an AbortSignal, so a failure or a caller's abort can stop
// the others (see TaskGroup for the fully structured version).
import { gather, sleep } from 'skein';

const delayMs = Number(process.env.DELAY_MS ?? 2000);

async function fetchData(taskId: number, signal: AbortSignal): Promise<string> {
  console.log(`Fetching data for task ${taskId}...`);
  await sleep(delayMs, { signal });
  console.log(`Data fetched for task ${taskId}.`);
  return `data ${taskId}`;
}

const started = performance.now();
const results = await gather([0, 1, 2].map((i) => (signal: AbortSignal) => fetchData(i, signal)));
console.log(results);
console.log(`took about ${Math.round((performance.now() - started) / delayMs)} delay(s)`);
