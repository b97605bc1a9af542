import type { App } from '../apps/app-registry.js';
import { ONE_SECOND_MS, RateWindow } from './rate-window.js';

/**
 * The per-app rate limits every node enforces on its own (D16), each named by its config key, which is also
 * what a refusal and the `rate_limited_total` metric call it.
 */
export const Limit = {
  BackendEvents: 'maxBackendEventsPerSecond',
  ReadRequests: 'maxReadRequestsPerSecond',
  Channels: 'maxChannels',
  ChannelsPerConnection: 'maxChannelsPerConnection',
  ClientEvents: 'maxClientEventsPerSecond',
  Connections: 'maxConnections',
} as const;
export type LimitName = (typeof Limit)[keyof typeof Limit];

/** A refusal: what the app's limit is, what is left of this node's share now, and when to try again. */
export interface OverLimit {
  readonly limit: LimitName;
  /** The app's limit over the whole cluster, as configured. */
  readonly appLimit: number;
  /** This node's share of it: what this node takes per second. */
  readonly share: number;
  /** What this node may still take in the current second. */
  readonly remaining: number;
  readonly retryAfterSeconds: number;
}

/**
 * The limits that are counted cluster-wide with no round trip per request: each node takes its share of the
 * app's limit, the limit divided by the live nodes (rounded up), as the last heartbeat counted them. The
 * combined rate is then within `nodes - 1` per second above the limit (the rounding) while the node count is
 * steady, and while it changes each node's share catches up at its next heartbeat. A client that sends to one
 * node only gets that node's share, not the whole limit: balancers spread clients, so the shares add up.
 *
 * Counted in fixed one-second windows (RateWindow: two numbers, no timer, no promise) rather than with
 * rate-limiter-flexible's RateLimiterMemory, whose `consume` returns a Promise on every check: the REST
 * publish path would then await one per request (bench/README.md has the measurement).
 */
export class AppLimits {
  private readonly windows = new Map<string, { events: RateWindow; reads: RateWindow }>();

  constructor(
    /** Live nodes in the cluster, this one included (ClusterNode.nodeCount). */
    private readonly nodeCount: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  /** This node's share of a cluster-wide limit. */
  share(limit: number): number {
    return Math.ceil(limit / Math.max(1, this.nodeCount()));
  }

  /** Takes `cost` backend events (an event to N channels costs N) from the app's budget: all or none. */
  takeBackendEvents(app: App, cost: number): OverLimit | undefined {
    return this.take(app, 'events', Limit.BackendEvents, app.maxBackendEventsPerSecond, cost);
  }

  /** Takes one REST read (channels, users, history) from the app's budget. */
  takeRead(app: App): OverLimit | undefined {
    return this.take(app, 'reads', Limit.ReadRequests, app.maxReadRequestsPerSecond, 1);
  }

  private take(app: App, which: 'events' | 'reads', limit: LimitName, appLimit: number, cost: number): OverLimit | undefined {
    let windows = this.windows.get(app.id);
    if (windows === undefined) {
      windows = { events: new RateWindow(ONE_SECOND_MS), reads: new RateWindow(ONE_SECOND_MS) };
      this.windows.set(app.id, windows);
    }
    const window = windows[which];
    const nowMs = this.now();
    const share = this.share(appLimit);
    if (window.take(nowMs, share, cost)) return undefined;
    return { limit, appLimit, share, remaining: window.remaining(nowMs, share), retryAfterSeconds: Math.max(1, Math.ceil(window.msToNext(nowMs) / ONE_SECOND_MS)) };
  }
}
