/**
 * What a pool task (or a Thread) gets for a Pipe Connection end passed to it: a Connection whose
 * calls run on the real end, which stays in the thread that submitted the task and is lent for
 * the task's run (connection-lender.ts). `send` and `close` leave without waiting (in order with
 * the task's other calls, before its result); `recv` and `poll` ask the real end and wait for its
 * answer. A refused `send` (the other end is closed: BrokenPipeError) surfaces at the task's next
 * call on this end, as a posted proxy call does (broker-channel.ts).
 */
import { isMainThread } from 'node:worker_threads';
import { NOT_FOR_POOL_TASKS } from '../wire/arguments.js';
import { findUncloneable } from '../wire/cloneable.js';
import type { BrokerChannel } from './broker-channel.js';
import { Connection } from './connection.js';
import type { ConnectionDescriptor } from './handles.js';

const PASS_ON =
  'a Pipe Connection lent to this pool task, which cannot be passed on (to a Process or another pool task): ' +
  'the end is only lent to this task for its run; pass the end itself from where it was made';

/** A Connection end lent to the running task. */
export class LentConnection extends Connection {
  readonly #id: number;
  readonly #channel: BrokerChannel;
  #closed = false;

  /** @internal Made by the worker from the task's arguments (worker-revive.ts). */
  constructor(descriptor: ConnectionDescriptor, channel: BrokerChannel) {
    super(descriptor.readable, descriptor.writable);
    this.#id = descriptor.$skeinConnection;
    this.#channel = channel;
  }

  override get closed(): boolean {
    return this.#closed;
  }

  /** @internal */
  override [NOT_FOR_POOL_TASKS](): string {
    return PASS_ON;
  }

  /** @internal */
  override checkCanHandOver(): void {
    throw new TypeError(`cannot pass ${PASS_ON}`);
  }

  /** @internal */
  override lend(): void {
    this.checkCanHandOver();
  }

  override send(value: unknown): void {
    this.#check('send on');
    if (!this.writable) throw new Error('send(): this end of a one-way Pipe only receives; send on the other end');
    // Checked here, in the caller: the batch it travels in must not fail for everyone's calls.
    const bad =
      value !== null && (typeof value === 'object' || typeof value === 'function' || typeof value === 'symbol')
        ? findUncloneable(value, isMainThread)
        : undefined;
    if (bad) {
      throw new TypeError(
        `send(value): the value cannot be sent: value${bad.path} is ${bad.what}. Values travel by structured clone; send plain data.`,
      );
    }
    this.#post('send', [value]);
  }

  override async recv(): Promise<unknown> {
    this.#check('recv on');
    if (!this.readable) throw new Error('recv(): this end of a one-way Pipe only sends; receive on the other end');
    return this.#channel.call(this.#id, 'recv', []);
  }

  override async poll(timeoutMs = 0): Promise<boolean> {
    if (!(typeof timeoutMs === 'number' && timeoutMs >= 0)) {
      throw new RangeError(`poll(timeoutMs): expected a number of milliseconds >= 0, got ${String(timeoutMs)}`);
    }
    this.#check('poll on');
    if (!this.readable) throw new Error('poll(): this end of a one-way Pipe only sends');
    return (await this.#channel.call(this.#id, 'poll', [timeoutMs])) as boolean;
  }

  override close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#post('close', []);
  }

  #post(method: string, args: unknown[]): void {
    if (this.#channel.post) this.#channel.post(this.#id, method, args);
    else void this.#channel.call(this.#id, method, args).catch(() => {});
  }

  #check(what: string): void {
    if (this.#closed) throw new Error(`cannot ${what} a closed Connection`);
  }
}
