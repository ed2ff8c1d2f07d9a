/**
 * How proxies in a child process or a worker thread reach the brokers of their parent
 * (broker-registry.ts): over the IPC channel a process pool worker already has, over a Process
 * child's own channel (child-channel.ts, installed with `useBrokerTransport`), or over the port a
 * pool's worker thread already has to the thread that made the pool (its `parentPort`).
 *
 *   child: proxy.call ─► outgoing [call, id, method, args, ...] ─ one message per turn ─►
 *   parent: serveBrokerCalls ─► broker.call(...) ─► replies [call, ok, value, ...] ─ one per turn ─►
 *   child: each promise settles
 *
 * Batching is the point: a message costs ~10-20 µs whatever it carries, so the calls a child
 * makes in one turn of its event loop (a producer's puts, several acquires) share one message,
 * and so do the replies the parent has ready in one turn. A `call` (whose caller waits for the
 * reply) leaves at the end of the current microtasks instead, with whatever is buffered: waiting
 * for the end of the turn would only add to its round trip. A call sent with `post` wants no
 * reply (a put on an unbounded queue, which cannot wait): if the broker refuses it, the error
 * is kept and the next call on that object from this child rejects with it.
 */
import { isMainThread, type MessagePort, parentPort } from 'node:worker_threads';
import { deserializeError, type SerializedError, serializeError } from '../wire/errors.js';
import type { Caller } from './broker-registry.js';
import { findBroker } from './broker-registry.js';
import { cloneFailure, uncloneableError } from './clone-check.js';

/** Child to parent: calls, flat, `CALL_STRIDE` entries each. `call` 0 wants no reply. */
export interface BrokerCallsMessage {
  readonly t: 'bcalls';
  readonly calls: unknown[];
}
/** Parent to child: replies, flat, `REPLY_STRIDE` entries each; a negative `call` is a failed `post` to object −call. */
export interface BrokerRepliesMessage {
  readonly t: 'breplies';
  readonly replies: unknown[];
}

const CALL_STRIDE = 4;
const REPLY_STRIDE = 3;
/** Calls (or appended items) buffered before a message goes out without waiting for the end of the turn. */
const MAX_BATCH = 8192;
/** What worker-entry.ts and process-entry.ts call before a result or an exit: pending calls go first. */
export const FLUSH_BROKER_CALLS = Symbol.for('skein.flushBrokerCalls');

/** How a proxy reaches its object. */
export interface BrokerChannel {
  /** Sends `method(...args)` to object `id`; resolves with (a copy of) what it returned. */
  call(id: number, method: string, args: unknown[]): Promise<unknown>;
  /** Sends a call that wants no reply; a refusal surfaces at the next call on `id`. */
  post?(id: number, method: string, args: unknown[]): void;
  /**
   * Like `post`, for a method whose arguments are a list of items (`putMany`): consecutive
   * appends to the same object and method travel as one call with every item.
   */
  append?(id: number, method: string, item: unknown): void;
}

export function isBrokerCalls(message: unknown): message is BrokerCallsMessage {
  return (message as { t?: unknown } | null)?.t === 'bcalls';
}

// ---- the child's side

/** How a child's batches of calls leave for its parent. */
export interface BrokerTransport {
  /** Whether the parent can still be reached. */
  connected(): boolean;
  /** Sends one batch; `sent` is called once it is written (what an exit waits for). */
  send(message: BrokerCallsMessage, sent: () => void): void;
}

/** A pool worker's: Node's IPC channel, on which the replies come back too. */
const ipcTransport: BrokerTransport = {
  connected: () => process.connected,
  send: (message, sent) => {
    process.send?.(message, undefined, {}, sent);
  },
};

const RESOLVED = Promise.resolve();

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

class ChildChannel implements BrokerChannel {
  #outgoing: unknown[] = [];
  /** Calls and appended items buffered: the batch leaves early when it grows large. */
  #buffered = 0;
  /** Where the last call starts in `#outgoing` if it is an `append` (items may join it), else -1. */
  #appendable = -1;
  #scheduled = false;
  /** A flush at the end of the current microtasks is queued (a call waits for its reply). */
  #flushSoon = false;
  #lastCall = 0;
  readonly #pending = new Map<number, Pending>();
  /** Objects whose posted call was refused: the next call on them rejects with this. */
  readonly #refused = new Map<number, unknown>();
  #unsent = 0;
  #sent: (() => void)[] = [];
  #gone = false;
  readonly #transport: BrokerTransport;
  readonly #flushNow = () => {
    if (this.#flushSoon) this.flush();
  };

  /** Over `transport`; over IPC (undefined) it listens for the replies on IPC itself. */
  constructor(transport: BrokerTransport | undefined) {
    this.#transport = transport ?? ipcTransport;
    if (!transport) {
      process.on('message', (message) => {
        if ((message as { t?: unknown } | null)?.t === 'breplies')
          this.receive((message as BrokerRepliesMessage).replies);
      });
      process.on('disconnect', () => this.parentGone());
    }
    (globalThis as Record<symbol, unknown>)[FLUSH_BROKER_CALLS] = () => this.flush();
  }

