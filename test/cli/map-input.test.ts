/** The line splitter behind `skein map`: chunks of whole lines, whatever the stream's pieces. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { countLines, type LineChunk, LineReader } from '../../src/cli/map-input.ts';
import { tempDir } from './map-helpers.ts';

/** The text cut into pieces of `size` bytes, as a stream would hand them over. */
function pieces(text: string, size: number): Readable {
  const bytes = Buffer.from(text);
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

async function readAll(reader: LineReader, maxLines: number, maxBytes = 1 << 20): Promise<LineChunk[]> {
  const chunks: LineChunk[] = [];
  for (let chunk = await reader.next(maxLines, maxBytes); chunk; chunk = await reader.next(maxLines, maxBytes)) {
    chunks.push(chunk);
  }
  return chunks;
}

describe('LineReader', () => {
  const lines = Array.from({ length: 100 }, (_, i) => `{"n":${i},"s":"é${'x'.repeat(i % 7)}"}`);

  for (const size of [1, 3, 17, 4096]) {
    it(`gives back every line once, in order, from pieces of ${size} bytes`, async () => {
      const chunks = await readAll(new LineReader(pieces(`${lines.join('\n')}\n`, size)), 7);
      const got = chunks.flatMap((c) => (c.text as string).split('\n'));
      assert.deepEqual(got, lines);
      let next = 1;
      for (const chunk of chunks) {
        assert.equal(chunk.first, next);
        assert.equal((chunk.text as string).split('\n').length, chunk.count);
        assert.ok(chunk.count <= 7);
        next += chunk.count;
      }
    });
  }

  /** [line number, text or null when skipped] for every line the chunks cover. */
  function flatten(chunks: LineChunk[]): [number, string | null][] {
    return chunks.flatMap((c): [number, string | null][] =>
      c.text === undefined
        ? Array.from({ length: c.count }, (_, i): [number, null] => [c.first + i, null])
        : c.text.split('\n').map((text, i): [number, string] => [c.first + i, text]),
    );
  }

  it('counts a last line with no newline, and no line after a final newline', async () => {
    for (const size of [1, 2, 100]) {
      assert.deepEqual(flatten(await readAll(new LineReader(pieces('a\nb', size)), 10)), [
        [1, 'a'],
        [2, 'b'],
      ]);
      assert.deepEqual(flatten(await readAll(new LineReader(pieces('a\nb\n', size)), 10)), [
        [1, 'a'],
        [2, 'b'],
      ]);
    }
    assert.deepEqual(await readAll(new LineReader(pieces('', 1)), 10), []);
  });

  it('passes skipped lines on as runs with no text, never inside a chunk', async () => {
    const skip = new Set([2, 3, 6]);
    for (const size of [1, 5, 100]) {
      const chunks = await readAll(new LineReader(pieces('1\n2\n3\n4\n5\n6\n7\n', size), (n) => skip.has(n)), 10);
      assert.deepEqual(flatten(chunks), [
        [1, '1'],
        [2, null],
        [3, null],
        [4, '4'],
        [5, '5'],
        [6, null],
        [7, '7'],
      ]);
    }
    // Read in one piece, the runs are as long as they can be.
    assert.deepEqual(await readAll(new LineReader(pieces('1\n2\n3\n4\n5\n6\n7\n', 100), (n) => skip.has(n)), 10), [
      { first: 1, count: 1, text: '1' },
      { first: 2, count: 2, text: undefined },
      { first: 4, count: 2, text: '4\n5' },
      { first: 6, count: 1, text: undefined },
      { first: 7, count: 1, text: '7' },
    ]);
  });

  it('cuts a chunk once it holds maxBytes', async () => {
    const chunks = await readAll(new LineReader(pieces(`${'y'.repeat(10)}\n`.repeat(10), 64)), 1000, 25);
    assert.ok(chunks.length > 1);
    assert.equal(
      chunks.reduce((sum, c) => sum + c.count, 0),
      10,
    );
  });
});

describe('countLines', () => {
  it('counts lines, with or without a final newline', async () => {
    const { dir, remove } = tempDir();
    try {
      writeFileSync(join(dir, 'a'), 'x\ny\nz\n');
      writeFileSync(join(dir, 'b'), 'x\ny\nz');
      writeFileSync(join(dir, 'c'), '');
      assert.equal(await countLines(join(dir, 'a')), 3);
      assert.equal(await countLines(join(dir, 'b')), 3);
      assert.equal(await countLines(join(dir, 'c')), 0);
    } finally {
      remove();
    }
  });
});
