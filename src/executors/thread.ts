/** The worker_threads transport: one Worker per pool worker, messages by postMessage. */
import { type TransferListItem, Worker } from 'node:worker_threads';
import type { Future, TaskFunction, TaskResult } from '../futures/base.js';
import { checkOptions, optionKeys } from '../futures/options.js';
import { TASK_STATE_BYTES, TASK_STATE_STOPPED, TASK_STATE_WORD } from '../pool/task-state.js';
import type { Backend, TaskStateChannel, WorkerTransport } from '../pool/transport.js';
import { processSharing } from '../wire/process-sharing.js';
import { PoolExecutor, type PoolExecutorOptions } from './pool.js';

export const threadBackend: Backend = {
  kind: 'thread',
  createTaskState(): TaskStateChannel {
    const buffer = new SharedArrayBuffer(TASK_STATE_BYTES);
    const words = new Int32Array(buffer);
    return {
      forWorker: buffer,
      read: () => Atomics.load(words, TASK_STATE_WORD),
      markStopped: (id) => void Atomics.store(words, TASK_STATE_STOPPED, id),
      close: () => {},
    };
  },
  spawn(entry, options, handlers, init): WorkerTransport {
    const worker = new Worker(entry, {
      name: options.name,
      workerData: init,
      env: options.env ?? process.env,
      ...(options.execArgv ? { execArgv: [...options.execArgv] } : {}),
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
    });
    let lastError: Error | undefined;
    let exited = false;
    // Calls of the proxies its tasks were given (a Manager's dict, a lent Pipe end) are answered
    // here, on the worker's own port; its caller id is minus its threadId (a process's is its pid).
    const sharing = processSharing()?.attach(-worker.threadId, (message) => {
      if (exited) return false;
      worker.postMessage(message);
      return true;
    });
    worker.on('message', (message) => {
      if (!sharing?.onMessage(message)) handlers.onMessage(message);
    });
    // A results message that cannot be read: the engine ends the worker and its task-state word
    // tells which tasks had finished (their answers are lost) and which never started.
    worker.on('messageerror', () => handlers.onMessage({ t: 'unreadable', batch: -1 }));
    // 'error' (an uncaught exception, out of memory) always comes before 'exit'.
    worker.on('error', (error) => {
      lastError = error;
    });
    worker.on('exit', (exitCode) => {
      exited = true;
      sharing?.exited();
      const code = (lastError as { code?: string } | undefined)?.code;
      const reason =
        code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? 'out of memory'
          : lastError
            ? `uncaught ${lastError.name}: ${lastError.message}`
            : `exited with code ${exitCode}`;
      handlers.onExit({ exitCode, signal: null, reason });
    });
    return {
      post: (message, transfer) => worker.postMessage(message, transfer as TransferListItem[] | undefined),
      terminate: () => void worker.terminate(),
      setKeepAlive: (keepAlive) => (keepAlive ? worker.ref() : worker.unref()),
      threadId: worker.threadId,
    };
  },
};

/**
 * `concurrent.futures.ThreadPoolExecutor` on worker_threads. Node has no GIL: each worker is a
 * V8 isolate on its own OS thread, so CPU-bound JavaScript runs in parallel. Threads start
 * faster and exchange data more cheaply than processes, and can share SharedArrayBuffers.
 */
export class ThreadPoolExecutor extends PoolExecutor {
  constructor(options: PoolExecutorOptions = {}) {
    super(threadBackend, options);
  }
}

/** Options of `new Thread(...)`: Python's `target`, `args` and `name`. */
export interface ThreadOptions<F extends TaskFunction> {
  /** The function to run: exported from a module, or self-contained (see submit). */
  target: F;
  /** Arguments of `target`, checked against its parameters. Default none. */
  args?: Parameters<F>;
  /** The thread's name (debuggers, `ps -T`). */
  name?: string;
}

/** The option names of `new Thread(...)` (an unknown one is a TypeError, as in Python). */
export const THREAD_OPTION_KEYS = optionKeys<ThreadOptions<TaskFunction>>({ target: true, args: true, name: true });

/**
 * `threading.Thread`: one function run on a thread of its own, started with `start()` and
 * awaited with `join()`. Unlike Python, `join()` rejects with the function's error if it threw
 * (Python only prints it), and the thread runs JavaScript in parallel: there is no GIL.
 * For many tasks, a ThreadPoolExecutor reuses its threads; a Thread starts one each time (~30 ms).
 */
export class Thread<F extends TaskFunction = TaskFunction> {
  /** The name given in the options, or `Thread-N` (N counts the threads of this process). */
  readonly name: string;
  readonly #target: F;
  readonly #args: Parameters<F>;
  #future: Future<TaskResult<F>> | undefined;
  static #count = 0;

  constructor(options: ThreadOptions<F>) {
    checkOptions('new Thread(options)', options, THREAD_OPTION_KEYS);
    if (typeof options?.target !== 'function') throw new TypeError('Thread({ target }): target must be a function');
    this.#target = options.target;
    this.#args = (options.args ?? []) as Parameters<F>;
    this.name = options.name ?? `Thread-${++Thread.#count}`;
  }

  /** Starts the thread. A thread can be started once. */
  start(): void {
    if (this.#future) throw new Error(`${this.name} was already started: a Thread can be started once`);
    const executor = new ThreadPoolExecutor({ maxWorkers: 1, name: this.name });
    this.#future = executor.submit(this.#target, ...this.#args);
    void executor.shutdown();
  }

  /** Started and not finished. */
  isAlive(): boolean {
    return this.#future !== undefined && !this.#future.done;
  }

  /**
   * Resolves when the thread has finished (rejects with its error if it threw). With `timeout`,
   * resolves after that many ms even if it still runs: check `isAlive()`, as in Python.
   */
  async join(options?: { timeout?: number }): Promise<void> {
    if (!this.#future) throw new Error(`cannot join ${this.name} before start()`);
    const done = Promise.resolve(this.#future).then(() => undefined);
    if (options?.timeout === undefined) return done;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.timeout);
    });
    try {
      await Promise.race([done, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}
