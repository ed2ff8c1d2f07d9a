/**
 * `Pipe()` and `Connection`, Python's `multiprocessing.Pipe`: two ends; what one end sends, the
 * other receives, in order, as a structured clone (Map, Date, typed arrays, nested objects).
 *
 * The transport (a "link") depends on where the two ends are:
 *
 *   same process           end A ◄── MessageChannel (port1 ⇄ port2) ──► end B
 *   B passed to a Process  end A ◄──── the child's channel (child-channel.ts) ────► end B in the child
 *     (A busy, or not here) end A ◄── MessageChannel ──► parent relay (process.ts) ◄─ channel ─► end B
 *
 * A child process cannot hold a MessagePort. When A is in this thread with nothing in flight,
 * the MessageChannel is dropped and A talks to the child directly (`handOverDirect`); otherwise
 * the parent keeps B's port and relays its frames (`handOver`). Either way the frames cross on
 * the child's own channel as structured clones. Frames are `[value]` for data and `null` for
 * end-of-file: closing an end sends `null` first, so the reader drains everything sent before it
 * and then sees EOF, whatever the order in which the transport reports the close.
 *
 * An end passed to a pool task or a Thread is lent instead (connection-lender.ts): it stays here,
 * and the task's LentConnection (lent-connection.ts) asks it for each value.
 *
 * An open Connection does not keep the program alive on its own; a pending `recv`/`poll` does.
 */
import { MessageChannel } from 'node:worker_threads';
import { checkOptions, optionKeys, shownValue } from '../futures/options.js';
import { NOT_FOR_POOL_TASKS } from '../wire/arguments.js';
import { registerErrorClasses } from '../wire/errors.js';
import { cloneFailure } from './clone-check.js';
import { type Frame, type Link, portLink, type Relay } from './pipe-link.js';

/** Raised by `recv()` once the other end is closed and everything it sent has been read. */
export class EOFError extends Error {
  /** `'EOFError'`, so that `error.name` and stack traces say which error this is. */
  override name = 'EOFError';
}

/** Raised by `send()` when the other end is closed: nobody will ever read what is sent. */
export class BrokenPipeError extends Error {
  /** `'BrokenPipeError'`, so that `error.name` and stack traces say which error this is. */
  override name = 'BrokenPipeError';
}

// A task's recv in a pool worker rejects with the parent's EOFError: it must stay one there.
registerErrorClasses({ EOFError, BrokenPipeError });

interface Waiter {
  readonly resolve: () => void;
  readonly timer: NodeJS.Timeout | undefined;
}

/** Options of `Pipe()`. */
export interface PipeOptions {
  /** Both ends send and receive (default). With false, the first end only receives, the second only sends. */
  duplex?: boolean;
}

/** The option names of `Pipe(options)` (an unknown one is a TypeError, as in Python). */
export const PIPE_OPTION_KEYS = optionKeys<PipeOptions>({ duplex: true });

/**
 * How long `poll` waits for a value the other end (in this thread) has sent and its port has not
 * delivered yet: it arrives within a turn or two; the bound is a way out if the port was closed.
 */
export const IN_FLIGHT_WAIT_MS = 1000;

const HANDED_OVER = 'this end of the Pipe was passed to a Process, which owns it now';
const LENT =
  'this end of the Pipe is lent to a pool task (or a Thread) that is still running; it comes back here when that task settles';

/** What the lender of an end (connection-lender.ts) takes from it: a value, the EOF, or nothing yet. */
export type LentTake = { readonly value: unknown } | 'eof' | 'closed' | undefined;

/**
 * One end of a Pipe. `send(value)`; `await recv()`; `await poll(timeoutMs)`; `close()`.
 * Made by `Pipe()`; in a child process, rebuilt from the arguments of its `Process`; in a pool
 * task, a view of the caller's end, lent for the task's run.
 */
export class Connection {
  /** Whether this end can receive. */
  readonly readable: boolean;
  /** Whether this end can send. */
  readonly writable: boolean;
  #link: Link | undefined;
  readonly #inbox: unknown[] = [];
  #head = 0;
  #eof = false;
  #closed = false;
  #handedOver = false;
  /** Lent to a running pool task: only the lender (connection-lender.ts) uses it until it comes back. */
  #lent = false;
  #relay: Relay | undefined;
  /** The other end, while both live in this thread (set by Pipe). */
  #peer: Connection | undefined;
  /** Frames this end has posted, and received: equal counts on both sides mean nothing is in flight. */
  #posted = 0;
  #received = 0;
  readonly #waiters: Waiter[] = [];

