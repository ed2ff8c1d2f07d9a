/** The errors of the distributed tier. */

/**
 * Redis could not be reached: a task could not be handed to it within `connectTimeout`, or a
 * result could not come back from it. `url` is the Redis address, its password masked.
 */
export class ConnectionError extends Error {
  /** `'ConnectionError'`, so that `error.name` and stack traces say which error this is. */
  override name = 'ConnectionError';
  /** The Redis address, as `redis://user:***@host:port/db` (never the password). */
  readonly url: string;

  constructor(message: string, url: string, options?: ErrorOptions) {
    super(message, options);
    this.url = url;
  }
}

/** A task that could not be handed to Redis at `url` within `ms` (connectTimeout), for `reason`. */
export function notSentError(url: string, ms: number, reason: string, cause: unknown): ConnectionError {
  return new ConnectionError(
    `cannot reach Redis at ${url} within ${ms} ms (connectTimeout): ${reason}. The task was not sent ` +
      'and will not run; check that Redis is running there and that the URL is right, or give it more ' +
      'time with connectTimeout',
    url,
    { cause },
  );
}

/** A task in Redis whose result shutdown() stopped waiting for, Redis having been away for `ms`. */
export function resultLostError(url: string, ms: number, reason: string, cause: unknown): ConnectionError {
  return new ConnectionError(
    `lost Redis at ${url}: it has not answered for ${ms} ms (connectTimeout) while shutdown() waited ` +
      `for this task's result (${reason}). The task was sent, so it may still run on a worker, but its ` +
      'result cannot reach this client',
    url,
    { cause },
  );
}
