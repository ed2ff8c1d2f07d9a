/**
 * Progress for long runs (`compute`, `parallel`, `skein map`): a bar redrawn in place on a
 * terminal, a plain line every few seconds when stderr is a file or a pipe (CI logs), or a
 * callback for the caller's own display.
 *
 * No library: what is needed here is a carriage return, a rate and an ETA (~150 lines), plus two
 * rules a general-purpose bar package does not promise: its timers must never keep the process
 * alive, and `finish()` must always leave one final line (also in CI logs). A dependency for that
 * would cost more to vet and keep current than the code it saves.
 *
 * Every timer is unref'd, so a reporter that is never finished does not keep Node running.
 */

/** Where a run stands. `total` is undefined while it is unknown (an iterable input). */
export interface ProgressSnapshot {
  /** Items finished so far, failed ones included. */
  done: number;
  /** Items expected, or undefined while unknown. */
  total: number | undefined;
  /** Items that failed so far (counted in `done` too). */
  failed: number;
  /** ms since the reporter was created. */
  elapsedMs: number;
}

/** `true`: draw on stderr; a function: receive snapshots; `false`/undefined: nothing. */
export type ProgressOption = boolean | ((p: ProgressSnapshot) => void);

/** Options of `new ProgressReporter(...)`. */
export interface ProgressReporterOptions {
  /** What is counted, shown first on the line (`compute`, `parallel`, `map`). */
  label: string;
  /** Items expected, if known; `setTotal` can give it later. */
  total?: number;
  /** Where to draw. Default `process.stderr`. A TTY gets a bar, anything else a line every `intervalMs`. */
  stream?: NodeJS.WritableStream & {
    /** True for a terminal: the bar is redrawn in place; otherwise a line every `intervalMs`. */
    isTTY?: boolean;
  };
  /** ms between lines when the stream is not a TTY. Default 5000. */
  intervalMs?: number;
  /** Called with a snapshot on ticks (at most every `CALLBACK_INTERVAL_MS`), and once on `finish()`. */
  callback?: (p: ProgressSnapshot) => void;
}

/** A TTY bar is redrawn at most this often (10 per second): drawing costs more than counting. */
const TTY_INTERVAL_MS = 100;
/** A callback hears at most this often, and always at the end. */
const CALLBACK_INTERVAL_MS = 100;
const BAR_WIDTH = 24;

/**
 * Counts finished items (`tick`) and shows them: a bar on a TTY, a line every `intervalMs`
 * otherwise, and/or a callback; `finish()` stops its timer and leaves one final line.
 */
export class ProgressReporter {
  private readonly label: string;
  private readonly stream: (NodeJS.WritableStream & { isTTY?: boolean }) | undefined;
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly callback: ((p: ProgressSnapshot) => void) | undefined;
  private readonly started = performance.now();
  private total: number | undefined;
  private done = 0;
  private failed = 0;
  private lastDraw = 0;
  private lastCallback = 0;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(options: ProgressReporterOptions) {
    if (options.total !== undefined) checkCount('total', options.total);
    if (options.intervalMs !== undefined && !(options.intervalMs > 0)) {
      throw new RangeError(`intervalMs must be a number of milliseconds > 0, got ${String(options.intervalMs)}`);
    }
    this.label = options.label;
    this.total = options.total;
    this.callback = options.callback;
    // A callback alone draws nothing; a stream (given, or stderr by default without a callback) does.
    this.stream = options.stream ?? (options.callback ? undefined : process.stderr);
    this.tty = this.stream?.isTTY === true;
    this.intervalMs = options.intervalMs ?? 5000;
    if (this.stream && !this.tty) {
      // The line is printed by a timer, not by ticks: a run whose items take minutes each still
      // says it is alive every few seconds.
      this.timer = setInterval(() => this.writeLine(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** The number of items, once known (after reading an iterable to its end, for instance). */
  setTotal(total: number): void {
    checkCount('total', total);
    this.total = total;
  }

  /** Counts `done` more items finished (default 1), of which `failed` failed (default 0). */
  tick(done = 1, failed = 0): void {
    if (this.finished) return;
    this.done += done;
    this.failed += failed;
    const now = performance.now();
    if (this.callback && now - this.lastCallback >= CALLBACK_INTERVAL_MS) {
      this.lastCallback = now;
      this.callback(this.snapshot(now));
    }
    if (this.tty && now - this.lastDraw >= TTY_INTERVAL_MS) {
      this.lastDraw = now;
      this.stream?.write(`\r${this.render(now)}\x1b[K`);
    }
  }

  /** What the counters say now. */
  snapshot(now = performance.now()): ProgressSnapshot {
    return { done: this.done, total: this.total, failed: this.failed, elapsedMs: now - this.started };
  }

  /** Prints the final line (or calls the callback a last time) and stops the timer. Idempotent. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const now = performance.now();
    this.callback?.(this.snapshot(now));
    if (this.stream) this.stream.write(`${this.tty ? '\r' : ''}${this.render(now)}${this.tty ? '\x1b[K' : ''}\n`);
  }

  private writeLine(): void {
    this.stream?.write(`${this.render(performance.now())}\n`);
  }

  /** `label [#####.....] 512/1,000 (51%) 2 failed 1,234/s ETA 0:01 elapsed 0:00` */
  private render(now: number): string {
    const elapsed = (now - this.started) / 1000;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    const parts = [this.label];
    if (this.total !== undefined && this.total > 0) {
      const fraction = Math.min(1, this.done / this.total);
      if (this.tty) {
        const filled = Math.round(fraction * BAR_WIDTH);
        parts.push(`[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`);
      }
      parts.push(`${count(this.done)}/${count(this.total)} (${Math.floor(fraction * 100)}%)`);
    } else {
      parts.push(`${count(this.done)} done`);
    }
    if (this.failed > 0) parts.push(`${count(this.failed)} failed`);
    parts.push(`${rate >= 10 ? count(Math.round(rate)) : rate.toFixed(1)}/s`);
    if (this.total !== undefined && rate > 0 && this.done < this.total && !this.finished) {
      parts.push(`ETA ${clock((this.total - this.done) / rate)}`);
    }
    parts.push(`elapsed ${clock(elapsed)}`);
    return parts.join(' ');
  }
}

function checkCount(name: string, value: number): void {
  if (!(Number.isInteger(value) && value >= 0)) throw new RangeError(`${name} must be an integer >= 0, got ${value}`);
}

function count(n: number): string {
  return n.toLocaleString('en');
}

/** Seconds as `m:ss`, or `h:mm:ss` from an hour up. */
function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * The reporter a `progress` option asks for: `true` draws on stderr, a function receives the
 * snapshots, `false` or undefined gives no reporter (the caller then counts nothing).
 */
export function progressReporter(
  option: ProgressOption | undefined,
  label: string,
  total?: number,
): ProgressReporter | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return new ProgressReporter({ label, ...(total === undefined ? {} : { total }) });
  if (typeof option === 'function') {
    return new ProgressReporter({ label, callback: option, ...(total === undefined ? {} : { total }) });
  }
  throw new TypeError(
    `progress must be true, false or a function receiving { done, total, failed, elapsedMs }, got ${typeof option}`,
  );
}
