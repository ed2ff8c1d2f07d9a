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
 *
 * When Redis does not answer (see RedisLink), nothing waits without a deadline:
 *   - a task is handed to Redis only while the connection is up; one that cannot be within
 *     `connectTimeout` of its submit fails with a ConnectionError, and is never sent later;
 *   - a task already handed over waits through an outage of any length (its result is read
 *     back once Redis is there again), except in shutdown(), which stops waiting once Redis
 *     has been away for `connectTimeout` and fails such tasks with a ConnectionError;
 *   - closing is bounded too, so that the process can exit.
 */
import { type Job, Queue, QueueEvents } from 'bullmq';
import { checkPayload, decodeFailure, decodeValue, encodeValue } from '../distributed/codec.js';
import { connectionOptions, describeConnection, type RedisConnection } from '../distributed/connection.js';
import { notSentError, resultLostError } from '../distributed/errors.js';
import { RedisLink } from '../distributed/link.js';
import {
  type ExecutorStats,
  Future,
  type ShutdownOptions,
  type SubmitOptions,
  type TaskFunction,
} from '../futures/base.js';
import { CancelledError } from '../futures/errors.js';
import { checkOptions, optionKeys } from '../futures/options.js';
import { addressOf, type TaskAddress } from '../wire/task-address.js';
import { BaseExecutor, type ChunkCall, type Outcome, SHUTDOWN_OPTION_KEYS, shownValue } from './base.js';

/**
 * Options of every job. Completed jobs stay an hour (failed ones a day), so that a client cut off
 * when its job finished can still read the result when it is back (see sweep()).
 */
const KEEP_FINISHED_JOBS = { removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 } } as const;

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * How long shutdown() lets BullMQ close its connections. Closing one whose Redis is away waits
 * for an 'end' event that ioredis never sends once it is between two attempts: past this, the
 * connections (already told to stop reconnecting) are left to go.
 */
const CLOSE_GRACE_MS = 1000;

/**
 * XREAD's block time on the events connection (BullMQ's default: 10 s). While Redis is away,
 * BullMQ's own watchdog waits for this plus 1 s before it lets a closed reader go, which is how
 * long a process could stay alive after shutdown(); results still arrive at once.
 */
const EVENTS_BLOCK_MS = 2000;

/** `submitWith` options of a DistributedExecutor: the local ones, and BullMQ's priority. */
export interface DistributedSubmitOptions extends SubmitOptions {
  /** Jobs with a lower number start first (BullMQ priority, 1 = highest). */
  priority?: number;
}

/** Options of `new DistributedExecutor(...)`: where Redis is, the queue, and the limits. */
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
  /**
   * How long (ms) Redis may not answer before a task fails with a ConnectionError. It applies
   * to handing each task to Redis, at the first connection as after a lost one: a task not
   * handed over within this time of its submit fails (it is never sent later, so it will not
   * run). It applies to shutdown() too, which stops waiting for results once Redis has been away
   * this long. A task already in Redis otherwise waits for its result through any outage (at
   * least once). Default 10,000.
   */
  connectTimeout?: number;
}

/** The option names of `new DistributedExecutor(...)` (an unknown one is a TypeError, as in Python). */
export const DISTRIBUTED_EXECUTOR_OPTION_KEYS = optionKeys<DistributedExecutorOptions>({
  connection: true,
  queue: true,
  prefix: true,
  maxPayloadBytes: true,
  retryBackoff: true,
  mapWindow: true,
  connectTimeout: true,
});

/** The option names of a DistributedExecutor's `submitWith`: every executor's, and `priority`. */
export const DISTRIBUTED_SUBMIT_OPTION_KEYS = optionKeys<DistributedSubmitOptions>({
  timeout: true,
  signal: true,
  transfer: true,
  retries: true,
  priority: true,
});

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
  /** Handed to Redis (addBulk called): from then on only Redis can tell its fate. */
  sent: boolean;
  started: boolean;
}

/** A job waiting to be handed to Redis, until `deadline` (performance.now() ms). */
interface WaitingAdd {
  readonly name: string;
  readonly data: TaskJobData;
  readonly opts: Record<string, unknown> & { jobId: string };
  readonly deadline: number;
}

