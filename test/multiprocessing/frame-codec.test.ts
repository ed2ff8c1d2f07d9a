/** The bytes of a Process child's channel: frames out of `encodeFrame`, back through a `FrameReader`. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFlatList, encodeFrame, FrameKind, FrameReader } from '../../src/multiprocessing/frame-codec.ts';

interface Decoded {
  kind: number;
  id: number;
  value: unknown;
}

function readerInto(out: Decoded[]): FrameReader {
  return new FrameReader((kind, id, value) => out.push({ kind, id, value }));
}

const values = (): unknown[] => [
  0,
  -0,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 53 + 2,
  -1.5e-300,
  '',
  'text',
  'ünïcødé ✓ 𝄞',
  'x'.repeat(10_000), // past the short-string path: v8 writes it
  true,
  false,
  null,
  undefined,
  [],
  [1, 'two', null, undefined, true, -0],
  Array.from({ length: 40 }, (_, i) => i), // past the short-list path
  [1, [2, 3]], // a nested array: v8
  new Map<unknown, unknown>([['when', new Date(86_400_000)]]),
  new Set(['a']),
  new Float64Array([1.5, -0, Number.NaN]),
  new BigInt64Array([2n ** 60n]),
  { nested: { list: [1, 'two'] } },
  12n,
];

describe('encodeFrame / FrameReader', () => {
  it('round trips scalars, short lists and structured-clone values, with their kind and id', () => {
    const out: Decoded[] = [];
    const reader = readerInto(out);
    values().forEach((value, i) => {
      reader.feed(encodeFrame(FrameKind.data, i + 1, value));
    });
    reader.feed(encodeFrame(FrameKind.eof, 2 ** 32 - 1));
    assert.deepEqual(
      out.map((frame) => frame.value),
      [...values(), undefined],
    );
    assert.deepEqual(
      out.map((frame) => frame.id),
      [...values().map((_, i) => i + 1), 2 ** 32 - 1],
    );
    assert.ok(Object.is(out[1]?.value, -0), '-0 stays -0');
    assert.equal(out.at(-1)?.kind, FrameKind.eof);
  });

  it('keeps what the short paths cannot: holes and named properties of an array', () => {
    const holey = [1, 2, 3];
    delete holey[1]; // a hole
    const named = Object.assign([1, 2], { label: 'x' });
    const out: Decoded[] = [];
    const reader = readerInto(out);
    reader.feed(encodeFrame(FrameKind.data, 1, holey));
    reader.feed(encodeFrame(FrameKind.data, 1, named));
    const [first, second] = out.map((frame) => frame.value) as [unknown[], { label?: string }];
    assert.equal(first.length, 3);
    assert.equal(1 in first, false);
    assert.equal(second.label, 'x');
  });

  it('cuts a stream fed in arbitrary pieces (one byte at a time, or many frames at once)', () => {
    const frames = values().map((value, i) => encodeFrame(FrameKind.reply, i, value));
    const stream = Buffer.concat(frames);
    const byByte: Decoded[] = [];
    const reader = readerInto(byByte);
    for (let i = 0; i < stream.length; i++) reader.feed(stream.subarray(i, i + 1));
    const atOnce: Decoded[] = [];
    readerInto(atOnce).feed(stream);
    assert.deepEqual(
      byByte.map((frame) => frame.value),
      values(),
    );
    assert.deepEqual(atOnce, byByte);
  });

  it('a decoded typed array does not share memory with the bytes it was read from', () => {
    const out: Decoded[] = [];
    const reader = readerInto(out);
    const bytes = encodeFrame(FrameKind.data, 1, new Float64Array([1, 2, 3]));
    reader.feed(bytes);
    bytes.fill(0); // the channel reuses its read buffer like this
    assert.deepEqual(out[0]?.value, new Float64Array([1, 2, 3]));
  });

  it("encodeFlatList (skein's own call and reply lists) writes the bytes encodeFrame writes", () => {
    const lists: unknown[][] = [
      [],
      [7, 1, 'set', 'k', 1],
      [3, 1, 'ünïcødé ✓ 𝄞'],
      [4, 0, { name: 'Error', message: 'no' }], // a reply whose value is not a scalar: v8
      [5, 2, 'update', new Map([['a', 1]])],
      Array.from({ length: 17 }, (_, i) => i), // past the short-list path: v8
      [1, 'x'.repeat(5000)], // a string past the short path: v8
    ];
    for (const list of lists) {
      const flat = encodeFlatList(FrameKind.call, list);
      assert.deepEqual(flat, encodeFrame(FrameKind.call, 0, list), `the frame of ${JSON.stringify(list)}`);
      const out: Decoded[] = [];
      readerInto(out).feed(flat);
      assert.deepEqual(out, [{ kind: FrameKind.call, id: 0, value: list }]);
    }
    assert.throws(() => encodeFlatList(FrameKind.reply, [1, 1, () => 1]), /could not be cloned/);
  });

  it('a value that cannot be cloned throws in the caller', () => {
    assert.throws(() => encodeFrame(FrameKind.data, 1, { callback: () => 1 }), /could not be cloned/);
    assert.throws(() => encodeFrame(FrameKind.data, 1, [() => 1]), /could not be cloned/);
  });
});
