/**
 * Option keys of Pool, Process and Pipe (checked by src/futures/options.ts): every documented
 * option is accepted, a misspelled one is a TypeError with the closest known option.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Connection, Pipe, Pool, Process } from 'skein';
import { square } from '../fixtures/tasks.ts';
import { itChecksOptionKeys } from '../option-checks.ts';

describe('multiprocessing options', () => {
  itChecksOptionKeys({
    where: 'new Pool(options)',
    documented: ['processes', 'initializer', 'initArgs', 'maxTasksPerChild', 'backend'],
    misspelled: ['process', 'processes'],
    call: (options) => new Pool(options),
    cleanUp: async (made) => {
      const pool = made as Pool;
      pool.close();
      await pool.join();
    },
  });

  itChecksOptionKeys({
    where: 'new Process(options)',
    documented: ['target', 'args', 'name', 'daemon'],
    required: { target: square },
    misspelled: ['deamon', 'daemon'],
    call: (options) => new Process(options as never),
  });

  itChecksOptionKeys({
    where: 'Pipe(options)',
    documented: ['duplex'],
    misspelled: ['duplx', 'duplex'],
    call: (options) => Pipe(options),
    cleanUp: (made) => {
      for (const end of made as Connection[]) end.close();
    },
  });

  it("Pipe({ duplex: 'yes' }) is refused: duplex is true or false", () => {
    assert.throws(() => Pipe({ duplex: 'yes' as never }), {
      name: 'TypeError',
      message: 'Pipe(options): duplex must be true or false, got "yes" (a string)',
    });
  });
});
