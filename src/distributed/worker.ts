/**
 * `skein worker`: takes task jobs from Redis and runs them on a local skein pool.
 *
 *   BullMQ Worker (concurrency N) ─► job { module, version, export, args }
 *        │  look the export up among the modules this worker was started with (never code from Redis)
 *        ▼
 *   local ThreadPoolExecutor / ProcessPoolExecutor ─► result or error, encoded ─► Redis
 *
 * A job naming a module, version or export this worker does not serve fails at once, with an
 * UnrecoverableError that says which and why (BullMQ does not retry it).
 *
 * While Redis does not answer, BullMQ reconnects by itself (every ~2 s, see connection.ts) and
 * reports each failed attempt of each of its two connections; the worker says so once every
 * REPORT_EVERY_MS instead, naming the URL (password masked), and once more when Redis is back.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UnrecoverableError, Worker } from 'bullmq';
import type { TaskJobData } from '../executors/distributed.js';
import type { PoolExecutor } from '../executors/pool.js';
import { ProcessPoolExecutor } from '../executors/process.js';
import { ThreadPoolExecutor } from '../executors/thread.js';
import type { TaskFunction } from '../futures/base.js';
import { TimeoutError } from '../futures/errors.js';
import type { ChunkOutcome } from '../pool/protocol.js';
import { serializeError } from '../wire/errors.js';
import { moduleIdentity } from '../wire/task-address.js';
import { decodeValue, encodeFailure, encodeValue } from './codec.js';
import { connectionOptions, describeConnection, type RedisConnection } from './connection.js';
import { isUnreachable, RedisLink } from './link.js';

/** Options of `startWorker` (the `skein worker` command's flags). */
export interface WorkerOptions {
  /** Redis: a URL (`redis://host:6379/0`, `rediss://` for TLS) or ioredis options. */
  connection: RedisConnection;
  /** Module files whose exports this worker runs. */
  modules: readonly string[];
  /** Jobs run at once. Default: the pool's size. */
  concurrency?: number;
  /**
   * Where tasks run: a thread pool (default), a process pool, or 'inline' in this process's own
   * event loop (no parallelism beyond `concurrency`; for tiny or I/O-bound tasks, where the hop to
   * a pool costs more than the task; a timed-out inline task is abandoned, not stopped).
   */
  backend?: 'threads' | 'processes' | 'inline';
  /** Local pool size. Default: os.availableParallelism(). */
  workers?: number;
  /** The BullMQ queue to take jobs from; the same as the executors'. Default 'skein'. */
  queue?: string;
  /** Prefix of every Redis key; the same as the executors'. Default 'skein'. */
  prefix?: string;
  /** ms a job's lock lasts without renewal: a worker silent this long is presumed dead and its job is run again. Default 30,000. */
  lockDuration?: number;
  /** ms between checks for such stalled jobs. Default 30,000. */
  stalledInterval?: number;
  /** Receives one line per notable event (Redis lost or back, a failing job), throttled. Default: silent. */
  log?: (line: string) => void;
}

/** The same complaint (an unreachable Redis, a repeated error) is logged at most this often. */
const REPORT_EVERY_MS = 5000;

/**
 * How long a worker told to stop waits for an absent Redis. BullMQ's close waits for Redis (to
 * store the running jobs' results, then to close), forever; past this the worker stops anyway,
 * and the jobs it was running are run again elsewhere once their locks expire (at least once).
 */
const STOP_WITHOUT_REDIS_MS = 5000;

/** A log that says a thing (by key) at most once per `ms`; forget(key) lets it be said at once again. */
function throttledLog(log: ((line: string) => void) | undefined, ms: number) {
  const said = new Map<string, number>();
  return {
    say(key: string, line: string): void {
      const now = performance.now();
      const last = said.get(key);
      if (last !== undefined && now - last < ms) return;
      if (said.size > 100) said.clear(); // keys are error messages: keep the map small
      said.set(key, now);
      log?.(line);
    },
    forget(key: string): void {
      said.delete(key);
    },
  };
}

interface ServedModule {
  readonly file: string;
  readonly version: string;
  readonly exports: Record<string, unknown>;
}

/** A worker started by `startWorker`, taking jobs until `close()`. */
export interface RunningWorker {
  /**
   * Stops taking jobs, lets the running ones finish, closes the pool and the connection.
   * Resolves true; false when it stopped without Redis (away for STOP_WITHOUT_REDIS_MS): then
   * BullMQ, still waiting for that connection to end, keeps timers alive, and the process
   * should exit by itself (the CLI does).
   */
  close(): Promise<boolean>;
  /** The module identities this worker serves, as jobs name them. */
  readonly served: readonly string[];
}

/** The function a job names, among the served modules' exports; throws saying what does not match. */
function lookup(served: Map<string, ServedModule>, data: TaskJobData): TaskFunction {
  const module = served.get(data.m);
  if (!module) {
    throw new Error(
      `this worker does not serve module "${data.m}" (it serves: ${[...served.keys()].join(', ') || 'none'}); ` +
        `start a worker with --module ${data.m}`,
    );
  }
  if (module.version !== data.v) {
    throw new Error(
      `module "${data.m}" differs between the client (version ${data.v}) and this worker (version ` +
        `${module.version}, ${module.file}): deploy the same code to both`,
    );
  }
  let target: unknown = module.exports;
  for (const key of data.e.split('.')) target = (target as Record<string, unknown> | undefined)?.[key];
  if (typeof target !== 'function') {
    throw new Error(`module "${data.m}" has no exported function "${data.e}"`);
  }
  return target as TaskFunction;
}

