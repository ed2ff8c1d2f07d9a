/** The worker_threads transport: one Worker per pool worker, messages by postMessage. */
import { type TransferListItem, Worker } from 'node:worker_threads';
import { PoolExecutor, type PoolExecutorOptions } from '../pool/executor.js';
import type { Backend, WorkerTransport } from '../pool/transport.js';

export const threadBackend: Backend = {
  kind: 'thread',
  spawn(entry, options, handlers, init): WorkerTransport {
    const worker = new Worker(entry, {
      name: options.name,
      workerData: init,
      env: options.env ?? process.env,
      ...(options.execArgv ? { execArgv: [...options.execArgv] } : {}),
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
    });
    let lastError: Error | undefined;
    worker.on('message', handlers.onMessage);
    // 'error' (an uncaught exception, out of memory) always comes before 'exit'.
    worker.on('error', (error) => {
      lastError = error;
    });
    worker.on('exit', (exitCode) => {
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
