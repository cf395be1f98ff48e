/**
 * Spaces queries to a source evenly: at most `queriesPerSecond` start per second, across every
 * caller sharing the limiter (the full-sync chunk readers of one task share one). Unset or 0 is
 * unlimited. The rate may change while readers wait; a waiting reader keeps the slot it was given.
 */
export class QueryRateLimiter {
  private intervalMs = 0;
  /** When the next query may start (ms since the epoch). */
  private nextAt = 0;

  constructor(
    queriesPerSecond?: number,
    private readonly now: () => number = Date.now,
  ) {
    this.setRate(queriesPerSecond);
  }

  /** Queries per second; undefined, 0 or not finite lifts the limit. */
  setRate(queriesPerSecond: number | undefined): void {
    const q = queriesPerSecond !== undefined && queriesPerSecond > 0 && Number.isFinite(queriesPerSecond) ? queriesPerSecond : 0;
    this.intervalMs = q === 0 ? 0 : 1000 / q;
  }

  get limited(): boolean {
    return this.intervalMs > 0;
  }

  /** Resolves when the caller may send its next query; undefined when it may at once. */
  acquire(): Promise<void> | undefined {
    if (this.intervalMs === 0) return undefined;
    const now = this.now();
    const at = Math.max(now, this.nextAt);
    this.nextAt = at + this.intervalMs;
    const wait = at - now;
    return wait <= 0 ? undefined : new Promise((resolve) => setTimeout(resolve, wait));
  }
}