/**
 * Runs one chunk of a map: its items in order, stopping at the first error, as a local chunk
 * does. With `spread`, each item is an argument list (a map over zipped iterables).
 */
async function runChunk(
  pool: PoolExecutor | undefined,
  fn: TaskFunction,
  items: unknown[],
  spread: boolean,
): Promise<ChunkOutcome> {
  const started = performance.now();
  const values: unknown[] = [];
  // zipped argument lists back into one iterable per parameter, for the local pool's map
  const columns = () =>
    Array.from({ length: (items[0] as unknown[] | undefined)?.length ?? 0 }, (_, j) =>
      items.map((args) => (args as unknown[])[j]),
    );
  try {
    if (pool) {
      const results = spread
        ? pool.map(fn, ...(columns() as [unknown[]]))
        : pool.map(fn as (item: never) => unknown, items as never[]);
      for await (const value of results) values.push(value);
    } else {
      for (const item of items) values.push(await (spread ? fn(...(item as never[])) : fn(item as never)));
    }
  } catch (error) {
    return { values, error: serializeError(error) as ChunkOutcome['error'], ms: performance.now() - started };
  }
  return { values, ms: performance.now() - started };
}

function runInline(fn: TaskFunction, args: unknown[], timeout: number | undefined): Promise<unknown> {
  const running = Promise.resolve().then(() => fn(...(args as never[])));
  if (timeout === undefined) return running;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TimeoutError(`${fn.name || 'the task'} did not finish within ${timeout} ms`)),
      timeout,
    );
  });
  return Promise.race([running, expired]).finally(() => clearTimeout(timer));
}

/**
 * Imports `modules` and starts taking jobs from the queue, running them on a local pool (or
 * inline). Rejects if a module cannot be loaded, or with TypeError when `modules` is empty.
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  if (options.modules.length === 0) throw new TypeError('a worker needs at least one --module to serve');
  const served = new Map<string, ServedModule>();
  for (const path of options.modules) {
    const file = resolve(path);
    let exports: Record<string, unknown>;
    try {
      exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (error) {
      throw new Error(`cannot load --module ${path}: ${(error as Error).message}`, { cause: error });
    }
    const identity = moduleIdentity(file);
    served.set(identity.module, { file, version: identity.version, exports });
  }
  const pool: PoolExecutor | undefined =
    options.backend === 'inline'
      ? undefined
      : options.backend === 'processes'
        ? new ProcessPoolExecutor({ maxWorkers: options.workers })
        : new ThreadPoolExecutor({ maxWorkers: options.workers });
  const worker = new Worker<TaskJobData, string>(
    options.queue ?? 'skein',
    async (job) => {
      const data = job.data;
      let fn: TaskFunction;
      try {
        fn = lookup(served, data);
      } catch (error) {
        throw new UnrecoverableError(encodeFailure(error)); // running it again elsewhere cannot help
      }
      try {
        const args = decodeValue(data.a) as unknown[];
        if (data.c) return encodeValue(await runChunk(pool, fn, args, data.c === 2));
        const value = pool
          ? await pool.submitWith(data.t === undefined ? {} : { timeout: data.t }, fn, ...(args as never[]))
          : await runInline(fn, args, data.t);
        return encodeValue(value);
      } catch (error) {
        // A timeout is final, as locally; other errors may be retried (`retries`).
        const failure = encodeFailure(error);
        throw error instanceof TimeoutError ? new UnrecoverableError(failure) : new Error(failure);
      }
    },
    {
      connection: connectionOptions(options.connection),
      prefix: options.prefix ?? 'skein',
      concurrency: options.concurrency ?? pool?.maxWorkers ?? 1,
      lockDuration: options.lockDuration ?? 30_000,
      stalledInterval: options.stalledInterval ?? 30_000,
      // A job whose worker died is run again rather than failed (at-least-once), up to this often.
      maxStalledCount: 10,
    },
  );
  const url = describeConnection(options.connection);
  const link = new RedisLink(url);
  link.watch(worker.getBackend());
  const report = throttledLog(options.log, REPORT_EVERY_MS);
  let away = false;
  worker.on('error', (error) => {
    if (!isUnreachable(error)) return report.say(error.message, `skein worker: ${error.message}`);
    away = true;
    report.say(
      'unreachable',
      `skein worker: cannot reach Redis at ${url} (${error.message}); retrying until it answers ` +
        '(jobs wait in Redis meanwhile)',
    );
  });
  worker.getBackend().on('ready', () => {
    if (!away) return;
    away = false;
    report.forget('unreachable');
    options.log?.(`skein worker: Redis at ${url} answers again`);
  });
  await worker.waitUntilReady();
  return {
    served: [...served.keys()],
    async close(): Promise<boolean> {
      const closing = worker.close();
      if (await link.settledUnlessAway(closing, STOP_WITHOUT_REDIS_MS)) {
        try {
          await closing; // its error, if any, is the caller's
        } finally {
          await pool?.shutdown();
        }
        return true;
      }
      options.log?.(
        `skein worker: Redis at ${url} has been away for ${STOP_WITHOUT_REDIS_MS / 1000} s: stopping without it ` +
          '(the jobs running here will run again elsewhere once their locks expire)',
      );
      // Forced: without waiting for the 'end' that a connection between two attempts never
      // sends, and so that BullMQ's job-fetching loop stops reconnecting (it does unless closing).
      await worker
        .getBackend()
        .close(true)
        .catch(() => undefined);
      void closing.catch(() => undefined);
      await pool?.shutdown();
      return false;
    },
  };
}
