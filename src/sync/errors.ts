/** The errors of the synchronisation primitives (Python's threading and queue exceptions). */

/**
 * A thread or child process died while holding this lock (it was terminated, crashed, exited or killed). Whatever the
 * lock protected may be half-updated, so the lock is not handed on: every waiting and every
 * later `acquire` gets this error. Compare `BrokenBarrierError` and `BrokenProcessPool`.
 */
export class BrokenLockError extends Error {
  /** Always `'BrokenLockError'`, so the class survives a trip through a worker by name. */
  override name = 'BrokenLockError';
}

/** The barrier was broken (a party timed out, was aborted, or `abort()`/`reset()` was called). */
export class BrokenBarrierError extends Error {
  /** Always `'BrokenBarrierError'`, so the class survives a trip through a worker by name. */
  override name = 'BrokenBarrierError';
}

/** `getNowait()` on an empty queue (Python's `queue.Empty`). */
export class QueueEmpty extends Error {
  /** Always `'QueueEmpty'`, so the class survives a trip through a worker by name. */
  override name = 'QueueEmpty';
}

/** `putNowait()` on a full queue (Python's `queue.Full`). */
export class QueueFull extends Error {
  /** Always `'QueueFull'`, so the class survives a trip through a worker by name. */
  override name = 'QueueFull';
}

/** `put` after `shutdown()`, or `get` on a shut-down queue once it is empty (Python 3.13's `queue.ShutDown`). */
export class QueueShutDown extends Error {
  /** Always `'QueueShutDown'`, so the class survives a trip through a worker by name. */
  override name = 'QueueShutDown';
}
