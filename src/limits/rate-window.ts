export const ONE_SECOND_MS = 1000;

/**
 * A fixed-window rate limit: at most `limit` takes per `windowMs`. Two numbers of state, no timers, no
 * promises, so it costs nothing per connection while idle and a few comparisons per check. The limit is
 * given at construction, or with each take when it changes (a node's share of a cluster-wide limit).
 */
export class RateWindow {
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private used = 0;

  constructor(
    private readonly windowMs: number,
    private readonly fixedLimit = Number.POSITIVE_INFINITY,
  ) {}

  /** Takes `cost` if all of it fits in the current window's `limit`; takes nothing otherwise. */
  take(nowMs: number, limit = this.fixedLimit, cost = 1): boolean {
    this.roll(nowMs);
    if (this.used + cost > limit) return false;
    this.used += cost;
    return true;
  }

  /** What the current window has left. */
  remaining(nowMs: number, limit = this.fixedLimit): number {
    this.roll(nowMs);
    return Math.max(0, limit - this.used);
  }

  /** Milliseconds until the next window starts. */
  msToNext(nowMs: number): number {
    return Math.max(0, this.windowStartMs + this.windowMs - nowMs);
  }

  private roll(nowMs: number): void {
    if (nowMs - this.windowStartMs < this.windowMs) return;
    this.windowStartMs = nowMs;
    this.used = 0;
  }
}
