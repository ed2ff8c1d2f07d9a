// The raw-BullMQ side of the distributed benchmark: a plain BullMQ Worker process whose
// processor does the same tiny work as bench/tasks.mjs's `inc`.
import { Worker } from 'bullmq';

const [url, queue, concurrency] = process.argv.slice(2);
const { hostname, port } = new URL(url);
const worker = new Worker(queue, async (job) => job.data.x + 1, {
  connection: { host: hostname, port: Number(port), maxRetriesPerRequest: null },
  concurrency: Number(concurrency),
});
await worker.waitUntilReady();
process.stdout.write('ready\n');
process.on('SIGTERM', () => worker.close().then(() => process.exit(0)));
