import type { App } from '../apps/app-registry.js';
import { type Logger, throttledLog } from '../log.js';
import { performance } from 'node:perf_hooks';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { Delivery } from './delivery.js';
import { postDelivery } from './post-delivery.js';

/** What a node's webhook queue has done, for /health: counts since the node started. */
export interface WebhookStats {
  /** Deliveries this node holds: waiting, in flight or waiting for a retry (in a cluster, those not yet in Redis). */
  readonly queued: number;
  readonly delivered: number;
  /** Dropped because the app's queue held webhookMaxQueued deliveries already. */
  readonly dropped: number;
  /** Given up after webhookRetryForMs of failed attempts. */
  readonly failed: number;
}

/**
 * Where signed deliveries wait until a receiver takes them: in memory on a single node, in Redis (BullMQ) in
 * a cluster, so a delivery outlives the node that queued it. Both retry with retry-policy.ts, attempt with
 * post-delivery.ts, hold at most the app's webhookMaxQueued deliveries (more are dropped, counted and logged),
 * and never make their caller wait: `add` returns at once, whatever the receivers or Redis do.
 */
export interface DeliveryQueue {
  add(app: App, delivery: Delivery): void;
  stats(): WebhookStats;
  /** Deliveries this node holds, per app with webhooks (0 for those holding none). */
  queuedByApp(): ReadonlyMap<string, number>;
  /**
   * Stops taking deliveries and lets go. In memory, what is still queued is attempted once more within
   * `withinMs` and then lost; in Redis it stays queued for the other nodes.
   */
  close(withinMs: number): Promise<void>;
}

/** Deliveries of one app attempted at once, per node: a slow receiver holds this many requests open, no more. */
export const CONCURRENT_DELIVERIES = 8;

/** The attempts, the counters, their metrics and their log lines, shared by both queues. Repeated lines are throttled. */
export class DeliveryOutcomes {
  delivered = 0;
  dropped = 0;
  failed = 0;
  private readonly logDropped: (fields: Record<string, unknown>) => void;
  private readonly logFailed: (fields: Record<string, unknown>) => void;

  constructor(
    log: Logger,
    private readonly metrics: GatewayMetrics,
  ) {
    this.logDropped = throttledLog(log, 'warn', 'webhook queue full: delivery dropped (webhookMaxQueued)');
    this.logFailed = throttledLog(log, 'warn', 'webhook delivery given up (retried for webhookRetryForMs, or the node stopped)');
  }

  /** One attempt at a delivery, timed and counted: resolves to why it failed, or undefined when delivered. */
  async attempt(app: App, delivery: Delivery): Promise<string | undefined> {
    const startedAtMs = performance.now();
    const failure = await postDelivery(delivery, app.webhookTimeoutMs);
    const seconds = (performance.now() - startedAtMs) / 1000;
    if (failure === undefined) this.delivered++;
    this.metrics.webhook(app.id, failure === undefined ? 'delivered' : 'attempt_failed', seconds);
    return failure;
  }

  overflow(app: App, delivery: Delivery): void {
    this.dropped++;
    this.metrics.webhook(app.id, 'dropped');
    this.logDropped({ appId: app.id, url: delivery.url, webhookId: delivery.id, webhookMaxQueued: app.webhookMaxQueued, droppedSinceStart: this.dropped });
  }

  gaveUp(app: App, delivery: Delivery, why: string): void {
    this.failed++;
    this.metrics.webhook(app.id, 'failed');
    this.logFailed({ appId: app.id, url: delivery.url, webhookId: delivery.id, lastError: why, failedSinceStart: this.failed });
  }
}
