/**
 * `withPermit` with nothing free: the call itself waits in the primitive's waiter list.
 *
 *   withPermit(fn) ──no permit──► HeldCall joins the list ──granted──► ready calls ──microtask──►
 *   fn() ──ends──► release() (grants the next waiter), then withPermit's promise settles
 *
 * The general path (runHolding) waits for `acquire()`'s promise and chains the call on it: per
 * queued call a waiter, its promise and resolvers, a `then` closure and its promise. A semaphore
 * guarding a big batch queues thousands of calls at once, all of that lives until their turn, and
 * collecting it was two thirds of the time (a profile of 200,000 calls, 8 at a time). A HeldCall
 * is one object, and the promise the caller holds is the only one: the list grants it by calling
 * its `resolve`, which puts the call on the ready list. The list runs in a loop, never inside the
 * `release()` that granted it (a chain of synchronous calls would nest a stack frame per call):
 * in a microtask after a user's or another thread's release, or, when the release was a finished
 * call's own, right after that call's caller is settled (no microtask hop per call).
 *
 * Leaving early is the list's as for any waiter: a timeout grants it `false` (a TimeoutError for
 * the caller, fn never runs), an abort or a stopped task fails it (the caller gets the reason).
 */
import { TimeoutError } from '../futures/errors.js';
import { notAFunction } from '../futures/options.js';
import { deadlineOf } from './shared-memory.js';
import {
  abortReason,
  callHolding,
  checkWaitOptions,
  type Holdable,
  Waiter,
  type WaiterList,
  type WaitOptions,
} from './waiters.js';

class HeldCall<T> extends Waiter<boolean> {
  /** Settles the caller's promise with what `fn` gives (its `reject` is the Waiter's own). */
  done!: (value: T | PromiseLike<T>) => void;
  // Only a call with a timeout can time out, and only its error names them (`declare`: no slot
  // otherwise). Thousands of calls can queue at once: every slot is collector time (see above).
  declare method: string;
  declare timeout: number;

  constructor(
    readonly holder: Holdable,
    readonly fn: () => T | PromiseLike<T>,
  ) {
    super();
    // The list calls `resolve` as a method of the waiter: granted, the call runs. A failure
    // (`reject`) is the caller's promise's, as captured by newCallerPromise.
    this.resolve = grant;
  }
}

/** The caller's promise for `call`: its resolvers are stored on the call (one shared executor, no closure). */
function newCallerPromise<T>(call: HeldCall<T>): Promise<T> {
  capturing = call as HeldCall<unknown>;
  return new Promise<T>(
    captureResolvers as (resolve: (value: T | PromiseLike<T>) => void, reject: (error: unknown) => void) => void,
  );
}

let capturing: HeldCall<unknown> | undefined;
function captureResolvers(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  (capturing as HeldCall<unknown>).done = resolve;
  (capturing as HeldCall<unknown>).reject = reject;
  capturing = undefined;
}

let readyHead: HeldCall<unknown> | undefined;
let readyTail: HeldCall<unknown> | undefined;
/** A drain loop is running (or about to, at the end of a call's completion): a grant joins it. */
let draining = false;
let drainQueued = false;
const RESOLVED = Promise.resolve();

function grant(this: HeldCall<unknown>, held: boolean): void {
  if (!held) {
    this.reject(
      new TimeoutError(`${this.holder.constructor.name}.${this.method}: not acquired within ${this.timeout} ms`),
    );
    return;
  }
  // Granted means unlinked from the waiter list: `next` is free, and links the ready list now.
  if (readyTail) readyTail.next = this;
  else readyHead = this;
  readyTail = this;
  if (!draining && !drainQueued) {
    // Granted by a release() outside a call of ours (the user's, or another thread's through the
    // driver): the call runs in a microtask, never inside that release().
    drainQueued = true;
    void RESOLVED.then(drainQueuedCalls);
  }
}

function drainQueuedCalls(): void {
  drainQueued = false;
  if (!draining) drain();
}

/** Runs the granted calls in grant order; a call that ends at once grants the next, which joins this loop. */
function drain(): void {
  draining = true;
  try {
    for (let call = readyHead; call; call = readyHead) {
      readyHead = call.next as HeldCall<unknown> | undefined;
      if (readyHead === undefined) readyTail = undefined;
      call.next = undefined;
      runHeld(call);
    }
  } finally {
    draining = false;
  }
}

function runHeld<T>(call: HeldCall<T>): void {
  let result: T | PromiseLike<T>;
  let thenable: boolean;
  try {
    result = call.fn();
    thenable = result !== null && typeof (result as PromiseLike<T>)?.then === 'function';
  } catch (error) {
    releaseThenSettle(call, false, error);
    return;
  }
  if (thenable) {
    Promise.resolve(result).then(
      (value) => completed(call, true, value),
      (error) => completed(call, false, error),
    );
  } else {
    releaseThenSettle(call, true, result);
  }
}

/**
 * A call that went async has ended (in its own microtask, so no drain is running): the call its
 * release grants runs right here, after this one's caller is settled, not a microtask later.
 */
function completed<T>(call: HeldCall<T>, ok: boolean, outcome: unknown): void {
  draining = true;
  releaseThenSettle(call, ok, outcome);
  drain();
}

/**
 * Gives the permit back (which may grant the next waiter), then settles the caller's promise. A
 * release that throws (a BoundedSemaphore released by hand once too often) rejects it instead.
 */
function releaseThenSettle<T>(call: HeldCall<T>, ok: boolean, outcome: unknown): void {
  try {
    call.holder.release();
  } catch (error) {
    call.reject(error);
    return;
  }
  if (ok) call.done(outcome as T);
  else call.reject(outcome);
}

/**
 * `withPermit(fn, options)` on a primitive whose waiters are `list` and whose thread driver is
 * `driver`: runs `fn` at once if a permit is free, else queues the call (see above). Errors
 * reject; they are never thrown.
 */
export function runHeldCall<T>(
  method: string,
  holder: Holdable,
  fn: () => T | PromiseLike<T>,
  options: WaitOptions | undefined,
  list: WaiterList<boolean>,
  driver: { start(): void },
): Promise<T> {
  try {
    if (typeof fn !== 'function') throw notAFunction(`${holder.constructor.name}.${method}(fn)`, fn);
    // The name is built only when there are options: this is the hot path of withPermit.
    if (options !== undefined) checkWaitOptions(`${holder.constructor.name}.${method}(fn, options)`, options);
    if (holder.tryAcquire()) return callHolding(holder, fn);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const timeout = options?.timeout;
    const deadline = deadlineOf(timeout);
    if (timeout === 0) {
      throw new TimeoutError(`${holder.constructor.name}.${method}: not acquired within 0 ms`);
    }
    const call = new HeldCall(holder, fn);
    if (timeout !== undefined) {
      call.method = method;
      call.timeout = timeout;
    }
    const promise = newCallerPromise(call);
    list.enqueue(call, deadline, signal, false);
    driver.start();
    return promise;
  } catch (error) {
    return Promise.reject(error);
  }
}
