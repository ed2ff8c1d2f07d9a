/**
 * The journal of a chunk: where a chunk task records each line's record the moment the line
 * finishes, so that when its worker dies (or the chunk is stopped by a timeout or Ctrl-C) the
 * parent still knows which lines finished, has their records, and knows which line was running.
 * That is what lets `skein map` batch thousands of lines per task and still run no line twice:
 * the lines that finished keep their records, only the running line fails, and the lines after
 * it, never started, run elsewhere.
 *
 * On threads the journal is a SharedArrayBuffer (no system call per line):
 *
 *   Int32 words:  [0] state   2i: before line i, none running; 2i+1: line i running; -1: claimed
 *                 [1] bytes of records committed after the header
 *                 [2] stop request, set by the parent: start no further line
 *   bytes [16..): the committed records, UTF-8, each ending in '\n'
 *
 * The worker moves the state with compare-and-swap and the parent claims it with one, so a line
 * is either committed (its record kept) or not (it was running, or never started), never both.
 *
 * On processes (no shared memory between processes) it is a file per chunk, written with one
 * synchronous write per line (the kernel's page cache keeps it after a SIGKILL):
 *
 *   <pid>\n  record\n  record\n ...  end\n   ("end" once the chunk returned)
 *
 * A process cannot be told to stop between lines, so the parent waits until the chunk's file
 * says "end" or its process is gone (the pool terminates a stopped task's worker after its
 * grace period) before it reads the file. This module is loaded by the workers too: node:fs only.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, unlink, writeSync } from 'node:fs';
import { unlink as unlinkFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where a chunk records its lines: a shared buffer (threads) or a file path (processes). */
export type JournalHandle = SharedArrayBuffer | string;

const STATE = 0;
const BYTES = 1;
const STOP = 2;
const CLAIMED = -1;
const HEADER_BYTES = 16;
/** Records a thread journal holds: a chunk whose records outgrow it ends early (the rest goes again). */
export const THREAD_JOURNAL_BYTES = 512 * 1024;
const END = 'end\n';

/**
 * What became of a committed record: kept; not kept because the journal is full (the chunk returns
 * it with its answer, and returns now); or not kept because the parent claimed the journal (it
 * gave up on this chunk: the chunk returns now).
 */
export type Commit = 'kept' | 'full' | 'claimed';

/** The worker's side of a journal, for one chunk. */
export interface JournalWriter {
  /**
   * Whether the records kept here are the chunk's answer (a thread journal: the parent reads them
   * from shared memory, so they are not copied into the answer too), or only a copy (a file).
   */
  readonly holdsRecords: boolean;
  /** Before line `index` (0-based in the chunk): false when the parent asked that no further line start. */
  begin(index: number): boolean;
  /** After line `index`, with its record. */
  commit(index: number, record: string): Commit;
  /** The chunk returned (its records travel with the answer). */
  close(): void;
}

class ThreadJournalWriter implements JournalWriter {
  readonly holdsRecords = true;
  private readonly words: Int32Array;
  private readonly bytes: Buffer;
  private offset = HEADER_BYTES;

  constructor(buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer, 0, 4);
    this.bytes = Buffer.from(buffer);
  }

  begin(index: number): boolean {
    if (Atomics.compareExchange(this.words, STATE, 2 * index, 2 * index + 1) !== 2 * index) return false;
    // Checked after the swap (the parent sets STOP, then reads STATE): one of the two sees the other.
    if (Atomics.load(this.words, STOP) === 0) return true;
    Atomics.compareExchange(this.words, STATE, 2 * index + 1, 2 * index);
    return false;
  }

  commit(index: number, record: string): Commit {
    const room = this.bytes.length - this.offset;
    // A UTF-8 character takes at most 3 bytes per UTF-16 unit: most records need no count.
    if (record.length * 3 > room && Buffer.byteLength(record) > room) return 'full';
    const end = this.offset + this.bytes.write(record, this.offset);
    Atomics.store(this.words, BYTES, end - HEADER_BYTES);
    if (Atomics.compareExchange(this.words, STATE, 2 * index + 1, 2 * index + 2) !== 2 * index + 1) return 'claimed';
    this.offset = end;
    return 'kept';
  }

  close(): void {}
}

class FileJournalWriter implements JournalWriter {
  readonly holdsRecords = false;
  private readonly fd: number;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, `${process.pid}\n`);
  }

  begin(): boolean {
    return true;
  }

  commit(_index: number, record: string): Commit {
    writeSync(this.fd, record);
    return 'kept';
  }

  close(): void {
    writeSync(this.fd, END);
    closeSync(this.fd);
  }
}

/** In a worker: the journal of the chunk about to run. */
export function openJournal(handle: JournalHandle): JournalWriter {
  return typeof handle === 'string' ? new FileJournalWriter(handle) : new ThreadJournalWriter(handle);
}

