/**
 * `DistributedExecutor`: the Executor interface over BullMQ on Redis, for when one machine is
 * not enough. The client only names tasks; `skein worker` processes, started with the same
 * modules, run them on their local pools.
 *
 *   submit(fn, ...args) ─► job { module, version, export, args } ─► Redis ─► skein worker
 *   Future ◄─ QueueEvents 'completed' / 'failed' (result or error, encoded) ◄─ Redis ◄─┘
 *
 * Adds made in one turn go to Redis as one addBulk. A map sends chunks of items as jobs (a
 * million tiny items do not become a million jobs). Delivery is BullMQ's: at least once; a job
 * whose worker dies is run again by another once BullMQ sees it stalled.
 */
import { type Job, Queue, QueueEvents } from 'bullmq';
import { checkPayload, decodeFailure, decodeValue, encodeValue } from '../distributed/codec.js';
import { connectionOptions, type RedisConnection } from '../distributed/connection.js';
import {
  type ExecutorStats,
  Future,
  type ShutdownOptions,
  type SubmitOptions,
  type TaskFunction,
} from '../futures/base.js';
import { CancelledError } from '../futures/errors.js';
import { addressOf, type TaskAddress } from '../wire/task-address.js';
import { BaseExecutor, type ChunkCall, type Outcome } from './base.js';

/**
 * Options of every job. Completed jobs stay an hour (failed ones a day), so that a client cut off
 * when its job finished can still read the result when it is back (see sweep()).
 */
const KEEP_FINISHED_JOBS = { removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 } } as const;

/** `submitWith` options of a DistributedExecutor: the local ones, and BullMQ's priority. */
export interface DistributedSubmitOptions extends SubmitOptions {
  /** Jobs with a lower number start first (BullMQ priority, 1 = highest). */
  priority?: number;
}

export interface DistributedExecutorOptions {
  /** Redis: a URL (`redis://:password@host:6379/0`, `rediss://` for TLS) or ioredis options. */
  connection: RedisConnection;
  /** The BullMQ queue name; workers must use the same. Default 'skein'. */
  queue?: string;
  /** Prefix of every Redis key. Default 'skein'. */
  prefix?: string;
  /** Largest encoded job payload (arguments or a chunk), in bytes. Default 16 MiB. */
  maxPayloadBytes?: number;
  /** First retry delay (ms) for `retries`; doubles each time. Default 1000. */
  retryBackoff?: number;
  /** Chunk jobs of one `map` in flight at once. Default 16. */
  mapWindow?: number;
}

/** What the job data holds (short keys: it is stored once per job). */
export interface TaskJobData {
  /** module id, version, export path: see task-address.ts */
  m: string;
  v: string;
  e: string;
  /** the arguments (or a chunk's items), encoded */
  a: string;
  /** 1: a map chunk (the function is called once per item); 2: a chunk of argument lists (zipped iterables) */
  c: 0 | 1 | 2;
  /** timeout (ms), counted from the start on the worker */
  t?: number;
}

interface PendingJob {
  readonly future: Future<unknown>;
  /** A map chunk's items (for the progress counts), or undefined. */
  readonly chunk: unknown[] | Float64Array | undefined;
  started: boolean;
}

let clients = 0;

export class DistributedExecutor extends BaseExecutor<DistributedSubmitOptions> {
  readonly queueName: string;
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly ready: Promise<unknown>;
  private readonly maxPayloadBytes: number;
  private readonly retryBackoff: number;
  private readonly clientId = `${process.pid}.${Date.now().toString(36)}.${++clients}`;
  private nextJob = 0;
  private readonly pending = new Map<string, PendingJob>();
  private adds: { name: string; data: TaskJobData; opts: Record<string, unknown> & { jobId: string } }[] = [];
  private flushing: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  protected readonly mapParallelism: number;
  private idleWaiters: (() => void)[] = [];

