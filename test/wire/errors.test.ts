import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertArgumentsCloneable } from '../../src/wire/arguments.ts';
import { findUncloneable } from '../../src/wire/cloneable.ts';
import { deserializeError, serializeError } from '../../src/wire/errors.ts';

describe('error transport', () => {
  it('round-trips class, message, cause, props and AggregateError through structured clone', () => {
    const original = new AggregateError([new RangeError('r')], 'agg', { cause: new TypeError('t') });
    Object.assign(original, { code: 'E_X' });
    const back = deserializeError(structuredClone(serializeError(original))) as AggregateError & { code: string };
    assert.ok(back instanceof AggregateError);
    assert.equal(back.message, 'agg');
    assert.equal(back.code, 'E_X');
    assert.ok(back.cause instanceof TypeError);
    assert.ok(back.errors[0] instanceof RangeError);
    assert.equal(back.stack, original.stack);
  });

  it('survives a cause cycle', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    assert.doesNotThrow(() => structuredClone(serializeError(a)));
  });
});

describe('findUncloneable', () => {
  it('names the path of functions, symbols and promises, and SharedArrayBuffers for processes', () => {
    assert.deepEqual(findUncloneable({ a: [1, { f: () => 1 }] }, false)?.path, '.a[1].f');
    assert.match(findUncloneable(new Map([['k', Symbol('s')]]), false)?.what ?? '', /symbol/);
    assert.match(findUncloneable({ p: Promise.resolve() }, false)?.what ?? '', /Promise/);
    assert.equal(findUncloneable({ s: new SharedArrayBuffer(8) }, false), undefined);
    assert.match(findUncloneable({ s: new SharedArrayBuffer(8) }, true)?.what ?? '', /another process/);
    const cyclic: Record<string, unknown> = { n: 1 };
    cyclic.self = cyclic;
    assert.equal(findUncloneable(cyclic, false), undefined);
  });

  it('assertArgumentsCloneable names the argument position', () => {
    assert.throws(
      () => assertArgumentsCloneable('task', [1, 'x', { cb: () => 1 }], 'thread'),
      /argument 3 of task\(\.\.\.\).*args\[2\]\.cb/,
    );
  });
});
