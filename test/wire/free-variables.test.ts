import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freeVariables, parseFunctionSource } from '../../src/wire/free-variables.ts';

const free = (source: string) => freeVariables(parseFunctionSource(source).node);

describe('freeVariables', () => {
  it('finds outer variables and ignores parameters, locals and property names', () => {
    assert.deepEqual(free('(x) => x * k'), ['k']);
    assert.deepEqual(
      free('function f(a, { b, c: [d] }, ...rest) { const e = a + b + d; return e + rest.length + obj.prop; }'),
      ['obj'],
    );
    assert.deepEqual(free('(x) => ({ x, y: x.z, [key]: 1 })'), ['key']);
    assert.deepEqual(free('async function g() { for (const item of list) { await item; } }'), ['list']);
    assert.deepEqual(free('function h() { try { run(); } catch (err) { return err; } }'), ['run']);
    assert.deepEqual(free('(x = fallback) => x'), ['fallback']);
    assert.deepEqual(free('function self(n) { return n ? self(n - 1) : Math.max(1, 2); }'), ['Math']);
    assert.deepEqual(free('(xs) => xs.map((v) => v * factor)'), ['factor']);
  });

  it('parses methods and async methods', () => {
    assert.deepEqual(free('compute(x) { return x + offset; }'), ['offset']);
    assert.deepEqual(free('async load() { return await fetch(url); }'), ['fetch', 'url']);
  });
});
