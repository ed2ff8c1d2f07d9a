/**
 * skein/distributed: the Ray/Dask tier on BullMQ and Redis. The only entry point that loads
 * BullMQ and ioredis, so that `import 'skein'` stays light (and a task module that imports
 * skein does not slow every worker's start).
 */
export type { RedisConnection } from './distributed/connection.js';
export { ConnectionError } from './distributed/errors.js';
export { type RunningWorker, startWorker, type WorkerOptions } from './distributed/worker.js';
export {
  DistributedExecutor,
  type DistributedExecutorOptions,
  type DistributedSubmitOptions,
} from './executors/distributed.js';
