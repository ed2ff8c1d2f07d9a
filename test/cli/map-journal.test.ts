/**
 * The chunk journal of `skein map` (src/cli/map-journal.ts), both sides in this thread: what the
 * parent reads back after a chunk was lost, and the claim that keeps a line from being both
 * committed and blamed. The real deaths (threads, processes, SIGKILL) are in map.test.ts.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { openJournal, ProcessJournals, THREAD_JOURNAL_BYTES, ThreadJournals } from '../../src/cli/map-journal.ts';

const record = (line: number) => `{"line":${line},"ok":true,"result":${line * 2}}\n`;

describe('map journal: threads', () => {
  it('a lost chunk yields the records of the lines that finished and the line that was running', async () => {
    const journals = new ThreadJournals();
    const handle = journals.acquire();
    const writer = openJournal(handle);
    assert.equal(writer.holdsRecords, true);
    for (let i = 0; i < 3; i++) {
      assert.equal(writer.begin(i), true);
      assert.equal(writer.commit(i, record(i + 1)), 'kept');
    }
    assert.equal(writer.begin(3), true); // line 4 runs ... and its worker dies
    const salvage = await journals.salvage(handle, true);
    assert.deepEqual(salvage, { committed: 3, running: true, records: record(1) + record(2) + record(3) });
  });

  it('once the parent claims the journal, no further line starts and a late record is not taken', async () => {
    const journals = new ThreadJournals();
    const handle = journals.acquire();
    const writer = openJournal(handle);
    assert.equal(writer.begin(0), true);
    assert.equal(writer.commit(0, record(1)), 'kept');
    assert.equal(writer.begin(1), true);
    // The parent gives up on the running line at once (as after its wait for a stopped line).
    const salvage = await journals.salvage(handle, true);
    assert.deepEqual(salvage, { committed: 1, running: true, records: record(1) });
    assert.equal(writer.commit(1, record(2)), 'claimed', 'the line finished too late: its record is not kept');
    assert.equal(writer.begin(2), false, 'no line starts after the claim');
  });

  it('a stopped chunk whose running line finishes in time keeps that line', async () => {
    const journals = new ThreadJournals();
    const handle = journals.acquire();
    const writer = openJournal(handle);
    assert.equal(writer.begin(0), true);
    const salvaging = journals.salvage(handle, false); // a timeout: the line gets the grace period
    setTimeout(() => {
      assert.equal(writer.commit(0, record(1)), 'kept');
      assert.equal(writer.begin(1), false, 'the parent asked that no further line start');
    }, 20);
    assert.deepEqual(await salvaging, { committed: 1, running: false, records: record(1) });
  });

  it('a record that does not fit is refused (the chunk returns it with its answer), and a released journal starts empty', () => {
    const journals = new ThreadJournals();
    const handle = journals.acquire();
    const writer = openJournal(handle);
    assert.equal(writer.begin(0), true);
    assert.equal(writer.commit(0, 'x'.repeat(THREAD_JOURNAL_BYTES + 1)), 'full');
    assert.equal(journals.records(handle), '');
    journals.release(handle);
    const again = journals.acquire();
    assert.equal(again, handle, 'reused');
    const next = openJournal(again);
    assert.equal(next.begin(0), true);
    assert.equal(next.commit(0, record(1)), 'kept');
    assert.equal(journals.records(again), record(1));
  });
});

describe('map journal: processes', () => {
  it('a chunk file yields its whole records; a record cut mid-write makes its line the running one', async () => {
    const journals = new ProcessJournals();
    try {
      const path = journals.acquire() as string;
      const writer = openJournal(path);
      assert.equal(writer.holdsRecords, false);
      writer.commit(0, record(1));
      writer.commit(1, record(2));
      appendFileSync(path, record(3).slice(0, 10)); // what a SIGKILL in the middle of a write leaves
      // The writer's process (this one) is alive and the chunk has no end: a dead worker is assumed.
      const salvage = await journals.salvage(path, true);
      assert.deepEqual(salvage, { committed: 2, running: true, records: record(1) + record(2) });
      assert.equal(existsSync(path), false, 'the file is removed once read');

      const never = await journals.salvage(journals.acquire(), false);
      assert.deepEqual(never, { committed: 0, running: false, records: '' }, 'a chunk that never started');

      const ended = journals.acquire() as string;
      const complete = openJournal(ended);
      complete.commit(0, record(1));
      complete.close();
      assert.deepEqual(await journals.salvage(ended, false), { committed: 1, running: false, records: record(1) });
    } finally {
      journals.close();
    }
  });
});
