/**
 * The async waiters of one primitive in this thread, first come first served. A waiter leaves by
 * being granted, by its timeout (it resolves with the primitive's "not acquired" value, as
 * Python's `acquire(timeout=...)` returns False) or by its signal (it rejects with the signal's
 * reason). It leaves in O(1): a list, because a crowd of aborted waiters must not cost a scan
 * each (p-queue#217).
 *
 * The list settles each waiter exactly once and removes its timer and abort listener then, so a
 * waiter that gave up can never be granted later (async-mutex#54) and leaves nothing behind.
 */
import { TimeoutError } from '../futures/errors.js';
import { checkOptions, notAFunction, optionKeys } from '../futures/options.js';
import { deadlineOf, holdEventLoop, releaseEventLoop } from './shared-memory.js';
import { runningTaskSignal, stoppedError, taskStopped } from './task-stop.js';

/** How long a wait may last, and how to give it up: every async wait of skein's primitives takes these. */
export interface WaitOptions {
  /** ms to wait at most; then the wait gives up (returns false, or what the method documents). */
  timeout?: number;
  /** Aborting it gives up the wait: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

const WAIT_OPTION_KEYS = optionKeys<WaitOptions>({ timeout: true, signal: true });
/** A blocking wait (`acquireSync`, `getSync`...) takes only a timeout: a signal could not interrupt it. */
const BLOCKING_WAIT_OPTION_KEYS = optionKeys<{ timeout?: number }>({ timeout: true });

/**
 * Throws a TypeError for a key an async wait does not know (`{ timout: 100 }` would otherwise wait
 * for ever). No options costs one comparison: these are the primitives' hot paths.
 */
export function checkWaitOptions(where: string, options: object | undefined): void {
  if (options !== undefined) checkOptions(where, options, WAIT_OPTION_KEYS);
}

/** `checkWaitOptions` for a blocking wait, whose only option is `timeout`. */
export function checkBlockingWaitOptions(where: string, options: object | undefined): void {
  if (options !== undefined) checkOptions(where, options, BLOCKING_WAIT_OPTION_KEYS);
}

/**
 * One place in a WaiterList: its links, and how it may leave early (timer, signals). The list
 * grants it with `resolve(value)` and fails it with `reject(error)`, called as its methods.
 */
export class Waiter<T> {
  prev: Waiter<T> | undefined;
  next: Waiter<T> | undefined;
  linked = true;
  resolve!: (value: T) => void;
  reject!: (error: unknown) => void;
  // The rest is set only where used (`declare`: no slot until then). Thousands of waiters can
  // be queued at once, most with no timeout, signal or tag, and their size is collector time.
  declare timer: NodeJS.Timeout | undefined;
  declare signal: AbortSignal | undefined;
  declare onAbort: (() => void) | undefined;
  /** In a pool worker: the signal of the task that started the wait (see task-stop.ts). */
  declare taskSignal: AbortSignal | undefined;
  declare onGiveUp: (() => void) | undefined;
  /** Free for the primitive's use (an Event's generation). */
  declare tag: number | undefined;
  /** Free for the primitive's use (the item a Queue putter waits to put). */
  declare data: unknown;
}

/** The usual waiter: a promise that the grant resolves (or the failure rejects). */
export class PromisedWaiter<T> extends Waiter<T> {
  readonly promise: Promise<T>;

  constructor() {
    super();
    // One shared executor instead of a closure per waiter: thousands of waiters can queue at once.
    capturing = this as Waiter<unknown>;
    this.promise = new Promise<T>(
      captureResolvers as (resolve: (value: T) => void, reject: (error: unknown) => void) => void,
    );
  }
}

let capturing: Waiter<unknown> | undefined;
function captureResolvers(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  (capturing as Waiter<unknown>).resolve = resolve;
  (capturing as Waiter<unknown>).reject = reject;
  capturing = undefined;
}

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

export class WaiterList<T> {
  private head: Waiter<T> | undefined;
  private tail: Waiter<T> | undefined;
  length = 0;
  /** The running task's signal that this list listens to (one listener for all its waiters). */
  private watched: AbortSignal | undefined;