  constructor(options: DistributedExecutorOptions) {
    super();
    const connection = connectionOptions(options.connection);
    this.queueName = options.queue ?? 'skein';
    const prefix = options.prefix ?? 'skein';
    this.maxPayloadBytes = options.maxPayloadBytes ?? 16 * 1024 * 1024;
    this.retryBackoff = options.retryBackoff ?? 1000;
    this.mapParallelism = options.mapWindow ?? 16;
    this.queue = new Queue(this.queueName, { connection, prefix });
    this.events = new QueueEvents(this.queueName, { connection, prefix });
    this.events.on('active', ({ jobId }) => {
      const job = this.pending.get(jobId);
      if (job && !job.started) {
        job.started = true;
        job.future.setRunningOrNotifyCancel();
      }
    });
    this.events.on('completed', ({ jobId, returnvalue }) => this.onCompleted(jobId, returnvalue));
    this.events.on('failed', ({ jobId, failedReason }) => this.onFailed(jobId, failedReason));
    // ioredis reconnects by itself, and QueueEvents reads on from the last event it saw. But the
    // events stream is capped (10,000 by default): events sent while we were cut off may have been
    // trimmed. So after a connection error we also ask Redis about every job still pending (until
    // that works). The distributed test that cuts the client's line trims the events, to cover it.
    this.queue.on('error', () => {});
    this.events.on('error', () => this.scheduleSweep());
    this.ready = Promise.all([this.events.waitUntilReady(), this.queue.waitUntilReady()]);
  }

  protected checkTask(fn: TaskFunction): void {
    if (typeof fn !== 'function') throw new TypeError(`a task must be a function, got ${typeof fn}`);
  }

