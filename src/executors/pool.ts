/**
 * `PoolExecutor`: the public face of the pool engine, shared by ThreadPoolExecutor and
 * ProcessPoolExecutor. It validates input (options, arguments that cannot travel, shared
 * primitives to encode) and hands the checked task to the engine, which owns every task from
 * then on; the lifecycle, `map` and the counters are the executor base's (base.ts).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { ExecutorStats, Future, ShutdownOptions, SubmitOptions, TaskFunction } from '../futures/base.js';
import { BrokenExecutorError, CancelledError } from '../futures/errors.js';
import { checkOptions, optionKeys } from '../futures/options.js';
import { PoolEngine } from '../pool/engine.js';
import type { TaskReference } from '../pool/protocol.js';
import type { Backend, ResourceLimits } from '../pool/transport.js';
import { KINDS_MODULE_URL } from '../sync/kinds.js';
import { encodeShared, type SharedPrimitive } from '../sync/shared-memory.js';
import { type ArgumentsSeen, assertArgumentsCloneable } from '../wire/arguments.js';
import { processSharing } from '../wire/process-sharing.js';
import { resolveTaskReference } from '../wire/task-reference.js';
import { BaseExecutor, type ChunkCall, checkCount, checkMs, SHUTDOWN_OPTION_KEYS } from './base.js';

/** Options of `ThreadPoolExecutor` and `ProcessPoolExecutor` (Python's constructor arguments). */
export interface PoolExecutorOptions {
  /** Workers at most. Default: `os.availableParallelism()`. */
  maxWorkers?: number;
  /** Workers kept even when idle (started at once). Default 0. */
  minWorkers?: number;
  /** ms an idle worker above `minWorkers` lives. Default 30,000; `Infinity` keeps them. */
  idleTimeout?: number;
  /** Runs once in every worker before its first task; if it throws, the executor is broken. */
  initializer?: TaskFunction;
  /** Arguments of `initializer` (Python's `initargs`). Default none. */
  initArgs?: readonly unknown[];
  /** Replace a worker after this many tasks (Python's `max_tasks_per_child`). Default: never. */
  maxTasksPerWorker?: number;
  /** Memory caps per worker (threads: Node's resourceLimits; processes: V8 flags). */
  resourceLimits?: ResourceLimits;
  /** Environment of the workers. Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Extra Node flags for the workers. */
  execArgv?: readonly string[];
  /** Names the workers (`name-1`, `name-2`, ...), as seen in debuggers and `ps`. */
  name?: string;
  /**
   * ms a stopped task (timeout, abort) has to honour `currentTask().signal` before its worker is
   * terminated. Default 50; 0 terminates at once.
   */
  abortGracePeriod?: number;
}

/** The option names of both pool executors, from PoolExecutorOptions (an unknown one is a TypeError). */
export const POOL_EXECUTOR_OPTION_KEYS = optionKeys<PoolExecutorOptions>({
  maxWorkers: true,
  minWorkers: true,
  idleTimeout: true,
  initializer: true,
  initArgs: true,
  maxTasksPerWorker: true,
  resourceLimits: true,
  env: true,
  execArgv: true,
  name: true,
  abortGracePeriod: true,
});

/** What a `'progress'` listener receives: the executor's stats after a task (or map item) settled. */
export interface ProgressEvent extends ExecutorStats {}

/**
 * Where `tsx/esm/api` is (its ES module entry), when this program runs under tsx: Node 20 does
 * not apply `--import tsx` to worker threads, so each thread registers it itself.
 */
function findTsxApi(): string | undefined {
  if (!process.execArgv.some((arg) => arg.includes('tsx'))) return undefined;
  for (const base of [`${process.cwd()}/`, import.meta.url]) {
    try {
      const packageJson = createRequire(base).resolve('tsx/package.json');
      const pkg = JSON.parse(readFileSync(packageJson, 'utf8')) as {
        exports: Record<string, { import?: { default?: string } }>;
      };
      const entry = pkg.exports['./esm/api']?.import?.default;
      if (entry) return new URL(entry, pathToFileURL(packageJson)).href;
    } catch {
      // try the next place
    }
  }
  return undefined;
}

/**
 * The worker pool behind `ThreadPoolExecutor` and `ProcessPoolExecutor`: the same executor on
 * either backend. Construct one of those two; this class is exported for `instanceof` and types.
 */
export class PoolExecutor extends BaseExecutor {
  /** Workers at most, as resolved from the options (default `os.availableParallelism()`). */
  readonly maxWorkers: number;
  protected readonly mapParallelism: number;
  private readonly engine: PoolEngine;
  private readonly backend: Backend;
  private closing: Promise<void> | undefined;
  /** What the argument walk of the last submit met (one object, reused: submit is synchronous). */
  private readonly argumentsSeen: ArgumentsSeen = { largeArrays: false, bulky: false, brokered: false };