  /** The parent can no longer be reached: every call waiting for a reply rejects. */
  parentGone(): void {
    this.#gone = true;
    const error = new Error('cannot reach the parent process: it is gone');
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  call(id: number, method: string, args: unknown[]): Promise<unknown> {
    const refused = this.#takeRefusal(id);
    if (refused !== undefined) return Promise.reject(refused);
    if (this.#gone || !this.#transport.connected())
      return Promise.reject(new Error('cannot reach the parent process: it is gone'));
    const call = ++this.#lastCall;
    const promise = new Promise<unknown>((resolve, reject) => this.#pending.set(call, { resolve, reject }));
    this.#enqueue(call, id, method, args);
    if (!this.#flushSoon && this.#outgoing.length > 0) {
      this.#flushSoon = true;
      void RESOLVED.then(this.#flushNow);
    }
    return promise;
  }

  post(id: number, method: string, args: unknown[]): void {
    const refused = this.#takeRefusal(id);
    if (refused !== undefined) throw refused;
    if (this.#gone || !this.#transport.connected()) throw new Error('cannot reach the parent process: it is gone');
    this.#enqueue(0, id, method, args);
  }

  append(id: number, method: string, item: unknown): void {
    const at = this.#appendable;
    if (at >= 0 && this.#outgoing[at + 1] === id && this.#outgoing[at + 2] === method) {
      (this.#outgoing[at + 3] as unknown[]).push(item);
      if (++this.#buffered >= MAX_BATCH) this.flush();
      return;
    }
    this.post(id, method, [item]);
    this.#appendable = this.#outgoing.length - CALL_STRIDE;
  }

  /** Sends what is buffered now. */
  flush(): void {
    this.#scheduled = false;
    this.#flushSoon = false;
    this.#appendable = -1;
    this.#buffered = 0;
    if (this.#outgoing.length === 0 || !this.#transport.connected()) return;
    const calls = this.#outgoing;
    this.#outgoing = [];
    if (this.#send(calls)) return;
    // Something in the batch cannot be cloned (what the proxies' own checks do not see: a Proxy
    // object, a host object, a function given to a method that stores nothing). Sent one call at
    // a time, only the calls that cannot be sent fail, each in its own caller; the others go, in order.
    for (let i = 0; i < calls.length; i += CALL_STRIDE) {
      const one = calls.slice(i, i + CALL_STRIDE);
      if (!this.#send(one)) this.#unsendable(one);
    }
  }

  /** Sends one batch; false (nothing sent) if the transport refused it: something could not be cloned. */
  #send(calls: unknown[]): boolean {
    this.#unsent++;
    try {
      this.#transport.send({ t: 'bcalls', calls }, this.#written);
      return true;
    } catch {
      this.#unsent--;
      return false;
    }
  }

  readonly #written = () => {
    if (--this.#unsent === 0) for (const resolve of this.#sent.splice(0)) resolve();
  };

  /** A call that cannot be sent: its promise rejects, or (a post) the next call on its object. */
  #unsendable([call, id, method, args]: unknown[]): void {
    let error: unknown;
    try {
      structuredClone(args);
      // Cloneable here, yet refused by the transport (a SharedArrayBuffer to another process).
      error = uncloneableError(args, `${String(method)}(...)`, 'arguments', true);
    } catch (cloneError) {
      error = cloneFailure(cloneError, args, `${String(method)}(...)`, 'arguments');
    }
    error ??= new TypeError(`${String(method)}(...): the arguments could not be sent to the parent process`);
    if (call === 0) {
      this.#refused.set(id as number, error);
      return;
    }
    const pending = this.#pending.get(call as number);
    this.#pending.delete(call as number);
    pending?.reject(error);
  }

  /** Resolves once every call buffered so far has been written to the channel (before an exit). */
  whenSent(): Promise<void> {
    this.flush();
    if (this.#unsent === 0 || !this.#transport.connected()) return Promise.resolve();
    return new Promise((resolve) => this.#sent.push(resolve));
  }

  #takeRefusal(id: number): unknown {
    const refused = this.#refused.get(id);
    if (refused !== undefined) this.#refused.delete(id);
    return refused;
  }

  #enqueue(call: number, id: number, method: string, args: unknown[]): void {
    this.#outgoing.push(call, id, method, args);
    this.#appendable = -1;
    if (++this.#buffered >= MAX_BATCH) this.flush();
    else if (call === 0 && !this.#scheduled) {
      this.#scheduled = true;
      // The end of this turn, not a microtask: a loop of `await put(x)` stays in one turn. (A
      // call flushes at the end of the microtasks instead, `call`; an immediate for it would
      // cost its round trip an extra turn of the loop.)
      setImmediate(this.#flushAtTurnEnd);
    }
  }

  readonly #flushAtTurnEnd = () => {
    if (this.#scheduled) this.flush();
  };

  /** A batch of replies from the parent. */
  receive(replies: unknown[]): void {
    for (let i = 0; i < replies.length; i += REPLY_STRIDE) {
      const call = replies[i] as number;
      const ok = replies[i + 1] === 1;
      const value = replies[i + 2];
      if (call < 0) {
        this.#refused.set(-call, deserializeError(value as SerializedError));
        continue;
      }
      const pending = this.#pending.get(call);
      if (!pending) continue;
      this.#pending.delete(call);
      if (ok) pending.resolve(value);
      else pending.reject(deserializeError(value as SerializedError));
    }
  }
}

let channel: ChildChannel | undefined;

/**
 * A worker thread's: its port to the thread that made its pool, on which the replies come back
 * too (the worker's own message handler ignores them). The thread is ended with its parent, so
 * the parent is there for as long as the worker runs.
 */
function threadChannel(port: MessagePort): ChildChannel {
  const made = new ChildChannel({
    connected: () => true,
    send: (message, sent) => {
      port.postMessage(message);
      sent();
    },
  });
  port.on('message', (message: unknown) => {
    if ((message as { t?: unknown } | null)?.t === 'breplies') made.receive((message as BrokerRepliesMessage).replies);
  });
  return made;
}

/** This child's (or worker thread's) channel to its parent's brokers (made on first use). */
export function childBrokerChannel(): BrokerChannel & { whenSent(): Promise<void> } {
  if (channel) return channel;
  if (!isMainThread && parentPort) channel = threadChannel(parentPort);
  else if (process.send) channel = new ChildChannel(undefined);
  else throw new Error('skein internal error: a broker channel exists only in a child process or a worker thread');
  return channel;
}

/** What a transport installed with `useBrokerTransport` tells the broker channel. */
export interface BrokerReceiver {
  /** Replies arrived (the `replies` of a BrokerRepliesMessage). */
  receive(replies: unknown[]): void;
  /** The parent is gone. */
  parentGone(): void;
}

/** A Process child's calls travel over `transport` instead of IPC (before any proxy is made). */
export function useBrokerTransport(transport: BrokerTransport): BrokerReceiver {
  if (channel) throw new Error('skein internal error: the broker channel was made before its transport was set');
  const made = new ChildChannel(transport);
  channel = made;
  return made;
}

/** Before this child exits: resolves once its calls have left (nothing to do if it made none). */
export function brokerCallsSent(): Promise<void> {
  return channel ? channel.whenSent() : Promise.resolve();
}

// ---- the parent's side

/** Sends a message to one child; false if it cannot be delivered (the child is gone). */
export type SendToChild = (message: BrokerRepliesMessage) => boolean;

/** Replies to one child, gathered and sent once per turn. */
export class BrokerReplier {
  #replies: unknown[] = [];
  /** What each reply took, to give back if it cannot be delivered: [broker, id, method] per reply. */
  #takers: ({ id: number; method: string } | undefined)[] = [];
  #scheduled = false;

  constructor(
    private readonly caller: Caller,
    private readonly send: SendToChild,
  ) {}

  /** Runs a batch of calls from this child. */
  serve(calls: unknown[]): void {
    for (let i = 0; i < calls.length; i += CALL_STRIDE) {
      const call = calls[i] as number;
      const id = calls[i + 1] as number;
      const method = calls[i + 2] as string;
      const args = calls[i + 3] as unknown[];
      let result: unknown;
      try {
        const broker = findBroker(id);
        if (!broker) throw new Error('the object behind this proxy is gone (its Manager was shut down)');
        result = broker.call(id, method, args, this.caller);
      } catch (error) {
        this.#push(call, id, method, false, error);
        continue;
      }
      if (result instanceof Promise) {
        result.then(
          (value) => this.#push(call, id, method, true, value),
          (error: unknown) => this.#push(call, id, method, false, error),
        );
      } else {
        this.#push(call, id, method, true, result);
      }
    }
  }

  #push(call: number, id: number, method: string, ok: boolean, value: unknown): void {
    if (call === 0) {
      if (ok) return;
      this.#replies.push(-id, 0, serializeError(value));
      this.#takers.push(undefined);
    } else {
      this.#replies.push(call, ok ? 1 : 0, ok ? value : serializeError(value));
      this.#takers.push(ok ? { id, method } : undefined);
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      // A promise reaction, not queueMicrotask (which wraps each callback in an async resource).
      void RESOLVED.then(this.#flushSoon);
    }
  }

  readonly #flushSoon = () => this.#flush();

  #flush(): void {
    this.#scheduled = false;
    const replies = this.#replies;
    const takers = this.#takers;
    this.#replies = [];
    this.#takers = [];
    let delivered: boolean;
    try {
      delivered = this.send({ t: 'breplies', replies });
    } catch {
      delivered = false;
    }
    if (delivered) return;
    // The child is gone: what its calls took goes back (an item it will never read).
    for (let r = 0; r < takers.length; r++) {
      const taker = takers[r];
      if (taker) findBroker(taker.id)?.undeliverable?.(taker.id, taker.method, replies[r * REPLY_STRIDE + 2]);
    }
  }
}
