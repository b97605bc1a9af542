export interface SignInLimits {
  /** Failed sign-ins one address may make per window. */
  readonly perAddress: number;
  /** Failed sign-ins all addresses together may make per window. */
  readonly overall: number;
  readonly windowMs: number;
}

/** 10 failures a minute from one address, 100 from all: guessing a secret by trying is hopeless. */
export const SIGN_IN_LIMITS: SignInLimits = { perAddress: 10, overall: 100, windowMs: 60_000 };

interface Window {
  startMs: number;
  failures: number;
}

/**
 * Bounds failed console sign-ins (per address and overall, in fixed windows), so a secret cannot be
 * brute-forced through the console cheaply. Successful sign-ins cost nothing. Memory is bounded: an
 * address is kept only while its window runs, and at most `overall` addresses fail per window.
 * Behind a proxy every sign-in comes from the proxy's address; then the per-address limit is a second
 * overall one.
 */
export class SignInLimiter {
  private readonly byAddress = new Map<string, Window>();
  private readonly all: Window = { startMs: Number.NEGATIVE_INFINITY, failures: 0 };

  constructor(private readonly limits: SignInLimits = SIGN_IN_LIMITS) {}

  /** Seconds until `address` may try again, or 0 when it may try now. */
  retryAfterSeconds(address: string, nowMs: number): number {
    this.roll(this.all, nowMs);
    const own = this.byAddress.get(address);
    if (own) this.roll(own, nowMs);
    const blockedUntil = Math.max(
      this.all.failures >= this.limits.overall ? this.all.startMs + this.limits.windowMs : 0,
      own && own.failures >= this.limits.perAddress ? own.startMs + this.limits.windowMs : 0,
    );
    return blockedUntil > nowMs ? Math.ceil((blockedUntil - nowMs) / 1000) : 0;
  }

  /** A sign-in from `address` failed. */
  failed(address: string, nowMs: number): void {
    if (this.roll(this.all, nowMs)) this.forgetEnded(nowMs);
    this.all.failures++;
    let own = this.byAddress.get(address);
    if (!own) this.byAddress.set(address, (own = { startMs: nowMs, failures: 0 }));
    this.roll(own, nowMs);
    own.failures++;
  }

  /** Addresses being tracked (for tests: it must stay bounded). */
  get size(): number {
    return this.byAddress.size;
  }

  /** Starts a new window when the last one has ended; says whether it did. */
  private roll(window: Window, nowMs: number): boolean {
    if (nowMs - window.startMs < this.limits.windowMs) return false;
    window.startMs = nowMs;
    window.failures = 0;
    return true;
  }

  private forgetEnded(nowMs: number): void {
    for (const [address, window] of this.byAddress) if (nowMs - window.startMs >= this.limits.windowMs) this.byAddress.delete(address);
  }
}
