/**
 * Option keys of the executors' public calls (checked by src/futures/options.ts): every documented
 * option is accepted, a misspelled one is a TypeError with the closest known option, as Python's
 * `TypeError: got an unexpected keyword argument`.
 */
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { type Executor, ProcessPoolExecutor, Thread, ThreadPoolExecutor } from 'skein';
import { DistributedExecutor } from 'skein/distributed';
import { redisAvailable, TestRedis } from '../distributed-helpers.ts';
import { square } from '../fixtures/tasks.ts';
import { itChecksOptionKeys } from '../option-checks.ts';

const POOL_OPTIONS = [
  'maxWorkers',
  'minWorkers',
  'idleTimeout',
  'initializer',
  'initArgs',
  'maxTasksPerWorker',
  'resourceLimits',
  'env',
  'execArgv',
  'name',
  'abortGracePeriod',
];
const SUBMIT_OPTIONS = ['timeout', 'signal', 'transfer', 'retries'];

const shutDown = (made: unknown) => (made as Executor).shutdown();

/** Runs `use` on a fresh thread pool of one worker, and shuts it down however `use` ends. */
async function onPool<T>(use: (pool: ThreadPoolExecutor) => T | Promise<T>): Promise<Awaited<T>> {
  const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
  try {
    return await use(pool);
  } finally {
    await pool.shutdown();
  }
}

describe('executor options', () => {
  itChecksOptionKeys({
    where: 'new ThreadPoolExecutor(options)',
    documented: POOL_OPTIONS,
    misspelled: ['maxWorker', 'maxWorkers'],
    call: (options) => new ThreadPoolExecutor(options),
    cleanUp: shutDown,
  });

  itChecksOptionKeys({
    where: 'new ProcessPoolExecutor(options)',
    documented: POOL_OPTIONS,
    misspelled: ['idle_timeout', 'idleTimeout'],
    call: (options) => new ProcessPoolExecutor(options),
    cleanUp: shutDown,
  });

  itChecksOptionKeys({
    where: 'submitWith(options, fn, ...args)',
    documented: SUBMIT_OPTIONS,
    misspelled: ['retry', 'retries'],
    call: (options) => onPool((pool) => pool.submitWith(options, square, 3)),
  });

  itChecksOptionKeys({
    where: 'map(fn, ...iterables, options)',
    documented: ['chunksize', 'ordered', 'timeout', 'buffersize'],
    misspelled: ['chunkSize', 'chunksize'],
    call: (options) => onPool((pool) => pool.map(square, [1, 2, 3], options).toArray()),
  });

  itChecksOptionKeys({
    where: 'shutdown(options)',
    documented: ['wait', 'cancelFutures', 'timeout'],
    misspelled: ['cancelFuture', 'cancelFutures'],
    call: (options) => onPool((pool) => pool.shutdown(options)),
  });

  itChecksOptionKeys({
    where: 'new Thread(options)',
    documented: ['target', 'args', 'name'],
    required: { target: square },
    misspelled: ['arg', 'args'],
    call: (options) => new Thread(options as never),
  });
});

describe('DistributedExecutor options, on a real Redis', () => {
  let redis: TestRedis;
  before(async () => {
    assert.ok(redisAvailable(), 'redis-server is not installed: `apt-get install redis-server` (.ci/run does it)');
    redis = await TestRedis.start();
  });
  after(() => redis?.stop());

  const connected = (options: Record<string, unknown>) => ({ ...options, connection: redis.url });

  itChecksOptionKeys({
    where: 'new DistributedExecutor(options)',
    documented: ['connection', 'queue', 'prefix', 'maxPayloadBytes', 'retryBackoff', 'mapWindow', 'connectTimeout'],
    misspelled: ['conection', 'connection'],
    call: (options) => new DistributedExecutor(connected(options) as never),
    cleanUp: shutDown,
  });

  itChecksOptionKeys({
    where: 'submitWith(options, fn, ...args)',
    documented: [...SUBMIT_OPTIONS, 'priority'],
    misspelled: ['prority', 'priority'],
    call: async (options) => {
      // No worker serves this queue: the task is only handed to Redis, then cancelled by shutdown.
      const client = new DistributedExecutor({ connection: redis.url, queue: 'options-test' });
      try {
        client.submitWith(options, square, 3);
      } finally {
        await client.shutdown({ cancelFutures: true });
      }
    },
  });
});