  constructor(backend: Backend, options: PoolExecutorOptions = {}) {
    super();
    checkOptions(
      `new ${backend.kind === 'thread' ? 'Thread' : 'Process'}PoolExecutor(options)`,
      options,
      POOL_EXECUTOR_OPTION_KEYS,
    );
    checkCount('maxWorkers', options.maxWorkers, 1);
    checkCount('minWorkers', options.minWorkers, 0);
    checkCount('maxTasksPerWorker', options.maxTasksPerWorker, 1);
    checkMs('idleTimeout', options.idleTimeout);
    checkMs('abortGracePeriod', options.abortGracePeriod);
    this.backend = backend;
    this.maxWorkers = options.maxWorkers ?? availableParallelism();
    this.mapParallelism = this.maxWorkers;
    const minWorkers = Math.min(options.minWorkers ?? 0, this.maxWorkers);
    if (options.initArgs !== undefined && !Array.isArray(options.initArgs)) {
      throw new TypeError(
        `initArgs must be an array of the initializer's arguments (Python's initargs tuple), got ${typeof options.initArgs}: ` +
          '{ initializer: f, initArgs: [a, b] } calls f(a, b) in each worker',
      );
    }
    let initializer: TaskReference | Promise<TaskReference> | undefined;
    if (options.initializer) {
      initializer = resolveTaskReference(options.initializer);
      const seen = this.argumentsSeen;
      const handles = assertArgumentsCloneable(options.initializer.name, options.initArgs ?? [], backend.kind, seen);
      if (seen.brokered) {
        throw new TypeError(
          'initArgs cannot hold a Pipe Connection or a Manager proxy (a worker outlives the tasks they are lent to): pass it to the tasks instead (submit(fn, conn))',
        );
      }
      if (handles && backend.kind === 'process') {
        throw new TypeError(
          'initArgs of a process pool cannot hold a Queue, Lock or other primitive: pass it to the tasks instead (submit(fn, queue))',
        );
      }
    }
    this.engine = new PoolEngine(
      {
        backend,
        spawnOptions: {
          name: options.name ?? `skein-${backend.kind}`,
          env: options.env,
          execArgv: options.execArgv,
          resourceLimits: options.resourceLimits,
        },
        maxWorkers: this.maxWorkers,
        minWorkers,
        idleTimeout: options.idleTimeout ?? 30_000,
        maxTasksPerWorker: options.maxTasksPerWorker ?? Number.POSITIVE_INFINITY,
        abortGracePeriod: options.abortGracePeriod ?? 50,
        tsxApi: backend.kind === 'thread' ? findTsxApi() : undefined,
        // A worker turns the descriptors of handles into proxies of the objects here (and a
        // thread's shared primitives into the same primitives).
        sharedKinds: processSharing()?.reviverUrl ?? KINDS_MODULE_URL,
        initializer,
        initArgs: options.initArgs ?? [],
      },
      {
        onSettled: (outcome, task, value) => this.recordSettled(outcome, task.chunk ? task.args : undefined, value),
        onBroken: (cause, why) => this.breakExecutor(cause, why),
      },
    );
    for (let i = 0; i < minWorkers; i++) this.engine.spawn();
  }

  protected checkTask(fn: TaskFunction): void {
    resolveTaskReference(fn);
  }

  protected submitTask(
    fn: TaskFunction,
    args: unknown[],
    options: SubmitOptions | undefined,
    chunk: ChunkCall | undefined,
  ): Future<unknown> {
    this.checkOpen();
    const seen = this.argumentsSeen;
    const holdsShared = assertArgumentsCloneable(fn.name, args, this.backend.kind, seen);
    let shared: SharedPrimitive[] | undefined;
    let settled: (() => void) | undefined;
    if (holdsShared) {
      shared = [];
      const sharing = processSharing();
      if (sharing) ({ args, settled } = sharing.encode(args, this.backend.kind, shared));
      else args = encodeShared(args, shared) as unknown[];
    }
    let future: Future<unknown>;
    try {
      future = this.engine.submit({
        fn,
        args,
        options,
        chunk,
        shared,
        largeArrays: seen.largeArrays,
        bulky: seen.bulky,
      });
    } catch (error) {
      settled?.();
      throw error;
    }
    // A Connection end lent to the task is the caller's again once it settles, before anyone awaiting it resumes.
    if (settled) future.addDoneCallback(settled);
    return future;
  }

  private breakExecutor(cause: unknown, why: string): void {
    if (this.state === 'broken') return;
    this.state = 'broken';
    this.brokenError = new BrokenExecutorError(`the executor is broken: ${why}`, { cause });
    this.engine.break(this.brokenError);
  }

  /** The pool's counters now: live and idle workers, queued and running tasks, settled totals. */
  get stats(): ExecutorStats {
    return { ...this.engine.stats(), completed: this.completed, failed: this.failed, cancelled: this.cancelled };
  }

  /**
   * Stops accepting tasks. With `wait` (default) resolves once every task has settled and every
   * worker has exited; with `cancelFutures`, tasks not yet handed to a worker are cancelled.
   * Without `wait`, the pool still finishes the remaining work, then exits, on its own. With
   * `timeout`, work still queued or running after that many ms is cancelled or stopped
   * (`TimeoutError`) and the workers are terminated: shutdown then always resolves.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    checkOptions('shutdown(options)', options, SHUTDOWN_OPTION_KEYS);
    checkMs('timeout', options.timeout);
    if (this.state === 'open') this.state = 'shutdown';
    if (options.cancelFutures)
      this.engine.cancelQueued(new CancelledError('cancelled by shutdown({ cancelFutures: true })'));
    this.closing ??= this.engine.whenIdle().then(() => this.engine.terminateAll());
    if (options.timeout !== undefined) {
      const deadline = setTimeout(() => void this.engine.forceStop(options.timeout as number), options.timeout);
      void this.closing.finally(() => clearTimeout(deadline));
    }
    return options.wait === false ? Promise.resolve() : this.closing;
  }
}