  protected submitTask(
    fn: TaskFunction,
    args: unknown[] | Float64Array,
    options: DistributedSubmitOptions = {},
    chunk: ChunkCall | undefined = undefined,
  ): Future<unknown> {
    this.checkOpen();
    this.checkTask(fn);
    let encoded: string;
    try {
      encoded = encodeValue(chunk ? Array.from(args) : args);
    } catch (error) {
      throw new TypeError(
        `the arguments of ${fn.name || 'the task'}(...) cannot be sent to a worker: ${(error as Error).message}`,
      );
    }
    checkPayload(`the arguments of ${fn.name || 'the task'}(...)`, encoded, this.maxPayloadBytes);
    const jobId = `${this.clientId}.${++this.nextJob}`;
    // cancel() succeeds while the job has not started (as locally): the job is removed from
    // Redis, and should a worker have taken it meanwhile, its result is ignored.
    const future: Future<unknown> = new Future<unknown>(() => {
      if (!this.pending.delete(jobId)) return;
      void this.queue.remove(jobId).catch(() => 0);
      this.afterSettle('cancelled', job, undefined);
    });
    const job: PendingJob = { future, chunk: chunk === undefined ? undefined : args, started: false };
    this.pending.set(jobId, job);
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) {
        this.settleCancelled(
          jobId,
          new CancelledError('the task was aborted before it was submitted', { cause: signal.reason }),
        );
        return future;
      }
      const onAbort = () => {
        // A job still waiting is removed; one running cannot be reached, its result is ignored.
        void this.queue.remove(jobId).catch(() => 0);
        this.settleCancelled(jobId, new CancelledError('the task was aborted', { cause: signal.reason }));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      future.addDoneCallback(() => signal.removeEventListener('abort', onAbort));
    }
    const send = (address: TaskAddress) => {
      if (future.done) return;
      const data: TaskJobData = {
        m: address.module,
        v: address.version,
        e: address.export,
        a: encoded,
        c: chunk === 'spread' ? 2 : chunk ? 1 : 0,
      };
      if (options.timeout !== undefined) data.t = options.timeout;
      const retries = options.retries ?? 0;
      this.enqueueAdd(data, {
        jobId,
        ...KEEP_FINISHED_JOBS,
        ...(retries > 0 ? { attempts: retries + 1, backoff: { type: 'exponential', delay: this.retryBackoff } } : {}),
        ...(options.priority !== undefined ? { priority: options.priority } : {}),
      });
    };
    try {
      const address = addressOf(fn);
      if (address instanceof Promise) address.then(send, (error) => this.settle(jobId, false, error));
      else send(address);
    } catch (error) {
      this.settle(jobId, false, error);
    }
    return future;
  }

  /** Adds made in the same turn go to Redis as one addBulk. */
  private enqueueAdd(data: TaskJobData, opts: Record<string, unknown> & { jobId: string }): void {
    this.adds.push({ name: data.e, data, opts });
    if (this.flushing) return;
    this.flushing = this.ready.then(async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.adds.length > 0) {
        const batch = this.adds;
        this.adds = [];
        try {
          await this.queue.addBulk(batch);
        } catch (error) {
          for (const add of batch) this.settle(add.opts.jobId, false, error);
        }
      }
      this.flushing = undefined;
    });
  }

  private onCompleted(jobId: string, returnvalue: unknown): void {
    const job = this.pending.get(jobId);
    if (!job) return;
    let value: unknown;
    try {
      const text =
        typeof returnvalue === 'string' && returnvalue.startsWith('"') ? JSON.parse(returnvalue) : returnvalue;
      value = decodeValue(text as string);
    } catch (error) {
      this.settle(jobId, false, error);
      return;
    }
    this.settle(jobId, true, value);
  }

  private onFailed(jobId: string, failedReason: string | undefined): void {
    this.settle(jobId, false, decodeFailure(failedReason));
  }

  private sweepTimer: NodeJS.Timeout | undefined;

  private scheduleSweep(): void {
    if (this.sweepTimer || this.pending.size === 0) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = undefined;
      void this.sweep();
    }, 1000);
  }

  /** After a connection error: look up every job still pending, in case its event was missed. */
  private async sweep(): Promise<void> {
    for (const jobId of [...this.pending.keys()]) {
      let job: Job | undefined;
      try {
        job = await this.queue.getJob(jobId);
      } catch {
        this.scheduleSweep(); // still cut off: try again soon
        return;
      }
      if (!job) continue;
      if (job.finishedOn && job.returnvalue !== undefined && job.returnvalue !== null) {
        this.onCompleted(jobId, job.returnvalue);
      } else if (job.finishedOn && job.failedReason && job.attemptsMade >= (job.opts.attempts ?? 1)) {
        this.onFailed(jobId, job.failedReason);
      }
    }
  }

  private settle(jobId: string, ok: boolean, value: unknown): void {
    const job = this.pending.get(jobId);
    if (!job) return;
    this.pending.delete(jobId);
    if (ok) job.future.setResult(value);
    else job.future.setException(value);
    this.afterSettle(ok ? 'completed' : 'failed', job, value);
  }

  private settleCancelled(jobId: string, error: CancelledError): void {
    const job = this.pending.get(jobId);
    if (!job) return;
    this.pending.delete(jobId);
    job.future.setCancelled(error);
    this.afterSettle('cancelled', job, error);
  }

  private afterSettle(outcome: Outcome, job: PendingJob, value: unknown): void {
    this.recordSettled(outcome, job.chunk, value);
    if (this.pending.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  get stats(): ExecutorStats {
    let running = 0;
    for (const job of this.pending.values()) if (job.started) running++;
    return {
      workers: 0,
      idle: 0,
      queued: this.pending.size - running,
      running,
      completed: this.completed,
      failed: this.failed,
      cancelled: this.cancelled,
    };
  }

  /**
   * Stops accepting tasks; with `wait` (default) resolves once every task has settled and the
   * Redis connections are closed. `cancelFutures` removes the jobs still waiting in Redis.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (this.state === 'open') this.state = 'shutdown';
    if (options.cancelFutures) for (const job of [...this.pending.values()]) if (!job.started) job.future.cancel();
    this.closing ??= (async () => {
      await this.flushing;
      if (this.pending.size > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      clearTimeout(this.sweepTimer);
      await Promise.all([this.queue.close(), this.events.close()]);
    })();
    return options.wait === false ? Promise.resolve() : this.closing;
  }
}
