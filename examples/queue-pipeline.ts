// A work queue between threads, as in Python's queue + threading recipe: the main thread puts
// jobs, three worker threads take them (blocking getSync), put results on a second queue, and
// mark each job done. join() waits for every job; shutdown() then tells the workers to stop.
import { Queue, QueueShutDown, ThreadPoolExecutor } from 'skein';

/** CPU work on each job, on a worker thread. Self-contained, so it travels as source. */
function hashWords(jobs: Queue<string>, results: Queue<[string, number]>): number {
  let done = 0;
  for (;;) {
    let word: string;
    try {
      word = jobs.getSync();
    } catch (error) {
      if ((error as Error).name === 'QueueShutDown') return done; // no more work
      throw error;
    }
    let hash = 7;
    for (let i = 0; i < 200_000; i++) hash = (hash * 31 + word.charCodeAt(i % word.length)) | 0;
    results.putSync([word, hash]);
    jobs.taskDone();
    done++;
  }
}

const words = Array.from({ length: 60 }, (_, i) => `word-${i}`);
const jobs = new Queue<string>({ maxsize: 10 });
const results = new Queue<[string, number]>();
await using pool = new ThreadPoolExecutor({ maxWorkers: 3 });
const workers = Array.from({ length: 3 }, () => pool.submit(hashWords, jobs, results));

for (const word of words) await jobs.put(word); // waits while 10 jobs are queued
await jobs.join(); // every job taken and marked done
jobs.shutdown(); // the workers' next getSync throws QueueShutDown: they return
const perWorker = await Promise.all(workers);

const hashes = new Map<string, number>();
while (!results.empty()) {
  const [word, hash] = results.getNowait();
  hashes.set(word, hash);
}
console.log(`hashed ${hashes.size} words on 3 threads (${perWorker.reduce((a, b) => a + b)} jobs done)`);
console.log('word-0 ->', hashes.get('word-0'));
console.log('shut down:', jobs.isShutDown, QueueShutDown.name);
