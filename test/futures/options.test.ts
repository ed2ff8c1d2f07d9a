import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkOptions, closestName, notAFunction, optionKeys, shownValue } from '../../src/futures/options.ts';

interface Sample {
  maxWorkers?: number;
  minWorkers?: number;
  idleTimeout?: number;
}
const SAMPLE_KEYS = optionKeys<Sample>({ maxWorkers: true, minWorkers: true, idleTimeout: true });

describe('checkOptions', () => {
  it('accepts undefined, an empty object and any subset of the known keys', () => {
    checkOptions('f(options)', undefined, SAMPLE_KEYS);
    checkOptions('f(options)', {}, SAMPLE_KEYS);
    checkOptions('f(options)', { maxWorkers: 2, idleTimeout: undefined }, SAMPLE_KEYS);
  });

  it("names an unknown key, the closest known one and the list, as Python's unexpected keyword argument", () => {
    assert.throws(() => checkOptions('new Pool(options)', { maxWorker: 4 }, SAMPLE_KEYS), {
      name: 'TypeError',
      message:
        "new Pool(options): unknown option 'maxWorker' (did you mean 'maxWorkers'?); the options are maxWorkers, minWorkers, idleTimeout",
    });
  });

  it('rejects an unknown key even when its value is undefined (it is still a typo)', () => {
    assert.throws(
      () => checkOptions('f(options)', { idletimeout: undefined }, SAMPLE_KEYS),
      /did you mean 'idleTimeout'/,
    );
  });

  it('suggests nothing when no known key is close', () => {
    assert.throws(
      () => checkOptions('f(options)', { colour: 'red' }, SAMPLE_KEYS),
      (error: Error) => error instanceof TypeError && /unknown option 'colour'; the options are/.test(error.message),
    );
  });

  it('rejects options that are not an object, showing the value', () => {
    assert.throws(() => checkOptions('f(options)', 4, SAMPLE_KEYS), /f\(options\): options must be an object, got 4$/);
    assert.throws(() => checkOptions('f(options)', '4', SAMPLE_KEYS), /got "4" \(a string\)$/);
    assert.throws(() => checkOptions('f(options)', null, SAMPLE_KEYS), /got null$/);
    assert.throws(() => checkOptions('f(options)', [1], SAMPLE_KEYS), /got an array of length 1$/);
  });

  it('ignores inherited keys: only what the caller wrote is checked', () => {
    const options = Object.create({ inherited: 1 }) as Sample;
    options.maxWorkers = 1;
    checkOptions('f(options)', options, SAMPLE_KEYS);
  });
});

describe('closestName', () => {
  it('finds case slips, a missing or extra letter and swapped letters', () => {
    const names = ['maxWorkers', 'processes', 'duplex', 'returnExceptions', 'chunksize'];
    assert.equal(closestName('maxworkers', names), 'maxWorkers');
    assert.equal(closestName('process', names), 'processes');
    assert.equal(closestName('duplx', names), 'duplex');
    assert.equal(closestName('returnException', names), 'returnExceptions');
    assert.equal(closestName('chunkszie', names), 'chunksize');
    assert.equal(closestName('chunkSize', names), 'chunksize');
    assert.equal(closestName('zzz', names), undefined);
  });
});

describe('shownValue', () => {
  it('cannot be mistaken for another value', () => {
    assert.equal(shownValue('4'), '"4" (a string)');
    assert.equal(shownValue(4), '4');
    assert.equal(shownValue(-0), '-0');
    assert.equal(shownValue(4n), '4n (a bigint)');
    assert.equal(shownValue('true'), '"true" (a string)');
    assert.equal(shownValue(true), 'true');
    assert.equal(shownValue(undefined), 'undefined');
    assert.equal(shownValue('undefined'), '"undefined" (a string)');
    assert.equal(shownValue(null), 'null');
    assert.equal(shownValue({ a: 1 }), 'an object');
    assert.equal(shownValue(new Map()), 'a Map');
    assert.equal(shownValue([1, 2]), 'an array of length 2');
    assert.equal(
      shownValue(function named() {}),
      'a function (named)',
    );
    assert.equal(shownValue(Symbol('s')), 'Symbol(s) (a symbol)');
  });
});

describe('notAFunction', () => {
  it('says what was expected and what came', () => {
    const error = notAFunction('Lock.withLock(fn)', 5);
    assert.ok(error instanceof TypeError);
    assert.equal(error.message, 'Lock.withLock(fn) expects a function to run, got 5');
  });
});
