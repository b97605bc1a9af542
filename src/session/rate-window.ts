export const ONE_SECOND_MS = 1000;

/**
 * A fixed-window rate limit: at most `limit` takes per `windowMs`. Two numbers of state, no timers,
 * so it costs nothing per connection while idle.
 */
export class RateWindow {
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private used = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  take(nowMs: number): boolean {
    if (nowMs - this.windowStartMs >= this.windowMs) {
      this.windowStartMs = nowMs;
      this.used = 0;
    }
    if (this.used >= this.limit) return false;
    this.used++;
    return true;
  }
}
