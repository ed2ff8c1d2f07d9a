/** The kernel compiler: what it accepts, what it refuses and how it says so, how it types. No GPU needed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CapturedVariableError, KernelCompileError, kernel, reduce } from 'skein/gpu';
import { mapModule } from '../../src/gpu/wasm-module.ts';
import type { KernelInternals } from './inputs.ts';

function refusal(fn: (...args: number[]) => number): Error {
  try {
    kernel(fn);
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected kernel() to refuse the function');
}

describe('kernel() refuses what it cannot compile, naming it and where', () => {
  it('a captured variable is a CapturedVariableError naming it', () => {
    const K = 3;
    const error = refusal((x: number) => x * K);
    assert.ok(error instanceof CapturedVariableError);
    assert.match(error.message, /"K"/);
    assert.match(error.message, /argument/);
  });

  it('a string', () => {
    const error = refusal((x: number) => (x > 0 ? ('big' as unknown as number) : x));
    assert.ok(error instanceof KernelCompileError);
    assert.match(error.message, /a string is not supported/);
    assert.match(error.message, /line 1, column \d+ \(`['"]big['"]`\)/);
  });

  it('an unknown call, with its line and column in the source the runtime has', () => {
    const fn = (x: number) => {
      const y = x + 1;
      return Number.parseFloat(String(y));
    };
    const error = refusal(fn);
    assert.ok(error instanceof KernelCompileError);
    assert.match(error.message, /only Math functions can be called/);
    // Positions are in fn.toString(): what the program runs (here after tsx's transform).
    const before = fn.toString().slice(0, fn.toString().indexOf('Number.parseFloat')).split('\n');
    assert.match(error.message, new RegExp(`line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1} `));
  });

  it('a Math function WGSL does not have', () => {
    assert.match(refusal((x: number) => Math.hypot(x, 1)).message, /Math\.hypot has no WGSL counterpart/);
  });

  it('loops other than for, objects, arrays, var, nested functions', () => {
    const cases: [(x: number) => number, RegExp][] = [
      [
        (x) => {
          let i = 0;
          while (i < x) i++;
          return i;
        },
        /a `while` loop/,
      ],
      [(x) => [x][0] as number, /an array literal/],
      [(x) => ({ x }).x, /an object literal/],
      [
        (x) => {
          var y = x;
          return y;
        },
        /`var` is not supported/,
      ],
      [(x) => ((y: number) => y)(x), /only Math functions|a nested function/],
      [
        (x) => {
          for (;;) return x;
        },
        /needs a condition/,
      ],
    ];
    for (const [fn, message] of cases) {
      const error = refusal(fn);
      assert.ok(error instanceof KernelCompileError, String(error));
      assert.match(error.message, message);
    }
  });

  it('a kernel that may finish without a return', () => {
    assert.match(
      refusal(((x: number) => {
        if (x > 0) return x;
      }) as (x: number) => number).message,
      /must end with a `return`/,
    );
  });

  it('a condition used as a number, a number used as a condition', () => {
    assert.match(refusal((x: number) => Number(x > 0)).message, /only Math functions/);
    assert.match(
      refusal((x: number) => ((x > 0) as unknown as number) + 1).message,
      /a condition and a number|arithmetic on a condition/,
    );
    assert.match(refusal((x: number) => (x ? 1 : 0)).message, /a condition must be a comparison/);
  });

  it('assigning to a const', () => {
    assert.match(
      refusal((x: number) => {
        const y = x;
        // @ts-expect-error the construct under test
        // biome-ignore lint/correctness/noConstAssign: the construct under test
        y = 2;
        return y;
      }).message,
      /`y` is a const/,
    );
  });

  it('not a function, or no parameters', () => {
    assert.throws(() => kernel(42 as unknown as () => number), /must be a function/);
    assert.throws(() => kernel(() => 1), /at least one parameter/);
  });
});

describe('kernel.map() checks its inputs', () => {
  const add = kernel((a: number, b: number) => a + b);

  it('refuses Float64Array, saying WGSL has no f64', async () => {
    await assert.rejects(
      add.map(new Float64Array(4) as unknown as Float32Array, new Float32Array(4), { device: 'cpu' }),
      /WGSL has no f64/,
    );
  });

  it('refuses plain arrays and other typed arrays', async () => {
    await assert.rejects(
      add.map([1, 2] as unknown as Float32Array, new Float32Array(2), { device: 'cpu' }),
      /Float32Array\.from/,
    );
    await assert.rejects(add.map(new Uint8Array(2) as unknown as Float32Array, new Float32Array(2)), /got Uint8Array/);
  });

  it('refuses the wrong number of inputs, different lengths, an unknown device', async () => {
    await assert.rejects(add.map(new Float32Array(2), { device: 'cpu' }), /takes 2 input arrays, got 1/);
    await assert.rejects(
      add.map(new Float32Array(2), new Float32Array(3), { device: 'cpu' }),
      /input 2 has 3 elements/,
    );
    await assert.rejects(
      add.map(new Float32Array(2), new Float32Array(2), { device: 'tpu' as 'cpu' }),
      /device must be 'auto', 'gpu' or 'cpu'/,
    );
  });

  it('refuses i32 and u32 mixed in one operation', async () => {
    await assert.rejects(
      add.map(new Int32Array(2), new Uint32Array(2), { device: 'cpu' }),
      /i32 and u32 values are mixed/,
    );
  });
});

describe('types follow the inputs', () => {
  it('f32 in, f32 out; i32 in, i32 out; u32 in, u32 out', async () => {
    const twice = kernel((x: number) => x * 2);
    assert.ok((await twice.map(new Float32Array([1.5]), { device: 'cpu' })) instanceof Float32Array);
    assert.deepEqual(
      await twice.map(new Int32Array([2 ** 30 + 1]), { device: 'cpu' }),
      new Int32Array([-(2 ** 31) + 2]),
    );
    assert.deepEqual(await twice.map(new Uint32Array([2 ** 31 + 1]), { device: 'cpu' }), new Uint32Array([2]));
  });

  it('`/` divides as floats, as in JavaScript', async () => {
    const half = kernel((x: number) => x / 2);
    assert.deepEqual(await half.map(new Int32Array([7, -7]), { device: 'cpu' }), new Float32Array([3.5, -3.5]));
  });

  it('a let that starts as an integer and is given a float is a float', async () => {
    const f = kernel((x: number) => {
      let acc = 0;
      for (let i = 0; i < 4; i++) acc += x * 0.5;
      return acc;
    });
    assert.deepEqual(await f.map(new Float32Array([3]), { device: 'cpu' }), new Float32Array([6]));
    assert.match(f.wgsl('f32'), /var v_acc: f32 = 0\.0f;/);
    assert.match(f.wgsl('f32'), /var v_i: i32 = 0i;/);
  });

  it('an integer return expression gives an Int32Array', async () => {
    const positive = kernel((x: number) => (x > 0 ? 1 : 0));
    assert.deepEqual(await positive.map(new Float32Array([-1, 2]), { device: 'cpu' }), new Int32Array([0, 1]));
  });

  it('x ** 2 is x * x (exact, as in JavaScript); other powers are pow', async () => {
    assert.match(kernel((x: number) => x ** 2).wgsl('f32'), /return skein_exact\(v_x \* v_x\);/);
    assert.match(kernel((x: number) => x ** 3).wgsl('f32'), /return pow\(v_x, 3\.0f\);/);
    assert.deepEqual(
      await kernel((x: number) => x ** 2).map(new Int32Array([3, 50_000]), { device: 'cpu' }),
      new Int32Array([9, -1_794_967_296]),
    );
  });

  it('every f32 product goes through skein_exact, so no compiler fuses it into an FMA', () => {
    const f = kernel((a: number, b: number) => a * b + a);
    assert.match(f.wgsl('f32', 'f32'), /skein_exact\(v_a \* v_b\) \+ v_a/);
    assert.doesNotMatch(f.wgsl('i32', 'i32'), /skein_exact\(v_a/);
  });
});

describe('reduce() checks its function', () => {
  it('refuses a function that does not return the element type', async () => {
    await assert.rejects(
      reduce((a, b) => (a + b) / 2, new Int32Array(4), 0, { device: 'cpu' }),
      /must return the element type \(i32\)/,
    );
  });

  it('returns init for an empty array, rounded to the element type', async () => {
    assert.equal(await reduce((a, b) => a + b, new Float32Array(0), 0.1, { device: 'cpu' }), Math.fround(0.1));
  });
});

describe('the CPU program (WebAssembly)', () => {
  const wasmOf = (fn: (...args: number[]) => number, ...types: ('f32' | 'i32' | 'u32')[]) =>
    mapModule((kernel(fn) as unknown as KernelInternals).compiled(types).typed as Parameters<typeof mapModule>[0]);

  it('takes four elements at a time for straight-line kernels', () => {
    assert.equal(wasmOf((x) => Math.round(x * 2) + Math.max(x, 1) - (x > 0 ? x % 3 : -x), 'f32').vector, true);
    assert.equal(wasmOf((a, b) => a * b - Math.abs(a), 'i32', 'i32').vector, true);
  });

  it('one at a time for branches, loops, integer remainders and functions from JavaScript', () => {
    assert.equal(
      wasmOf((x) => {
        if (x > 0) return x;
        return -x;
      }, 'f32').vector,
      false,
    );
    assert.equal(wasmOf((a, b) => a % b, 'i32', 'i32').vector, false);
    assert.deepEqual(
      wasmOf((x) => Math.sin(x) + Math.exp(x), 'f32'),
      {
        bytes: wasmOf((x) => Math.sin(x) + Math.exp(x), 'f32').bytes,
        imports: ['exp', 'sin'],
        vector: false,
      },
    );
  });

  it('is a module WebAssembly accepts', () => {
    const bytes = wasmOf((x, y) => (x > y && x < 100 ? Math.sqrt(x) : Math.trunc(y / 3)), 'f32', 'f32').bytes;
    const { WebAssembly } = globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } };
    assert.ok(WebAssembly.validate(bytes));
  });
});
