/**
 * The one seam between child processes and the objects held for them in this process: every
 * object reachable through a proxy (a Manager's dict, a Lock passed to a Process...) has a
 * process-wide id, and the broker that holds it answers `call(id, method, args, caller)`.
 *
 *   child proxy ─ { t: 'bcalls' } ─► Process / pool worker (process or thread) transport ─► serveBrokerCalls ─► findBroker(id).call
 *              ◄─ { t: 'breplies' } ◄──────────── replies batched per turn ◄───────────────┘
 *
 * Three brokers sit behind it: the Manager's (manager-broker.ts: state it owns), the one for
 * the threading primitives (primitive-broker.ts: the real primitives, operated on this side), and
 * the lender of Pipe ends to pool tasks (connection-lender.ts).
 * The wire format and the batching are broker-channel.ts's.
 */

/** Who is calling: 0 for this thread, a child's (or a pool worker process's) pid, or minus a pool worker thread's threadId. */
export type Caller = number;

/** What holds objects for proxies: runs their methods, forgets a dead caller. */
export interface Broker {
  /** Runs one method; its result, or a promise for a wait. Throws (or rejects) with the method's error. */
  call(id: number, method: string, args: unknown[], caller: Caller): unknown;
  /**
   * The reply to a call could not be delivered (its caller is gone): give back what the call
   * took (a queue item), if anything.
   */
  undeliverable?(id: number, method: string, value: unknown): void;
  /** A caller (child process) is gone: drop its waits, and break or give back what it held. */
  dropCaller(caller: Caller): void;
}

let lastId = 0;
const owners = new Map<number, Broker>();

/** A fresh process-wide object id, held by `broker`. */
export function registerObject(broker: Broker): number {
  const id = ++lastId;
  owners.set(id, broker);
  return id;
}

/** The object is gone (its manager shut down): calls to it fail. */
export function forgetObject(id: number): void {
  owners.delete(id);
}

/** The broker holding object `id`, if it still exists. */
export function findBroker(id: number): Broker | undefined {
  return owners.get(id);
}

/** A child process is gone: every broker drops its waits and breaks what it held. */
export function dropCallerEverywhere(caller: Caller): void {
  for (const broker of new Set(owners.values())) broker.dropCaller(caller);
}
