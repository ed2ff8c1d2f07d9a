/**
 * A Pipe Connection end passed to a pool task (ProcessPoolExecutor, ThreadPoolExecutor, Pool on
 * either backend, Thread) is lent to that task for its run, and comes back to the caller when the
 * task's future settles (a Process, which outlives no task, takes an end for good instead:
 * process.ts).
 *
 *   submit(fn, conn) ─► lend(conn): conn.lend(), an object id ─► { $skeinConnection: id, lent: true }
 *   worker: LentConnection (lent-connection.ts) ─ send: post 'send' / recv, poll: call ─► the
 *     worker's route to this thread's brokers (broker-channel.ts, one per worker) ─► call() below
 *   the task settles ─► giveBack(id): the task's waits end, conn works here again
 *
 * Pull, not push: the real end stays here, and a value leaves it only when a recv of the task
 * asks for one. So nothing the task did not receive is lost when its worker dies or its future
 * settles early (a timeout): the end comes back with every such value, in order. A value a recv
 * had already taken when its worker died is put back first in line if the reply could not be
 * delivered (the worker was seen gone); one that was delivered to a dying worker is lost with it.
 */
import { type Broker, type Caller, forgetObject, registerObject } from './broker-registry.js';
import { type Connection, EOFError, IN_FLIGHT_WAIT_MS, type LentTake } from './connection.js';

/** A recv or poll of a task, waiting here. */
interface Wait {
  readonly caller: Caller;
  cancel(why: Error): void;
}

interface Lending {
  readonly end: Connection;
  readonly waits: Set<Wait>;
}

const SETTLED = 'the pool task this Connection was lent to has settled: the end is back with its owner';

/** A recv's answer from what the end had: the value, or the error recv throws. */
function answer(take: Exclude<LentTake, undefined>): unknown {
  if (take === 'eof')
    throw new EOFError('recv(): the other end of the Pipe was closed and everything it sent was read');
  if (take === 'closed') throw new Error('cannot recv on a closed Connection');
  return take.value;
}

class ConnectionLender implements Broker {
  readonly #lendings = new Map<number, Lending>();
  /** Ends just given back, for one turn: a reply that could not be delivered puts its value back. */
  readonly #returned = new Map<number, Connection>();

  /** Lends `end` (which must be usable here); its object id for the task's descriptor. */
  lend(end: Connection): number {
    end.lend();
    const id = registerObject(this);
    this.#lendings.set(id, { end, waits: new Set() });
    return id;
  }

  /** The task settled: its waits end, and the end is its owner's again. */
  giveBack(id: number): void {
    const lending = this.#lendings.get(id);
    if (!lending) return;
    this.#lendings.delete(id);
    forgetObject(id);
    for (const wait of [...lending.waits]) wait.cancel(new Error(SETTLED));
    lending.end.giveBack();
    this.#returned.set(id, lending.end);
    setImmediate(() => this.#returned.delete(id)).unref();
  }

  call(id: number, method: string, args: unknown[], caller: Caller): unknown {
    const lending = this.#lendings.get(id);
    if (!lending) throw new Error(SETTLED);
    switch (method) {
      case 'send':
        lending.end.lentSend(args[0]);
        return undefined;
      case 'close':
        lending.end.lentClose();
        return undefined;
      case 'recv':
        return this.#recv(lending, caller);
      case 'poll':
        return this.#poll(lending, caller, args[0] as number);
      default:
        throw new TypeError(`skein internal error: a lent Connection has no method ${method}`);
    }
  }

  undeliverable(id: number, method: string, value: unknown): void {
    if (method !== 'recv') return;
    (this.#lendings.get(id)?.end ?? this.#returned.get(id))?.lentUntake(value);
  }

  dropCaller(caller: Caller): void {
    for (const lending of this.#lendings.values()) {
      for (const wait of [...lending.waits]) {
        if (wait.caller === caller) wait.cancel(new Error('the worker running the task is gone'));
      }
    }
  }

  #recv(lending: Lending, caller: Caller): unknown {
    const now = lending.end.lentTake();
    if (now !== undefined) return answer(now);
    return this.#waitFor(lending, caller, undefined, (settle) => {
      const take = lending.end.lentTake();
      if (take === undefined) return false;
      settle(() => answer(take));
      return true;
    });
  }

  #poll(lending: Lending, caller: Caller, timeoutMs: number): boolean | Promise<unknown> {
    const now = lending.end.lentReady();
    if (now === 'closed') throw new Error('cannot poll on a closed Connection');
    if (now) return true;
    // What the other end sent in this thread is as good as here (Connection.poll): wait for it.
    const waitMs = lending.end.lentInFlight() ? Math.max(timeoutMs, IN_FLIGHT_WAIT_MS) : timeoutMs;
    if (waitMs === 0) return false;
    const deadline = performance.now() + waitMs;
    return this.#waitFor(lending, caller, waitMs, (settle) => {
      const ready = lending.end.lentReady();
      if (ready === 'closed') settle(() => false);
      else if (ready || performance.now() >= deadline) settle(() => ready);
      else return false;
      return true;
    });
  }

  /**
   * Waits on the end until `check` settles the call (it returns false to wait on); a wait ends
   * early when the task's worker dies or the end is given back.
   */
  #waitFor(
    lending: Lending,
    caller: Caller,
    timeoutMs: number | undefined,
    check: (settle: (answer: () => unknown) => void) => boolean,
  ): Promise<unknown> {
    const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      let done = false;
      let stop: () => void = () => {};
      const finish = () => {
        done = true;
        lending.waits.delete(wait);
        stop();
      };
      const wait: Wait = {
        caller,
        cancel: (why) => {
          if (done) return;
          finish();
          reject(why);
        },
      };
      const settle = (result: () => unknown) => {
        finish();
        try {
          resolve(result());
        } catch (error) {
          reject(error);
        }
      };
      const again = () => {
        const left = deadline - performance.now();
        const waiting = lending.end.lentWait(Number.isFinite(left) ? Math.max(left, 0) : undefined);
        stop = waiting.cancel;
        void waiting.ready.then(() => {
          if (!done && !check(settle)) again();
        });
      };
      lending.waits.add(wait);
      again();
    });
  }
}

/** The one lender of this thread: its ends are lent to the tasks of any pool made here. */
export const connectionLender = new ConnectionLender();
