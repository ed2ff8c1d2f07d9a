/**
 * A consumer loop's sleep: `asCompleted` and `map` wait for the next finished future this way,
 * until a done callback calls `wake()` or a deadline passes.
 */
export class Wakeup {
  private resolve: ((woken: boolean) => void) | undefined;

  /**
   * Resolves true at the next `wake()`, or false once `deadline` (a `performance.now()` time)
   * has passed; at once with false if it already has. No deadline: waits for `wake()` only.
   */
  sleepUntil(deadline: number | undefined): Promise<boolean> {
    const remaining = deadline === undefined ? undefined : deadline - performance.now();
    if (remaining !== undefined && remaining <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = remaining === undefined ? undefined : setTimeout(() => this.settle(false), remaining);
      this.resolve = (woken) => {
        clearTimeout(timer);
        resolve(woken);
      };
    });
  }

  wake(): void {
    this.settle(true);
  }

  private settle(woken: boolean): void {
    const resolve = this.resolve;
    this.resolve = undefined;
    resolve?.(woken);
  }
}