function checkConnectTimeout(ms: unknown): number {
  if (ms === undefined) return DEFAULT_CONNECT_TIMEOUT_MS;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
    throw new TypeError(
      `connectTimeout must be a positive, finite number of milliseconds (how long Redis may not answer), got ${shownValue(ms)}`,
    );
  }
  return ms;
}

let clients = 0;

/**
 * An Executor whose tasks run on `skein worker` processes anywhere, through a BullMQ queue in
 * Redis: the same submit/map/shutdown as the pools. Tasks travel as names (module, version,
 * export), so a task function must be exported from a module the workers serve (`--module`).
 */
export class DistributedExecutor extends BaseExecutor<DistributedSubmitOptions> {
  /** The BullMQ queue name tasks are added to (option `queue`, default 'skein'). */
  readonly queueName: string;
  private readonly queue: Queue;
  /** Created once the queue's connection is up (see listen()), so that closing never waits on it before. */
  private events: QueueEvents | undefined;
  /** The queue's connection: whether adds can go now. */
  private readonly link: RedisLink;
  /** BullMQ has set both connections up (the first time): adds wait for it. */
  private connected = false;
  private readonly connectTimeout: number;
  private readonly maxPayloadBytes: number;
  private readonly retryBackoff: number;
  protected readonly mapParallelism: number;
  private readonly clientId = `${process.pid}.${Date.now().toString(36)}.${++clients}`;
  private nextJob = 0;
  private readonly pending = new Map<string, PendingJob>();
  private adds: WaitingAdd[] = [];
  private flushing: Promise<void> | undefined;
  /** Its connections are being closed: nothing new may open one. */
  private closed = false;
  private closing: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];

  protected override readonly submitOptionKeys = DISTRIBUTED_SUBMIT_OPTION_KEYS;

  constructor(options: DistributedExecutorOptions) {
    super();
    if (options === undefined) {
      throw new TypeError(
        "new DistributedExecutor(options): options are required, e.g. { connection: 'redis://localhost:6379' }",
      );
    }
    checkOptions('new DistributedExecutor(options)', options, DISTRIBUTED_EXECUTOR_OPTION_KEYS);
    const connection = connectionOptions(options.connection);
    this.connectTimeout = checkConnectTimeout(options.connectTimeout);
    this.queueName = options.queue ?? 'skein';
    const prefix = options.prefix ?? 'skein';
    this.maxPayloadBytes = options.maxPayloadBytes ?? 16 * 1024 * 1024;
    this.retryBackoff = options.retryBackoff ?? 1000;
    this.mapParallelism = options.mapWindow ?? 16;
    this.link = new RedisLink(describeConnection(options.connection));
    this.queue = new Queue(this.queueName, { connection, prefix });
    this.queue.on('error', () => {}); // the link keeps the reason; each attempt's error is no news
    this.link.watch(this.queue.getBackend());
    this.queue
      .waitUntilReady()
      .then(() => this.listen(connection, prefix))
      .then(
        () => {
          this.connected = true;
          this.link.wake();
        },
        (error: Error) => {
          this.link.lastError = error; // adds fail with it as the reason, within connectTimeout
        },
      );
  }

  /** Starts reading the queue's events, once its connection is up; resolves once they flow. */
  private async listen(connection: ReturnType<typeof connectionOptions>, prefix: string): Promise<void> {
    if (this.closed) return;
    // Read from a minute ago, not from '$' (the newest event when the first read happens): a job
    // added as soon as the connections are up can start, or even finish, before that first read,
    // and its event must not be missed. Older events are other clients' and are ignored; the
    // minute also covers a Redis clock a little behind ours (stream ids are Redis's time).
    const lastEventId = `${Date.now() - 60_000}-0`;
    const events = new QueueEvents(this.queueName, {
      connection,
      prefix,
      blockingTimeout: EVENTS_BLOCK_MS,
      lastEventId,
    });
    this.events = events;
    events.on('active', ({ jobId }) => {
      const job = this.pending.get(jobId);
      if (job && !job.started) {
        job.started = true;
        job.future.setRunningOrNotifyCancel();
      }
    });
    events.on('completed', ({ jobId, returnvalue }) => this.onCompleted(jobId, returnvalue));
    events.on('failed', ({ jobId, failedReason }) => this.onFailed(jobId, failedReason));
    // ioredis reconnects by itself, and QueueEvents reads on from the last event it saw. But the
    // events stream is capped (10,000 by default): events sent while we were cut off may have been
    // trimmed. So after a connection error we also ask Redis about every job still pending (until
    // that works). The distributed test that cuts the client's line trims the events, to cover it.
    events.on('error', () => this.scheduleSweep());
    await events.waitUntilReady();
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
      this.forget(jobId, job);
      this.afterSettle('cancelled', job, undefined);
    });
    const job: PendingJob = { future, chunk: chunk === undefined ? undefined : args, sent: false, started: false };
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
        if (this.pending.has(jobId)) this.forget(jobId, job);
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

  /** A cancelled job: removed from Redis if it was sent there; if not, the sender drops it (woken to see it). */
  private forget(jobId: string, job: PendingJob): void {
    if (job.sent) void this.queue.remove(jobId).catch(() => 0);
    else this.link.wake();
  }

  private enqueueAdd(data: TaskJobData, opts: Record<string, unknown> & { jobId: string }): void {
    this.adds.push({ name: data.e, data, opts, deadline: performance.now() + this.connectTimeout });
    this.flushing ??= this.flush();
  }

  /**
   * Hands the waiting adds to Redis: those made in the same turn as one addBulk, and only while
   * the connection is up, so that a task either reaches Redis or fails with a ConnectionError
   * within connectTimeout, never both. (An addBulk under way when the line drops is resent by
   * ioredis on reconnect: its tasks count as sent; the job ids make a resend harmless.)
   */
  private async flush(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (;;) {
      this.adds = this.adds.filter((add) => this.pending.has(add.opts.jobId)); // not cancelled meanwhile
      const first = this.adds[0];
      if (first === undefined) break;
      if (!(this.connected && this.link.up)) {
        const now = performance.now();
        if (first.deadline > now) {
          await this.link.changed(first.deadline - now);
          continue;
        }
        const expired = this.adds.filter((add) => add.deadline <= now);
        this.adds = this.adds.filter((add) => add.deadline > now);
        const { url, reason, lastError } = this.link;
        for (const add of expired) {
          this.settle(add.opts.jobId, false, notSentError(url, this.connectTimeout, reason, lastError));
        }
        continue;
      }
      const batch = this.adds.map(({ name, data, opts }) => ({ name, data, opts }));
      this.adds = [];
      for (const add of batch) (this.pending.get(add.opts.jobId) as PendingJob).sent = true;
      try {
        await this.queue.addBulk(batch);
      } catch (error) {
        for (const add of batch) this.settle(add.opts.jobId, false, error);
      }
    }
    this.flushing = undefined;
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

  /** Counters of this client's tasks: `workers` and `idle` are 0 (Redis workers are not counted). */
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
   * Redis connections are closed. `cancelFutures` removes the jobs still waiting in Redis. It
   * always resolves: while Redis is away, it waits for results no longer than connectTimeout.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    checkOptions('shutdown(options)', options, SHUTDOWN_OPTION_KEYS);
    if (this.state === 'open') this.state = 'shutdown';
    if (options.cancelFutures) for (const job of [...this.pending.values()]) if (!job.started) job.future.cancel();
    this.closing ??= (async () => {
      await this.flushing; // bounded: a task waits connectTimeout at most to be sent
      await this.drain();
      this.closed = true;
      clearTimeout(this.sweepTimer);
      await this.closeConnections();
    })();
    return options.wait === false ? Promise.resolve() : this.closing;
  }

  /**
   * Waits for every task in Redis to settle, as long as Redis answers (as Python waits for
   * running tasks); once it has been away for connectTimeout, fails those left with a
   * ConnectionError.
   */
  private async drain(): Promise<void> {
    if (this.pending.size === 0) return;
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (await this.link.settledUnlessAway(idle, this.connectTimeout)) return;
    const { url, reason, lastError } = this.link;
    for (const jobId of [...this.pending.keys()]) {
      this.settle(jobId, false, resultLostError(url, this.connectTimeout, reason, lastError));
    }
  }

  /**
   * Closes both connections. Bounded: BullMQ's close of a connection whose Redis is away may
   * never resolve (see CLOSE_GRACE_MS); by then it has told ioredis to stop reconnecting.
   */
  private async closeConnections(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_GRACE_MS);
    });
    const closed = Promise.all([this.queue.close(), this.events?.close()]).catch(() => undefined);
    await Promise.race([closed, grace]);
    clearTimeout(timer);
  }
}
