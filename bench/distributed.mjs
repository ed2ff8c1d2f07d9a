// The distributed row of `npm run bench`: 10,000 tiny tasks through Redis with 2 worker
// processes, skein (DistributedExecutor + `skein worker`) against raw BullMQ (Queue + Worker)
// doing the same work. Needs redis-server (started here on a free loopback port).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { DistributedExecutor } from 'skein/distributed';
import { inc } from './tasks.mjs';

const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const RAW_WORKER = new URL('./bullmq-worker.mjs', import.meta.url).pathname;
const CONCURRENCY = 8;

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** Spawns a process and resolves once its output contains `readyText`. */
function startProcess(command, args, readyText) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk) => {
      output += chunk;
      if (output.includes(readyText)) resolve(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${command} exited (${code}): ${output}`)));
  });
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

export async function distributedMap({ measure }, n) {
  if (spawnSync('redis-server', ['--version']).status !== 0) return undefined;
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'skein-bench-redis-'));
  const redis = await startProcess(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''],
    'Ready to accept connections',
  );
  const workerArgs = ['worker', '--connection', url, '--module', new URL('./tasks.mjs', import.meta.url).pathname];
  const skeinWorker = (queue, backend) =>
    startProcess(
      process.execPath,
      [CLI, ...workerArgs, '--queue', queue, '--backend', backend, '--concurrency', String(CONCURRENCY)],
      'serving',
    );
  // Two worker processes per skein system: with thread pools (the default) and inline.
  const skeinWorkers = await Promise.all([
    skeinWorker('skein', 'threads'),
    skeinWorker('skein', 'threads'),
    skeinWorker('inline', 'inline'),
    skeinWorker('inline', 'inline'),
  ]);
  const rawWorkers = await Promise.all(
    [0, 1].map(() => startProcess(process.execPath, [RAW_WORKER, url, 'raw', String(CONCURRENCY)], 'ready')),
  );
  const client = new DistributedExecutor({ connection: url });
  const inlineClient = new DistributedExecutor({ connection: url, queue: 'inline' });
  const rawQueue = new Queue('raw', { connection: { host: '127.0.0.1', port } });
  const rawEvents = new QueueEvents('raw', { connection: { host: '127.0.0.1', port } });
  await rawEvents.waitUntilReady();
  const items = Array.from({ length: n }, (_, i) => i);
  const rate = async (run) => {
    const t0 = performance.now();
    await run();
    return n / ((performance.now() - t0) / 1000);
  };
  // Warm both: workers' pools started, modules loaded.
  await Promise.all(items.slice(0, 50).flatMap((i) => [client.submit(inc, i), inlineClient.submit(inc, i)]));
  try {
    return await measure(
      `Distributed: ${n.toLocaleString('en')} tiny tasks through Redis, 2 worker processes (concurrency ${CONCURRENCY} each)`,
      'tasks/s',
      'higher',
      [
        { name: 'skein DistributedExecutor.map (chunked)', once: () => rate(() => client.map(inc, items).toArray()) },
        {
          name: 'skein DistributedExecutor.submit (a job per task, worker thread pools)',
          once: () => rate(() => Promise.all(items.map((i) => client.submit(inc, i)))),
        },
        {
          name: 'skein DistributedExecutor.submit (a job per task, --backend inline)',
          once: () => rate(() => Promise.all(items.map((i) => inlineClient.submit(inc, i)))),
        },
        {
          name: 'raw BullMQ (Queue.addBulk + Worker, a job per task)',
          once: () =>
            rate(async () => {
              let done = 0;
              const finished = new Promise((resolve) => {
                const onCompleted = () => {
                  if (++done === n) {
                    rawEvents.off('completed', onCompleted);
                    resolve();
                  }
                };
                rawEvents.on('completed', onCompleted);
              });
              await rawQueue.addBulk(
                items.map((x) => ({ name: 'inc', data: { x }, opts: { removeOnComplete: true, removeOnFail: true } })),
              );
              await finished;
            }),
        },
      ],
      '"A job per task" rows show the per-job overhead: skein adds a module name, version and encoded values to ' +
        "each job, and by default hands each task to the worker's thread pool (a hop that costs more than a tiny " +
        "task; `--backend inline` runs it in the worker's event loop, as a raw BullMQ processor does). The chunked " +
        'map sends many items per job, which is what a million tiny items need.',
    );
  } finally {
    await Promise.all([client.shutdown(), inlineClient.shutdown()]);
    await Promise.all([rawQueue.close(), rawEvents.close()]);
    await Promise.all([...skeinWorkers, ...rawWorkers, redis].map(stop));
    rmSync(dir, { recursive: true, force: true });
  }
}
