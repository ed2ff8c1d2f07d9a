/**
 * What a primitive asks before it lets a pool task take something: has the pool given up on it?
 *
 * When a task times out or is aborted, the pool settles its future at once but lets the task run
 * on for `abortGracePeriod`, then kills its worker. Anything the task takes in that window is
 * taken by code nobody waits for, and may be killed with it: a Lock would break, a Queue item
 * would be lost. So, from the moment the pool gives up (it stores the task's id in a shared word
 * *before* it settles the future), a task takes nothing more:
 *
 *   blocking wait:  take (CAS, permit) ─► stopped? ─► give it back (waking the next sleeper) ─► throw
 *   queue get:      [getters' lock] item? ─► stopped? ─► take [/lock]   (no other getter sees between them)
 *   async waiter:   the task's signal fails it; a grant that comes first asks stopped? and gives back
 *
 * Checking *after* the take is what makes it safe: a check before a lock-free take races with the
 * pool's store. A blocking wait cannot be woken by that store (Atomics.wait sleeps on the
 * primitive's word), so a task asleep in one stays asleep until the primitive changes or its
 * worker is killed; when it wakes it takes nothing.
 *
 * The pool's worker entry (src/pool/worker-entry.ts) publishes two functions on globalThis under
 * registered symbols, so that this module, whichever copy of skein a task imported, finds them;
 * outside a pool worker they do not exist and nothing is ever stopped.
 */
import { isMainThread } from 'node:worker_threads';
import { CancelledError } from '../futures/errors.js';

const STOPPED = Symbol.for('skein.taskStopped');
const CURRENT = Symbol.for('skein.currentTask');

type Slots = Record<symbol, unknown>;

/** True in a pool worker whose running task the pool has given up on (timeout, abort, shutdown timeout). */
export function taskStopped(): boolean {
  // Asked on every take, so it costs a call: the main thread runs no pool task, and a worker's
  // entry publishes the probe before any task (or this module) is loaded, once for its life.
  probe ??= isMainThread ? notStopped : (((globalThis as Slots)[STOPPED] as (() => boolean) | undefined) ?? notStopped);
  return probe();
}

const notStopped = (): boolean => false;
let probe: (() => boolean) | undefined;

/** The error a stopped task gets from a primitive; `what` says what it tried ("take a Lock"). */
export function stoppedError(what: string, cause?: unknown): CancelledError {
  return new CancelledError(
    `this task was stopped (timeout or abort): it may not ${what} any more. The pool has settled its ` +
      'future and will terminate its worker if it does not end within abortGracePeriod; end the task ' +
      '(check currentTask().signal) instead of waiting',
    cause === undefined ? undefined : { cause },
  );
}

/** Throws `stoppedError(what)` if the running task was stopped: for a wait about to start or sleep. */
export function assertNotStopped(what: string): void {
  if (taskStopped()) throw stoppedError(what);
}

/**
 * The signal of the task running in this pool worker (it aborts when the pool stops the task and
 * the worker hears of it), or undefined outside a pool task. An async wait listens to it so that
 * it fails at once, not when the worker is killed.
 */
export function runningTaskSignal(): AbortSignal | undefined {
  if (isMainThread) return undefined;
  const current = (globalThis as Slots)[CURRENT];
  if (typeof current !== 'function') return undefined;
  return (current as () => { signal: AbortSignal } | undefined)()?.signal;
}
