/**
 * Option keys of the graph calls (checked by src/futures/options.ts): every documented option is
 * accepted, a misspelled one is a TypeError with the closest known option.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compute, delayed, Memory, parallel, persist, shutdownDefaultExecutor } from 'skein';
import { inc } from '../fixtures/graph-tasks.ts';
import { itChecksOptionKeys } from '../option-checks.ts';

const root = mkdtempSync(join(tmpdir(), 'skein-graph-options-'));
const COMPUTE_OPTIONS = ['executor', 'progress', 'maxInFlight'];

describe('graph options', () => {
  after(async () => {
    await shutdownDefaultExecutor();
    rmSync(root, { recursive: true, force: true });
  });

  itChecksOptionKeys({
    where: 'compute(...nodes, options)',
    documented: COMPUTE_OPTIONS,
    misspelled: ['maxInflight', 'maxInFlight'],
    call: async (options) => assert.deepEqual(await compute(delayed(inc)(1), options), [2]),
  });

  itChecksOptionKeys({
    where: 'compute(...nodes, options)',
    documented: COMPUTE_OPTIONS,
    misspelled: ['exectuor', 'executor'],
    call: (options) => persist(delayed(inc)(1), options),
  });

  itChecksOptionKeys({
    where: 'compute(...nodes, options)',
    documented: COMPUTE_OPTIONS,
    misspelled: ['progres', 'progress'],
    call: (options) => delayed(inc)(1).compute(options),
  });

  itChecksOptionKeys({
    where: 'parallel(tasks, options)',
    documented: ['nJobs', 'backend', 'batchSize', 'returnAs', 'preDispatch', 'progress'],
    misspelled: ['n_jobs', 'nJobs'],
    call: async (options) => assert.deepEqual(await parallel([delayed(inc)(1), delayed(inc)(2)], options), [2, 3]),
  });

  itChecksOptionKeys({
    where: 'new Memory(location, options)',
    documented: ['maxAgeMs', 'maxBytes'],
    misspelled: ['maxAge', 'maxAgeMs'],
    call: (options) => new Memory(join(root, 'memory'), options),
  });

  itChecksOptionKeys({
    where: 'memory.cache(fn, options)',
    documented: ['ignore', 'depends'],
    misspelled: ['depend', 'depends'],
    call: (options) => new Memory(join(root, 'cache')).cache(inc, options),
  });

  it('a bad value is shown so that a string cannot pass for a number', async () => {
    assert.throws(() => parallel([], { nJobs: '2' as never }), /got "2" \(a string\)/);
    assert.throws(() => new Memory(join(root, 'bad'), { maxBytes: '10' as never }), /got "10" \(a string\)/);
  });
});
