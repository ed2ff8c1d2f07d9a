import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeFunction, freeVariables, parseFunctionSource } from '../../src/wire/free-variables.ts';

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

  it('tells calls, assignments and the use of `this` apart', () => {
    const needs = analyzeFunction(parseFunctionSource('(x) => { total += helper(x); n++; return new Thing(x); }').node);
    assert.deepEqual([...needs.called].sort(), ['Thing', 'helper']);
    assert.deepEqual([...needs.assigned].sort(), ['n', 'total']);
    assert.equal(needs.usesThis, false);
    assert.equal(analyzeFunction(parseFunctionSource('read() { return this.x; }').node).usesThis, true);
    assert.equal(analyzeFunction(parseFunctionSource('() => this.x').node).usesThis, true);
    // a nested function or class has a `this` of its own
    assert.equal(
      analyzeFunction(parseFunctionSource('(x) => [function () { return this; }, class { m() { return this; } }]').node)
        .usesThis,
      false,
    );
  });

  it('parses methods and async methods', () => {
    assert.deepEqual(free('compute(x) { return x + offset; }'), ['offset']);
    assert.deepEqual(free('async load() { return await fetch(url); }'), ['fetch', 'url']);
  });
});
