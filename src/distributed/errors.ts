/** The errors of the distributed tier. */

/**
 * Redis could not be reached: a task could not be handed to it within `connectTimeout`, or a
 * result could not come back from it. `url` is the Redis address, its password masked.
 */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
  /** The Redis address, as `redis://user:***@host:port/db` (never the password). */
  readonly url: string;

  constructor(message: string, url: string, options?: ErrorOptions) {
    super(message, options);
    this.url = url;
  }
}
