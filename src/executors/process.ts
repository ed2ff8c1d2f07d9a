/**
 * The child-process transport: `fork` with Node's 'advanced' IPC serialization, so values travel
 * by the same structured clone as with threads. A child inherits the parent's execArgv (so a
 * parent under `tsx` gives children tsx too) plus the pool's own.
 */
import { fork } from 'node:child_process';
import { closeSync, openSync, readSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TASK_STATE_FD } from '../pool/task-state.js';
import type { Backend, TaskStateChannel, WorkerTransport } from '../pool/transport.js';
import { processSharing } from '../wire/process-sharing.js';
import { PoolExecutor, type PoolExecutorOptions } from './pool.js';

let stateFiles = 0;

export const processBackend: Backend = {
  kind: 'process',
  /**
   * A 4-byte file, unlinked as soon as it is open: the child writes its word with pwrite on the
   * descriptor it inherits, the parent reads it after the child died (the page cache keeps it,
   * whatever killed the child) and nothing is ever left on disk.
   */
  createTaskState(): TaskStateChannel {
    const path = join(tmpdir(), `skein-task-state-${process.pid}-${++stateFiles}`);
    const fd = openSync(path, 'w+', 0o600);
    unlinkSync(path);
    const word = new Int32Array(1);
    let closed = false;
    return {
      forWorker: TASK_STATE_FD,
      read: () => (readSync(fd, word, 0, 4, 0) === 4 ? (word[0] as number) : 0),
      markStopped: () => {},
      close: () => {
        if (closed) return;
        closed = true;
        closeSync(fd);
      },
      fd,
    };
  },
  spawn(entry, options, handlers, init, taskState): WorkerTransport {
    const execArgv = [...process.execArgv, ...(options.execArgv ?? [])];
    const limits = options.resourceLimits;
    if (limits?.maxOldGenerationSizeMb) execArgv.push(`--max-old-space-size=${limits.maxOldGenerationSizeMb}`);
    if (limits?.maxYoungGenerationSizeMb) execArgv.push(`--max-semi-space-size=${limits.maxYoungGenerationSizeMb}`);
    if (limits?.stackSizeMb) execArgv.push(`--stack-size=${Math.floor(limits.stackSizeMb * 1024)}`);
    const child = fork(fileURLToPath(entry), [], {
      env: options.env ?? process.env,
      execArgv,
      serialization: 'advanced',
      // fd 4 (TASK_STATE_FD): the task-state file
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', taskState.fd as number],
    });
    let exited = false;
    if (init) child.send(init); // IPC keeps order: it arrives before any task
    // Calls of the proxies of primitives its tasks were given (a Queue, a Lock) are answered here.
    const sharing =
      child.pid === undefined
        ? undefined
        : processSharing()?.attach(child.pid, (message) => {
            if (!child.connected) return false;
            child.send(message as never, undefined, {}, () => {});
            return true;
          });
    child.on('message', (message) => {
      if (sharing?.onMessage(message)) return;
      handlers.onMessage(message as Parameters<typeof handlers.onMessage>[0]);
    });
    // A spawn failure emits 'error' and may never emit 'exit'.
    child.on('error', (error) => {
      if (!exited && child.exitCode === null && child.pid === undefined) {
        exited = true;
        handlers.onExit({ exitCode: null, signal: null, reason: `could not start: ${error.message}` });
      }
    });
    child.on('exit', (exitCode, signal) => {
      sharing?.exited();
      if (exited) return;
      exited = true;
      // V8 aborts the process when its heap is full (a thread gets ERR_WORKER_OUT_OF_MEMORY
      // instead); the engine adds the heap limit the worker reported.
      const reason =
        signal === 'SIGABRT' || exitCode === 134
          ? 'out of memory'
          : signal
            ? `killed by ${signal}`
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
