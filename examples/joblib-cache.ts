// joblib's Parallel with a Memory cache:
//
//   memory = Memory("cache_dir")
//   costly_cached = memory.cache(costly)
//   Parallel(n_jobs=2)(delayed(costly_cached)(i) for i in range(10))   # computes
//   Parallel(n_jobs=2)(delayed(costly_cached)(i) for i in range(10))   # reads the cache
//
// The second pass reads every result from disk; an edit to the module holding `costly` would
// make the next run compute again (the cache key includes a hash of that module's source).
import { delayed, parallel } from 'skein';
import { cachedCostly, memory } from './joblib-cache-tasks.ts';

await memory.clear(); // start empty, so that the output is the same on every run

for (const pass of ['first', 'second']) {
  let cached = 0;
  for (let i = 0; i < 10; i++) if (await cachedCostly.check(i)) cached++;
  const started = performance.now();
  const results = await parallel(
    Array.from({ length: 10 }, (_, i) => delayed(cachedCostly)(i)),
    { nJobs: 2, batchSize: 1 },
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(`${pass} pass: ${cached} of 10 already cached -> [${results.join(', ')}]`);
  if (process.env.SHOW_TIME) console.log(`  took ${seconds.toFixed(2)} s`);
}
await memory.clear();