/** What the parent reads from the journal of a chunk that did not answer. */
export interface Salvage {
  /** Lines that finished, from the chunk's first: their records are `records`. */
  committed: number;
  /** Their records, each ending in '\n'. */
  records: string;
  /** Whether line `committed` had started (and did not finish): the line the chunk was lost in. */
  running: boolean;
}

/** How long the parent waits for a stopped chunk's running line to end (the pool's grace is 50 ms). */
const SETTLE_WAIT_MS = 300;
/** A process that still writes this long after its chunk was stopped is taken as it stands. */
const PROCESS_WAIT_MS = 5000;
const POLL_MS = 5;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The parent's side of journals: one per chunk in flight. */
export interface Journals {
  /** A journal for a chunk about to be submitted. */
  acquire(): JournalHandle;
  /** The records a chunk that answered left in its journal, when it `holdsRecords` ('' otherwise). */
  records(handle: JournalHandle): string;
  /** The chunk answered: its journal can be reused or removed. */
  release(handle: JournalHandle): void;
  /**
   * The chunk did not answer. `dead`: its worker is known to be gone, so the journal is final;
   * otherwise (a timeout, an abort) the running line is given the pool's grace period to end.
   */
  salvage(handle: JournalHandle, dead: boolean): Promise<Salvage>;
  /** Removes what is left (files). */
  close(): void;
}

/** Thread journals: shared buffers, reused once their chunk answered. */
export class ThreadJournals implements Journals {
  private readonly free: SharedArrayBuffer[] = [];

  acquire(): SharedArrayBuffer {
    return this.free.pop() ?? new SharedArrayBuffer(HEADER_BYTES + THREAD_JOURNAL_BYTES);
  }

  records(handle: JournalHandle): string {
    const bytes = Atomics.load(new Int32Array(handle as SharedArrayBuffer, 0, 4), BYTES);
    return Buffer.from(handle as SharedArrayBuffer, HEADER_BYTES, bytes).toString('utf8');
  }

  release(handle: JournalHandle): void {
    const words = new Int32Array(handle as SharedArrayBuffer, 0, 4);
    words.fill(0);
    this.free.push(handle as SharedArrayBuffer);
  }

  async salvage(handle: JournalHandle, dead: boolean): Promise<Salvage> {
    const buffer = handle as SharedArrayBuffer;
    const words = new Int32Array(buffer, 0, 4);
    Atomics.store(words, STOP, 1);
    const deadline = performance.now() + (dead ? 0 : SETTLE_WAIT_MS);
    let state: number;
    for (;;) {
      state = Atomics.load(words, STATE);
      // Claimed only while no line runs, unless the wait is over (the line is then given up on).
      if (state % 2 === 0 || performance.now() >= deadline) {
        if (Atomics.compareExchange(words, STATE, state, CLAIMED) === state) break;
        continue;
      }
      await sleep(POLL_MS);
    }
    if (state < 0) return { committed: 0, running: false, records: '' }; // claimed before: cannot happen
    const committed = state >>> 1;
    // The bytes may hold one record more: one written just before its commit lost to the claim.
    const text = Buffer.from(buffer, HEADER_BYTES, Atomics.load(words, BYTES)).toString('utf8');
    let end = 0;
    for (let i = 0; i < committed; i++) end = text.indexOf('\n', end) + 1;
    // Not put back in the pool: a thread given up on may still write into it until terminated.
    return { committed, running: state % 2 === 1, records: text.slice(0, end) };
  }

  close(): void {}
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readJournalFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // never created: the chunk never started
  }
}

/** Process journals: a file per chunk in a folder of the run's own. */
export class ProcessJournals implements Journals {
  private next = 0;
  private readonly dir = mkdtempSync(join(tmpdir(), 'skein-map-journal-'));

  acquire(): string {
    return join(this.dir, String(this.next++));
  }

  records(): string {
    return ''; // the chunk's answer carries them
  }

  release(handle: JournalHandle): void {
    unlink(handle as string, () => {}); // gone with the folder at the end if this fails
  }

  async salvage(handle: JournalHandle, dead: boolean): Promise<Salvage> {
    const path = handle as string;
    let text = readJournalFile(path);
    const deadline = performance.now() + PROCESS_WAIT_MS;
    while (!dead && text !== undefined && !text.endsWith(END) && performance.now() < deadline) {
      const pid = Number(text.slice(0, text.indexOf('\n')));
      if (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) break;
      await sleep(POLL_MS);
      text = readJournalFile(path);
    }
    // Removed before the answer, not in the background: a salvaged chunk leaves nothing behind.
    await unlinkFile(path).catch(() => {});
    if (text === undefined) return { committed: 0, running: false, records: '' };
    const ended = text.endsWith(END);
    const body = text.slice(text.indexOf('\n') + 1, ended ? text.length - END.length : text.length);
    // A record cut by a kill mid-write is not a record: its line counts as the running one.
    const complete = body.slice(0, body.lastIndexOf('\n') + 1);
    const committed = complete === '' ? 0 : complete.split('\n').length - 1;
    return { committed, records: complete, running: !ended };
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
