/** `skein worker`: serve DistributedExecutor tasks from Redis on this machine until SIGTERM/SIGINT. */
import { type Command, stringOption, stringsOption, UsageError, wholeNumberOption } from './command.js';

const BACKENDS = ['threads', 'processes', 'inline'] as const;

export const workerCommand: Command = {
  name: 'worker',
  summary: 'run DistributedExecutor tasks from Redis on this machine',
  description:
    'Takes task jobs from a Redis queue and runs them on a local pool. It runs only exports of the modules ' +
    'given with --module (no code travels through Redis): the client must submit functions exported from ' +
    'the same files. SIGTERM or SIGINT: takes no new jobs and finishes the running ones (a second signal ' +
    'exits at once; BullMQ then runs those jobs again elsewhere). .ts modules need the worker to run under ' +
    'tsx: npx tsx node_modules/.bin/skein worker ...',
  options: {
    connection: {
      type: 'string',
      valueName: 'URL',
      required: true,
      description: 'the Redis to take jobs from: redis://[user:password@]host:port[/db], rediss:// for TLS',
    },
    module: {
      type: 'string',
      valueName: 'PATH',
      multiple: true,
      required: true,
      description: 'a module file whose exported functions this worker runs',
    },
    concurrency: {
      type: 'string',
      valueName: 'N',
      description: 'jobs run at once (default: the pool size)',
    },
    backend: {
      type: 'string',
      valueName: 'KIND',
      description:
        'where tasks run: threads (a thread pool, the default), processes (a process pool) or inline ' +
        "(this process's own event loop: for tiny or I/O-bound tasks; a timed-out inline task is abandoned, not stopped)",
    },
    workers: {
      type: 'string',
      valueName: 'N',
      description: 'size of the local pool (default: the number of cores)',
    },
    queue: {
      type: 'string',
      valueName: 'NAME',
      description: "the queue's name, as given to DistributedExecutor's `queue` (default: skein)",
    },
    prefix: {
      type: 'string',
      valueName: 'P',
      description: "the Redis key prefix, as given to DistributedExecutor's `prefix` (default: skein)",
    },
    'lock-duration': {
      type: 'string',
      valueName: 'MS',
      description:
        "how long a job's lock lasts without renewal: a worker silent this long is presumed dead and its job " +
        'is run again elsewhere (default: 30000)',
    },
    'stalled-interval': {
      type: 'string',
      valueName: 'MS',
      description: 'how often to look for such stalled jobs (default: 30000)',
    },
  },
  async run(parsed) {
    const number = (name: string, min: number) => wholeNumberOption('worker', parsed, name, min);
    const backend = stringOption(parsed, 'backend') ?? 'threads';
    if (!(BACKENDS as readonly string[]).includes(backend)) {
      throw new UsageError(`skein worker: --backend must be threads, processes or inline, got "${backend}"`, 'worker');
    }
    const options = {
      connection: stringOption(parsed, 'connection') as string, // required: checked by parseCommandLine
      modules: stringsOption(parsed, 'module'),
      backend: backend as (typeof BACKENDS)[number],
      concurrency: number('concurrency', 1),
      workers: number('workers', 1),
      queue: stringOption(parsed, 'queue'),
      prefix: stringOption(parsed, 'prefix'),
      lockDuration: number('lock-duration', 1),
      stalledInterval: number('stalled-interval', 1),
    };
    // Imported here, not at the top: only this command needs BullMQ, and loading it costs ~150 ms.
    const { startWorker } = await import('../distributed/worker.js');
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const running = await startWorker({ ...options, log });
    log(`skein worker: serving ${running.served.join(', ')} (pid ${process.pid})`);
    // Graceful stop: running jobs finish (or, after a second signal, are left to BullMQ to run again).
    const clean = await new Promise<boolean>((resolve) => {
      const stop = (signal: string) => {
        log(`skein worker: ${signal}: finishing the running jobs`);
        process.once(signal, () => process.exit(130));
        void running.close().then(resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    log('skein worker: stopped');
    if (!clean) process.exit(0); // stopped without Redis: BullMQ's timers wait for it (see RunningWorker.close)
  },
};
