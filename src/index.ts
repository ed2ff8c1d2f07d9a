/**
 * skein: the core entry point. Its public names, listed explicitly. Nothing heavy loads from here:
 * the Redis tier is `skein/distributed` (see distributed.ts).
 */

export {
  type AbortableTask,
  type GatherOptions,
  gather,
  type MapConcurrentOptions,
  mapConcurrent,
  sleep,
  TaskGroup,
  timeout,
} from './aio/structured.js';
export { PoolExecutor, type PoolExecutorOptions, type ProgressEvent } from './executors/pool.js';
export { ProcessPoolExecutor } from './executors/process.js';
export { Thread, type ThreadOptions, ThreadPoolExecutor } from './executors/thread.js';
export {
  ALL_COMPLETED,
  asCompleted,
  type DoneCallback,
  type Executor,
  type ExecutorEvents,
  type ExecutorStats,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  Future,
  type FutureState,
  type IterablesFor,
  type MapIterator,
  type MapOptions,
  type ReturnWhen,
  type ShutdownOptions,
  type SubmitOptions,
  type TaskFunction,
  type TaskResult,
  type WaitResult,
  wait,
} from './futures/base.js';
export {
  BrokenExecutorError,
  CancelledError,
  ExecutorShutdownError,
  TimeoutError,
  type WorkerExit,
  WorkerExitedError,
} from './futures/errors.js';
export { Delayed, delayed, type Lazy, type LazyParameters, type NodeState } from './graph/delayed.js';
export { shutdownDefaultExecutor } from './graph/executors.js';
export { type CachedFunction, type CacheOptions, Memory, type MemoryOptions } from './graph/memory.js';
export { type ParallelOptions, parallel, type ResultOf } from './graph/parallel.js';
export { type ComputeOptions, compute, persist } from './graph/scheduler.js';
export { type AsyncCallbacks, AsyncResult } from './multiprocessing/async-result.js';
export {
  BrokenPipeError,
  Connection,
  EOFError,
  Pipe,
  type PipeOptions,
} from './multiprocessing/connection.js';
export {
  ArrayProxy,
  DictProxy,
  ListProxy,
  LockProxy,
  ManagedProxy,
  Manager,
  NamespaceProxy,
  QueueProxy,
  ValueProxy,
} from './multiprocessing/manager.js';
export { Pool, type PoolOptions } from './multiprocessing/pool.js';
export {
  BarrierHandle,
  ConditionHandle,
  EventHandle,
  LockHandle,
  PrimitiveProxy,
  type ProxyWaitOptions,
  QueueHandle,
  SemaphoreHandle,
} from './multiprocessing/primitive-proxy.js';
export {
  activeChildren,
  cpuCount,
  currentProcess,
  Process,
  type ProcessInfo,
  type ProcessOptions,
} from './multiprocessing/process.js';
export { currentTask, type TaskContext } from './pool/current-task.js';
export type { ResourceLimits } from './pool/transport.js';
export {
  type ProgressOption,
  ProgressReporter,
  type ProgressReporterOptions,
  type ProgressSnapshot,
  progressReporter,
} from './progress/reporter.js';
export { Barrier, type BarrierOptions } from './sync/barrier.js';
export { Condition } from './sync/condition.js';
export { BrokenBarrierError, BrokenLockError, QueueEmpty, QueueFull, QueueShutDown } from './sync/errors.js';
export { Event } from './sync/event.js';
export { Lock, RLock } from './sync/lock.js';
export {
  LifoQueue,
  PriorityQueue,
  Queue,
  /** Python's `multiprocessing.JoinableQueue`: skein's Queue already has `taskDone()` and `join()`. */
  Queue as JoinableQueue,
  /** Python's `multiprocessing.SimpleQueue`: a Queue. */
  Queue as SimpleQueue,
  type QueueOptions,
} from './sync/queue.js';
export { BoundedSemaphore, Semaphore } from './sync/semaphore.js';
export { SharedPrimitive } from './sync/shared-memory.js';
export {
  SharedArray,
  type SharedNumber,
  type SharedType,
  type SharedTypeName,
  SharedValue,
} from './sync/shared-value.js';
export type { WaitOptions } from './sync/waiters.js';
export { CapturedVariableError } from './wire/task-reference.js';
