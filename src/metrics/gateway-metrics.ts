/**
 * What the gateway counts (D15), as verbs the layers call where things happen. Every method is O(1): the
 * publish path calls `delivered` once per publication, never once per recipient. Two implementations:
 * NO_METRICS (metrics off: each call is an empty function) and PrometheusMetrics (prom-client).
 */
export interface GatewayMetrics {
  /** Whether anything is counted: callers skip reading clocks for latencies when not. */
  readonly isOn: boolean;
  /** A clock for latencies, in milliseconds (performance.now). */
  readonly nowMs: () => number;
  connected(appId: string): void;
  disconnected(appId: string, closeCode: number): void;
  /** A WebSocket message from a client. */
  received(appId: string, bytes: number): void;
  /** A frame sent to one connection alone (an answer, an error, a roster). */
  sent(appId: string, bytes: number): void;
  /**
   * A publication handed to this node's `recipients` subscribers of a channel, `frameBytes` each, taken by
   * the node at `startedAtMs` (nowMs): one call per publication, whatever the number of recipients.
   */
  delivered(appId: string, recipients: number, frameBytes: number, startedAtMs: number): void;
  /** A slow consumer evicted (4101). */
  evicted(appId: string): void;
  /** Something refused: a connection, a frame, a subscription or a REST request; `reason` is the catalogue name. */
  refused(appId: string, source: RefusalSource, reason: string): void;
  /** A request over one of the app's limits (limits/app-limits.ts names them). */
  rateLimited(appId: string, limit: string): void;
  /** A response to a broadcast, given on this node (WebSocket or REST). */
  broadcastResponse(appId: string): void;
  /** A REST request answered; `route` is its pattern (e.g. `POST events`), never its raw path. */
  httpRequest(appId: string, route: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void;
  /**
   * A webhook delivery's fate: an attempt `delivered` or `attempt_failed` (with its time), or the delivery
   * `failed` (given up after retrying) or `dropped` (the queue was full).
   */
  webhook(appId: string, outcome: WebhookOutcome, seconds?: number): void;
  /** A message to or from the other nodes; `kind` is the cluster message's kind. */
  clusterSent(appId: string, kind: string): void;
  clusterReceived(appId: string, kind: string): void;
  /** Values read when scraped: webhook deliveries queued per app, and whether the cluster store answers. */
  observe(sources: ObservedSources): void;
}

export type RefusalSource = 'connect' | 'subscribe' | 'frame' | 'rest';
export type WebhookOutcome = 'delivered' | 'attempt_failed' | 'failed' | 'dropped';

export interface ObservedSources {
  readonly webhooksQueued?: () => ReadonlyMap<string, number>;
  readonly clusterStoreUp?: () => boolean;
}

const nothing = (): void => {};

/** Metrics off: nothing is counted, and every call costs an empty function call. */
export const NO_METRICS: GatewayMetrics = {
  isOn: false,
  nowMs: () => 0,
  connected: nothing,
  disconnected: nothing,
  received: nothing,
  sent: nothing,
  delivered: nothing,
  evicted: nothing,
  refused: nothing,
  rateLimited: nothing,
  broadcastResponse: nothing,
  httpRequest: nothing,
  webhook: nothing,
  clusterSent: nothing,
  clusterReceived: nothing,
  observe: nothing,
};
