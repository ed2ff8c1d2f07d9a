/**
 * The child-process transport: `fork` with Node's 'advanced' IPC serialization, so values travel
 * by the same structured clone as with threads. A child inherits the parent's execArgv (so a
 * parent under `tsx` gives children tsx too) plus the pool's own.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PoolExecutor, type PoolExecutorOptions } from '../pool/executor.js';
import type { Backend, WorkerTransport } from '../pool/transport.js';

export const processBackend: Backend = {
  kind: 'process',
  spawn(entry, options, handlers, init): WorkerTransport {
    const execArgv = [...process.execArgv, ...(options.execArgv ?? [])];
    const limits = options.resourceLimits;
    if (limits?.maxOldGenerationSizeMb) execArgv.push(`--max-old-space-size=${limits.maxOldGenerationSizeMb}`);
    if (limits?.maxYoungGenerationSizeMb) execArgv.push(`--max-semi-space-size=${limits.maxYoungGenerationSizeMb}`);
    if (limits?.stackSizeMb) execArgv.push(`--stack-size=${Math.floor(limits.stackSizeMb * 1024)}`);
    const child = fork(fileURLToPath(entry), [], {
      env: options.env ?? process.env,
      execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let exited = false;
    if (init) child.send(init); // IPC keeps order: it arrives before any task
    child.on('message', (message) => handlers.onMessage(message as Parameters<typeof handlers.onMessage>[0]));
    // A spawn failure emits 'error' and may never emit 'exit'.
    child.on('error', (error) => {
      if (!exited && child.exitCode === null && child.pid === undefined) {
        exited = true;
        handlers.onExit({ exitCode: null, signal: null, reason: `could not start: ${error.message}` });
      }
    });
    child.on('exit', (exitCode, signal) => {
      if (exited) return;
      exited = true;
      const reason = signal
        ? `killed by ${signal}`
        : exitCode === 134
          ? 'aborted (out of memory?)'
          : `exited with code ${exitCode}`;
      handlers.onExit({ exitCode, signal, reason });
    });
    return {
      post: (message) => {
        child.send(message);
      },
      terminate: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
      setKeepAlive: (keepAlive) => {
        if (keepAlive) {
          child.ref();
          child.channel?.ref();
        } else {
          child.unref();
          child.channel?.unref();
        }
      },
    };
  },
};

/**
 * `concurrent.futures.ProcessPoolExecutor` on child processes. Each worker is a separate Node
 * process: its memory is isolated, and a native crash or `process.exit` takes only it down.
 * Costlier to start and to talk to than threads; nothing can be shared by memory.
 */
export class ProcessPoolExecutor extends PoolExecutor {
  constructor(options: PoolExecutorOptions = {}) {
    super(processBackend, options);
  }
}