  /**
   * @param what What a waiter here wants, for the error a stopped task gets ("take a Lock").
   * @param obeysStop False for a primitive's internal lock, which must be taken even by a stopped
   *   task to leave the primitive in order (a Barrier's); such a list ignores task stops.
   */
  constructor(
    private readonly what: string,
    private readonly obeysStop = true,
  ) {}

  /**
   * Adds a waiter. `deadline` is absolute (performance.now()); at it the waiter resolves with
   * `timedOut`. `onGiveUp` runs when it leaves by timeout or abort. In a pool task, the task's
   * own signal aborts the wait too (the pool stopped it), and a stopped task may not start one.
   */
  add(deadline: number, signal: AbortSignal | undefined, timedOut: T, onGiveUp?: () => void): PromisedWaiter<T> {
    return this.enqueue(new PromisedWaiter<T>(), deadline, signal, timedOut, onGiveUp);
  }

  /** `add` for a waiter built by the caller (a HeldCall): same rules, same ways to leave. */
  enqueue<W extends Waiter<T>>(
    waiter: W,
    deadline: number,
    signal: AbortSignal | undefined,
    timedOut: T,
    onGiveUp?: () => void,
  ): W {
    const taskSignal = this.obeysStop ? runningTaskSignal() : undefined;
    if (taskSignal?.aborted || (this.obeysStop && taskStopped())) throw stoppedError(this.what, taskSignal?.reason);
    if (onGiveUp) waiter.onGiveUp = onGiveUp;
    waiter.prev = this.tail;
    if (this.tail) this.tail.next = waiter;
    else this.head = waiter;
    this.tail = waiter;
    if (this.length++ === 0) holdEventLoop();
    if (deadline !== Number.POSITIVE_INFINITY) {
      waiter.timer = setTimeout(
        () => {
          if (!waiter.linked) return;
          this.settle(waiter, timedOut);
          onGiveUp?.();
        },
        Math.max(0, deadline - performance.now()),
      );
    }
    if (signal) {
      waiter.signal = signal;
      waiter.onAbort = () => {
        if (!waiter.linked) return;
        this.fail(waiter, abortReason(signal));
        onGiveUp?.();
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
    }
    if (taskSignal) {
      waiter.taskSignal = taskSignal;
      this.watch(taskSignal);
    }
    return waiter;
  }

  private watch(taskSignal: AbortSignal): void {
    if (this.watched === taskSignal) return;
    this.watched?.removeEventListener('abort', this.onTaskAbort);
    this.watched = taskSignal;
    taskSignal.addEventListener('abort', this.onTaskAbort, { once: true });
  }

  /** The running task was stopped and its worker heard of it: its waits fail now. */
  private readonly onTaskAbort = (): void => {
    const taskSignal = this.watched as AbortSignal;
    this.watched = undefined;
    for (const waiter of this.all()) {
      if (waiter.taskSignal !== taskSignal) continue;
      this.fail(waiter, stoppedError(this.what, taskSignal.reason));
      waiter.onGiveUp?.();
    }
  };

  first(): Waiter<T> | undefined {
    return this.head;
  }

  /**
   * Before handing anything to a waiter here: if the pool has stopped the task running in this
   * thread, nothing may be handed to this thread now (it is about to be killed, or its code is
   * unwinding), so every waiter fails with the stop error and this returns true; the caller then
   * gives back what it took for them. The task's signal does the same a little later, when the
   * worker hears of the stop; this closes the window before that.
   */
  refuseIfStopped(): boolean {
    if (this.head === undefined || !taskStopped() || !this.obeysStop) return false;
    for (const waiter of this.all()) {
      this.fail(waiter, stoppedError(this.what));
      waiter.onGiveUp?.();
    }
    return true;
  }

  /** Every waiter, oldest first (a copy: settling them while iterating is safe). */
  all(): Waiter<T>[] {
    const out: Waiter<T>[] = [];
    for (let w = this.head; w; w = w.next) out.push(w);
    return out;
  }

  settle(waiter: Waiter<T>, value: T): void {
    if (!this.unlink(waiter)) return;
    waiter.resolve(value);
  }

  fail(waiter: Waiter<T>, error: unknown): void {
    if (!this.unlink(waiter)) return;
    waiter.reject(error);
  }

  failAll(error: unknown): void {
    for (const waiter of this.all()) this.fail(waiter, error);
  }

  private unlink(waiter: Waiter<T>): boolean {
    if (!waiter.linked) return false;
    waiter.linked = false;
    if (waiter.prev) waiter.prev.next = waiter.next;
    else this.head = waiter.next;
    if (waiter.next) waiter.next.prev = waiter.prev;
    else this.tail = waiter.prev;
    waiter.prev = waiter.next = undefined;
    if (--this.length === 0) {
      releaseEventLoop();
      this.watched?.removeEventListener('abort', this.onTaskAbort);
      this.watched = undefined;
    }
    if (waiter.timer) clearTimeout(waiter.timer);
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    return true;
  }
}

const RESOLVED_TRUE = Promise.resolve(true);

/**
 * The shape every async acquire shares: an aborted signal rejects at once, then `tryNow` (the
 * fast path), then `timeout: 0` answers false without queueing, else a waiter joins `list` and
 * `drive` makes sure this thread's driver is running. Errors reject; they are never thrown.
 */
export function acquireOrQueue(
  list: WaiterList<boolean>,
  options: WaitOptions | undefined,
  tryNow: () => boolean,
  drive: () => void,
): Promise<boolean> {
  try {
    checkWaitOptions('acquire(options)', options);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (tryNow()) return RESOLVED_TRUE;
    const deadline = deadlineOf(options?.timeout);
    if (options?.timeout === 0) return Promise.resolve(false);
    const waiter = list.add(deadline, signal, false);
    drive();
    return waiter.promise;
  } catch (error) {
    return Promise.reject(error);
  }
}

/** What withLock / withPermit need of a primitive. */
export interface Holdable {
  tryAcquire(): boolean;
  acquire(options?: WaitOptions): Promise<boolean>;
  acquireSync(options?: { timeout?: number }): boolean;
  release(): void;
}

/** `withLock` / `withPermit`: runs `fn` while held, releases however it ends; TimeoutError if not held in time. */
export function runHolding<T>(
  method: string,
  primitive: Holdable,
  fn: () => T | PromiseLike<T>,
  options: WaitOptions | undefined,
): Promise<T> {
  if (typeof fn !== 'function') return Promise.reject(notAFunction(`${primitive.constructor.name}.${method}(fn)`, fn));
  if (options !== undefined) {
    // The name is built only when there are options: this is the hot path of withLock.
    try {
      checkWaitOptions(`${primitive.constructor.name}.${method}(fn, options)`, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }
  // Plain promise chaining, not an async function: with thousands queued at once (a semaphore
  // guarding a big batch), every saved allocation shows.
  if (primitive.tryAcquire()) return callHolding(primitive, fn);
  return primitive.acquire(options).then((held) => {
    if (!held) {
      throw new TimeoutError(`${primitive.constructor.name}.${method}: not acquired within ${options?.timeout} ms`);
    }
    return callHolding(primitive, fn);
  });
}

/** Runs `fn` on a primitive just taken, and releases it however `fn` ends. */
export function callHolding<T>(primitive: Holdable, fn: () => T | PromiseLike<T>): Promise<T> {
  let result: T | PromiseLike<T>;
  try {
    result = fn();
  } catch (error) {
    primitive.release();
    return Promise.reject(error);
  }
  if (result !== null && typeof (result as PromiseLike<T>)?.then === 'function') {
    return Promise.resolve(result).then(
      (value) => {
        primitive.release();
        return value;
      },
      (error) => {
        primitive.release();
        throw error;
      },
    );
  }
  primitive.release();
  return Promise.resolve(result as T);
}

/** `runHolding` for worker code: blocks for the primitive. */
export function runHoldingSync<T>(
  method: string,
  primitive: Holdable,
  fn: () => T,
  options: { timeout?: number } | undefined,
): T {
  if (typeof fn !== 'function') throw notAFunction(`${primitive.constructor.name}.${method}(fn)`, fn);
  if (options !== undefined) checkBlockingWaitOptions(`${primitive.constructor.name}.${method}(fn, options)`, options);
  if (!primitive.acquireSync(options)) {
    throw new TimeoutError(`${primitive.constructor.name}.${method}: not acquired within ${options?.timeout} ms`);
  }
  try {
    return fn();
  } finally {
    primitive.release();
  }
}
