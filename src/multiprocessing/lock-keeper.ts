/**
 * A Lock or RLock held on behalf of child processes (primitive-broker.ts). The real lock lives in
 * this process and the broker takes it on this thread for whichever child asked, so to the lock
 * every child is this one thread: the keeper records which child owns it (and how many times,
 * for an RLock), and lets one real acquire be in flight at a time, the other children waiting
 * in a FIFO gate with their own timeouts and aborts. One keeper per lock: a Condition shared
 * with a child and its lock shared on its own reach the same keeper.
 *
 * Limit: code of the parent's own thread (the one the broker runs on) is the same thread as
 * every child to an RLock, so it re-enters an RLock a child holds. A Lock has no such limit.
 */
import { BrokenLockError } from '../sync/errors.js';
import type { Lock } from '../sync/lock.js';
import { RLock } from '../sync/lock.js';
import { THIS_THREAD, THREAD_EXITED } from '../sync/shared-memory.js';
import type { Caller } from './broker-registry.js';

/** The reason a child's wait was cancelled by its own signal (the child is alive: see `childGone`). */
export class WaitCancelled extends Error {
  /** Always `'WaitCancelled'`: the child's proxy recognises it by name and rejects with its signal's reason. */
  override name = 'WaitCancelled';
}

/** Whether a wait's signal was aborted because its child is gone (not cancelled by the child itself). */
export function childGone(signal: AbortSignal): boolean {
  return signal.aborted && !(signal.reason instanceof WaitCancelled);
}

interface GateWaiter {
  readonly caller: Caller;
  /** When the caller's timeout ends (performance.now()), or Infinity. */
  readonly deadline: number;
  readonly signal: AbortSignal;
  readonly resolve: (held: boolean) => void;
  readonly reject: (error: unknown) => void;
  timer: NodeJS.Timeout | undefined;
  onAbort: () => void;
}

export class LockKeeper {
  /** The child that holds the lock through the broker. */
  owner: Caller | undefined;
  /** How many times the owner holds it (RLock); 1 for a Lock. */
  count = 0;
  /** A real acquire is in flight for one child. */
  #busy = false;
  readonly #gate: GateWaiter[] = [];
  readonly #reentrant: boolean;
  /** Breaks the lock for everyone (a Condition built on it also wakes its waiters). */
  breakLock: () => void;

  constructor(readonly lock: Lock) {
    this.#reentrant = lock instanceof RLock;
    // It is held by this thread on the dead child's behalf: "a thread that died holding it".
    this.breakLock = () => lock[THREAD_EXITED](THIS_THREAD);
  }

  /** Takes the lock for `caller` if that needs no waiting. */
  tryAcquire(caller: Caller): boolean {
    if (this.owner === caller && this.#reentrant) {
      this.count++;
      return true;
    }
    if (this.owner !== undefined || this.#busy || this.#gate.length > 0) {
      if (this.lock.broken) throw brokenLock();
      return false;
    }
    if (!this.lock.tryAcquire()) return false;
    this.owner = caller;
    this.count = 1;
    return true;
  }

