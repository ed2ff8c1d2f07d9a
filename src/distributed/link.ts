/**
 * Whether Redis answers, as one BullMQ connection sees it, and how to say that it does not.
 *
 * BullMQ's connections retry by themselves (ioredis reconnects after each failure, forever) and
 * report each attempt: 'ready' once connected, 'close' when the line is lost or an attempt
 * fails, 'error' with why. A RedisLink turns that stream into a state (`up`, and the last
 * reason it was not) that callers can wait on with a deadline: BullMQ itself waits without one.
 */

/** What a BullMQ backend (`queue.getBackend()`) emits about its connection(s). */
export interface ConnectionEvents {
  on(event: 'ready' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** Error codes of a network that does not reach Redis (as opposed to Redis refusing a command). */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** True when `error` says Redis could not be reached (refused, reset, timed out, no such host). */
export function isUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return (code !== undefined && UNREACHABLE_CODES.has(code)) || /Connection is closed|ECONNREFUSED/.test(error.message);
}

export class RedisLink {
  /** Connected now: the last event of the watched connection was 'ready'. */
  up = false;
  /** The latest error the connection reported: why it is not up, when it is not. */
  lastError: Error | undefined;
  private readonly wakers = new Set<() => void>();

  /** @param url where the connection goes, password masked (see describeConnection). */
  constructor(readonly url: string) {}

  watch(connection: ConnectionEvents): void {
    connection.on('ready', () => this.set(true));
    connection.on('close', () => this.set(false));
    connection.on('error', (error: Error) => {
      this.lastError = error;
    });
  }

  /** Why Redis does not answer, in words: the last error, or that nothing answered yet. */
  get reason(): string {
    return this.lastError?.message || 'no answer yet';
  }

  /**
   * Resolves at the next change of `up`, at the next wake(), or after `ms` (never, if
   * undefined), whichever comes first. Its timer is cleared as soon as it resolves.
   */
  changed(ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      this.wakers.add(wake);
      if (ms !== undefined) timer = setTimeout(wake, Math.max(0, ms));
    });
  }

  /**
   * Waits for `settled`, as long as Redis answers: resolves true once it has settled, false
   * once Redis has been away for `graceMs` (counted from when it went away, or from this call).
   */
  async settledUnlessAway(settled: Promise<unknown>, graceMs: number): Promise<boolean> {
    let done = false;
    const finish = () => {
      done = true;
      this.wake();
    };
    settled.then(finish, finish);
    let awaySince: number | undefined;
    while (!done) {
      if (this.up) awaySince = undefined;
      else awaySince ??= performance.now();
      const left = awaySince === undefined ? undefined : awaySince + graceMs - performance.now();
      if (left !== undefined && left <= 0) return false;
      await this.changed(left);
    }
    return true;
  }

  /** Resolves every changed() now: something else its waiters depend on has changed. */
  wake(): void {
    for (const wake of [...this.wakers]) wake();
  }

  private set(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    this.wake();
  }
}