  /** @internal Made by `Pipe()` (and by a child process for an end it was given). */
  constructor(readable: boolean, writable: boolean) {
    this.readable = readable;
    this.writable = writable;
  }

  /** @internal Connects this end to its transport. */
  attach(link: Link): void {
    this.#link = link;
  }

  /** @internal Pipe() links the two ends it made in this thread. */
  static pair(a: Connection, b: Connection): void {
    a.#peer = b;
    b.#peer = a;
  }

  /** @internal A frame arrived from the other end. */
  deliver(frame: Frame): void {
    this.#received++;
    if (this.#relay) {
      this.#relay.forward(frame);
      return;
    }
    if (this.#eof) return;
    if (frame === null) this.#eof = true;
    else this.#inbox.push(frame[0]);
    this.#wake();
  }

  /** @internal The transport is gone (the other end's process died): EOF after what arrived. */
  linkClosed(): void {
    if (this.#relay) {
      this.#relay.closed();
      return;
    }
    if (this.#eof) return;
    this.#eof = true;
    this.#wake();
  }

  /** @internal Throws if this end cannot be passed to a Process (closed, or passed already). */
  checkCanHandOver(): void {
    this.#checkUsable('pass to a Process');
  }

  /**
   * @internal This end now lives in a child process: from now on what arrives for it goes to
   * `relay` (what had already arrived first), and it can no longer be used here. Returns the link
   * on which the child's frames are to be sent.
   */
  handOver(relay: Relay): Link {
    this.checkCanHandOver();
    this.#handedOver = true;
    this.#closed = true;
    const link = this.#link as Link;
    this.#link = undefined;
    this.#relay = relay;
    for (let i = this.#head; i < this.#inbox.length; i++) relay.forward([this.#inbox[i]]);
    this.#inbox.length = 0;
    this.#head = 0;
    if (this.#eof) relay.forward(null);
    return link;
  }

  /**
   * @internal Hands this end to a child process with its peer end (in this thread) talking to the
   * child directly: the MessageChannel between them is dropped, which saves the relay's two hops
   * per message. Only when nothing is in flight between the two ends (else frames would be lost
   * or reordered); returns the peer and the frames to send the child first, or undefined (then
   * `handOver` relays through the channel instead).
   */
  handOverDirect(): { peer: Connection; backlog: Frame[] } | undefined {
    this.checkCanHandOver();
    const peer = this.#peer;
    if (!peer || peer.#handedOver || peer.#closed || peer.#relay || !peer.#link || !this.#link) return undefined;
    if (this.#posted !== peer.#received || peer.#posted !== this.#received) return undefined;
    if (!this.#link.dispose || !peer.#link.dispose) return undefined;
    this.#link.dispose();
    peer.#link.dispose();
    this.#link = undefined;
    peer.#link = undefined;
    this.#peer = peer.#peer = undefined;
    this.#handedOver = true;
    this.#closed = true;
    const backlog: Frame[] = this.#inbox.slice(this.#head).map((value): Frame => [value]);
    if (this.#eof) backlog.push(null);
    this.#inbox.length = 0;
    this.#head = 0;
    return { peer, backlog };
  }

  /**
   * @internal Why this end cannot be lent to a pool task now (see wire/arguments.ts), or undefined
   * if it can (connection-lender.ts then lends it for the task's run).
   */
  [NOT_FOR_POOL_TASKS](): string | undefined {
    if (this.#handedOver) return `a Pipe Connection that was passed to a Process, which owns it now`;
    if (this.#lent)
      return `a Pipe Connection that is lent to another pool task still running: it comes back when that task settles`;
    if (this.#closed) return 'a closed Pipe Connection';
    return undefined;
  }

  /**
   * @internal Lends this end to a pool task: until `giveBack`, using it here throws, and only
   * the `lent*` methods (the lender's) work. A recv waiting on it here rejects at once.
   */
  lend(): void {
    this.#checkUsable('pass to a pool task');
    this.#lent = true;
    this.#wake();
  }

  /** @internal The task that borrowed this end has settled: it is the caller's again. */
  giveBack(): void {
    this.#lent = false;
  }

  /** @internal The lender sends for the task (`send`'s checks, without the lent one). */
  lentSend(value: unknown): void {
    this.#send(value, true);
  }

  /** @internal The lender closes the end for the task: the other end gets EOF; it comes back closed. */
  lentClose(): void {
    this.#close();
  }

  /** @internal What a recv would take now: a value (removed), the EOF, a closed end, or nothing yet. */
  lentTake(): LentTake {
    if (this.#closed) return 'closed';
    if (this.#head < this.#inbox.length) return { value: this.#take() };
    return this.#eof ? 'eof' : undefined;
  }

  /** @internal Whether a recv would answer at once (a value, or the EOF); 'closed' once this end is closed. */
  lentReady(): boolean | 'closed' {
    if (this.#closed) return 'closed';
    return this.#head < this.#inbox.length || this.#eof;
  }

  /** @internal Whether a value (or the EOF) the other end sent in this thread is on its way here. */
  lentInFlight(): boolean {
    return this.#inFlight();
  }

  /** @internal A value the task's recv took but could not get (its worker died): first in line again. */
  lentUntake(value: unknown): void {
    if (this.#closed) return;
    if (this.#head > 0) this.#inbox[--this.#head] = value;
    else this.#inbox.unshift(value);
    this.#wake();
  }

  /**
   * @internal Waits until something can be taken (or the end closes), or `timeoutMs` passed;
   * `cancel` ends the wait at once (the promise resolves: the caller knows it cancelled).
   */
  lentWait(timeoutMs: number | undefined): { ready: Promise<void>; cancel(): void } {
    let waiter: Waiter | undefined;
    const ready = new Promise<void>((resolve) => {
      const made: Waiter = {
        resolve,
        timer: timeoutMs === undefined ? undefined : setTimeout(() => this.#drop(made), timeoutMs),
      };
      waiter = made;
      this.#waiters.push(made);
      this.#link?.setKeepAlive(true);
    });
    return {
      ready,
      cancel: () => {
        if (!waiter) return;
        if (waiter.timer) clearTimeout(waiter.timer);
        this.#drop(waiter);
      },
    };
  }

  /** Whether `close()` was called (or this end was handed to a Process). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends a value to the other end, as a structured clone. A value that cannot be cloned (a
   * function, a socket) throws here, in the caller.
   */
  send(value: unknown): void {
    this.#send(value, false);
  }

  #send(value: unknown, byLender: boolean): void {
    this.#checkUsable('send on', byLender);
    if (!this.writable) throw new Error('send(): this end of a one-way Pipe only receives; send on the other end');
    if (this.#eof && this.readable) {
      throw new BrokenPipeError('send(): the other end of the Pipe is closed; nobody would receive this');
    }
    try {
      (this.#link as Link).post([value]);
    } catch (error) {
      // Checked only now that it failed: the walk would cost every send, and the transport's
      // own DataCloneError says neither where in the value nor what to do.
      throw cloneFailure(error, value, 'send(value)', 'value');
    }
    this.#posted++;
  }

  /**
   * The next value the other end sent. Rejects with EOFError once the other end is closed and
   * every value it sent has been received.
   */
  async recv(): Promise<unknown> {
    for (;;) {
      this.#checkUsable('recv on');
      if (!this.readable) throw new Error('recv(): this end of a one-way Pipe only sends; receive on the other end');
      if (this.#head < this.#inbox.length) return this.#take();
      if (this.#eof) throw new EOFError('recv(): the other end of the Pipe was closed and everything it sent was read');
      await this.#waitFor(undefined);
    }
  }

  /**
   * Whether there is something to receive (a value, or the EOF that `recv` would throw), waiting
   * up to `timeoutMs` for it. Default 0: answer at once, as Python's `poll()`; `Infinity` waits
   * for as long as it takes.
   */
  async poll(timeoutMs = 0): Promise<boolean> {
    if (!(typeof timeoutMs === 'number' && timeoutMs >= 0)) {
      throw new RangeError(`poll(timeoutMs): expected a number of milliseconds >= 0, got ${String(timeoutMs)}`);
    }
    this.#checkUsable('poll on');
    if (!this.readable) throw new Error('poll(): this end of a one-way Pipe only sends');
    const ready = () => this.#head < this.#inbox.length || this.#eof;
    if (ready()) return true;
    // The other end is in this thread and has sent something that its port has not delivered
    // yet (a MessagePort delivers on a later turn): it is as good as here, and Python's
    // `b.send(1); a.poll()` is True, so wait for it (briefly: it is already on its way).
    if (this.#inFlight()) {
      const until = performance.now() + IN_FLIGHT_WAIT_MS;
      while (!ready() && this.#inFlight() && !this.#closed && !this.#lent) {
        const left = until - performance.now();
        if (left <= 0) break;
        await this.#waitFor(left);
      }
      if (ready()) return true;
    }
    if (timeoutMs === 0) return false;
    const deadline = performance.now() + timeoutMs;
    while (!ready() && !this.#closed && !this.#lent) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      await this.#waitFor(Number.isFinite(left) ? left : undefined);
    }
    return ready();
  }

  /**
   * Closes this end: the other end reads what was sent, then gets EOFError. Closing twice is
   * harmless; closing an end lent to a running pool task throws (the task closes it, or it comes
   * back when the task settles).
   */
  close(): void {
    if (this.#lent) throw new Error(`cannot close this Connection: ${LENT}`);
    this.#close();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const link = this.#link;
    this.#link = undefined;
    if (link) {
      try {
        link.post(null);
        this.#posted++;
      } catch {
        // the transport is already gone: the other end sees its close instead
      }
      link.close();
    }
    this.#wake();
  }

  /** Whether the other end, in this thread, has sent a frame that its port has not delivered here yet. */
  #inFlight(): boolean {
    return this.#peer !== undefined && this.#peer.#posted > this.#received;
  }

  #take(): unknown {
    const value = this.#inbox[this.#head];
    this.#inbox[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#inbox.length) {
      this.#inbox.splice(0, this.#head);
      this.#head = 0;
    }
    return value;
  }

  #checkUsable(what: string, byLender = false): void {
    if (this.#lent && !byLender) throw new Error(`cannot ${what} this Connection: ${LENT}`);
    if (this.#handedOver) throw new Error(`cannot ${what} this Connection: ${HANDED_OVER}`);
    if (this.#closed) throw new Error(`cannot ${what} a closed Connection`);
  }

  #waitFor(timeoutMs: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: timeoutMs === undefined ? undefined : setTimeout(() => this.#drop(waiter), timeoutMs),
      };
      this.#waiters.push(waiter);
      this.#link?.setKeepAlive(true);
    });
  }

  #drop(waiter: Waiter): void {
    const i = this.#waiters.indexOf(waiter);
    if (i >= 0) this.#waiters.splice(i, 1);
    if (this.#waiters.length === 0) this.#link?.setKeepAlive(false);
    waiter.resolve();
  }

  #wake(): void {
    const waiters = this.#waiters.splice(0);
    for (const waiter of waiters) {
      if (waiter.timer) clearTimeout(waiter.timer);
      waiter.resolve();
    }
    this.#link?.setKeepAlive(false);
  }
}

/**
 * Two connected ends: `const [a, b] = Pipe()`. With `duplex: false`, `a` only receives and `b`
 * only sends (Python's order). Either end can be passed to a `Process` in its `args` (it owns the
 * end from then on), or to a pool task or a `Thread` (the end is lent for the task's run and is
 * back here, usable, once the task's future settles: docs/multiprocessing.md).
 */
export function Pipe(options: PipeOptions = {}): [Connection, Connection] {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(
      `Pipe(options): expected an options object such as { duplex: false }, got ${shownValue(options)}`,
    );
  }
  checkOptions('Pipe(options)', options, PIPE_OPTION_KEYS);
  if (options.duplex !== undefined && typeof options.duplex !== 'boolean') {
    throw new TypeError(`Pipe(options): duplex must be true or false, got ${shownValue(options.duplex)}`);
  }
  const duplex = options.duplex ?? true;
  const { port1, port2 } = new MessageChannel();
  const a = new Connection(true, duplex);
  const b = new Connection(duplex, true);
  Connection.pair(a, b);
  a.attach(
    portLink(
      port1,
      (frame) => a.deliver(frame),
      () => a.linkClosed(),
    ),
  );
  b.attach(
    portLink(
      port2,
      (frame) => b.deliver(frame),
      () => b.linkClosed(),
    ),
  );
  return [a, b];
}