  /** Waits for the lock for `caller`, FIFO among children; false after `timeoutMs`. */
  acquire(caller: Caller, timeoutMs: number | undefined, signal: AbortSignal): boolean | Promise<boolean> {
    if (this.tryAcquire(caller)) return true;
    if (timeoutMs === 0) return false;
    const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + timeoutMs;
    if (this.owner === undefined && !this.#busy && this.#gate.length === 0) {
      return this.#realAcquire(caller, deadline, signal);
    }
    return new Promise<boolean>((resolve, reject) => {
      const waiter: GateWaiter = { caller, deadline, signal, resolve, reject, timer: undefined, onAbort: () => {} };
      waiter.onAbort = () => {
        this.#leaveGate(waiter);
        reject(signal.reason);
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      if (deadline !== Number.POSITIVE_INFINITY) {
        waiter.timer = setTimeout(() => {
          this.#leaveGate(waiter);
          resolve(false);
        }, timeoutMs);
      }
      this.#gate.push(waiter);
    });
  }

  /** `caller` releases one level; the lock is free once every level is released. */
  release(caller: Caller): void {
    if (this.lock.broken) throw brokenLock();
    if (this.owner === undefined) {
      // Held by nobody through the broker: the parent's own hold, which any thread may release (a Lock).
      if (this.#reentrant) throw new Error('release() of an RLock this process does not hold');
      this.lock.release();
      this.#pump();
      return;
    }
    if (this.owner !== caller && this.#reentrant) {
      throw new Error('release() of an RLock held by another process: only its owner may release it');
    }
    if (--this.count > 0) return;
    this.owner = undefined;
    this.lock.release();
    this.#pump();
  }

  /** Condition.wait released the lock for `caller` (it must own it): the next child may have it. */
  handedToCondition(caller: Caller): void {
    if (this.owner !== caller) throw new Error('wait() on a Condition whose lock this process does not hold');
    this.owner = undefined;
    this.count = 0;
  }

  /** Condition.wait took the lock back for `caller`. */
  takenBackFromCondition(caller: Caller): void {
    this.owner = caller;
    this.count = 1;
  }

  /** Whether `caller` holds the lock (a Condition's notify requires it). */
  ownedBy(caller: Caller): boolean {
    return this.owner === caller;
  }

  /** After a Condition's waiter left for good: serve the gate if the lock is free. */
  pump(): void {
    this.#pump();
  }

  /** A child is gone: a lock it held breaks (what it protected may be half-updated). */
  dropCaller(caller: Caller): void {
    if (this.owner !== caller) return;
    this.owner = undefined;
    this.count = 0;
    this.breakLock();
    for (const waiter of this.#gate.splice(0)) {
      this.#unlisten(waiter);
      waiter.reject(brokenLock());
    }
  }

  #realAcquire(caller: Caller, deadline: number, signal: AbortSignal): Promise<boolean> {
    this.#busy = true;
    const timeout = deadline === Number.POSITIVE_INFINITY ? undefined : Math.max(0, deadline - performance.now());
    return this.lock.acquire({ timeout, signal }).then(
      (held) => {
        this.#busy = false;
        const gone = childGone(signal);
        if (held && gone) {
          // Granted just as its child died: it never held it.
          this.lock.release();
          held = false;
        }
        if (held) {
          this.owner = caller;
          this.count = 1;
        } else this.#pump();
        if (gone) throw signal.reason;
        return held; // a grant that came before the child's own cancel stands
      },
      (error: unknown) => {
        this.#busy = false;
        if (!this.lock.broken) this.#pump();
        else for (const waiter of this.#gate.splice(0)) this.#fail(waiter, brokenLock());
        throw error;
      },
    );
  }

  /** The lock is free as far as children know: the gate's oldest waiter tries for it. */
  #pump(): void {
    if (this.owner !== undefined || this.#busy) return;
    const waiter = this.#gate.shift();
    if (!waiter) return;
    this.#unlisten(waiter);
    this.#realAcquire(waiter.caller, waiter.deadline, waiter.signal).then(waiter.resolve, waiter.reject);
  }

  #leaveGate(waiter: GateWaiter): void {
    const at = this.#gate.indexOf(waiter);
    if (at >= 0) this.#gate.splice(at, 1);
    this.#unlisten(waiter);
  }

  #unlisten(waiter: GateWaiter): void {
    clearTimeout(waiter.timer);
    waiter.signal.removeEventListener('abort', waiter.onAbort);
  }

  #fail(waiter: GateWaiter, error: unknown): void {
    this.#unlisten(waiter);
    waiter.reject(error);
  }
}

function brokenLock(): BrokenLockError {
  return new BrokenLockError(
    'the lock is broken: a thread or process died while holding it, so what it protects may be half-updated',
  );
}
