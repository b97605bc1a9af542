import type { App } from '../apps/app-registry.js';
import { type Logger, throttledLog } from '../log.js';
import { performance } from 'node:perf_hooks';
import type { GatewayMetrics, WebhookOutcome } from '../metrics/gateway-metrics.js';
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

/**
 * What became of a webhook request: an attempt `delivered` or `attempt_failed` (it will be retried), or the
 * request `failed` (given up) or `dropped` (the queue was full).
 */
export interface AttemptReport {
  readonly url: string;
  /** The Webhook-Id header: the same on every attempt of one request. */
  readonly webhookId: string;
  /** The names of the events it carries, in order. */
  readonly events: readonly string[];
  readonly outcome: WebhookOutcome;
  /** Why it was not delivered: an HTTP status, a timeout, a network error. */
  readonly detail?: string;
  /** How long the attempt took. */
  readonly ms?: number;
}

/** Told of every attempt and fate (the console's list of deliveries). */
export type AttemptObserver = (appId: string, report: AttemptReport) => void;

/**
 * The attempts, the counters, their metrics, their log lines and their observer, shared by both queues.
 * Repeated lines are throttled.
 */
export class DeliveryOutcomes {
  delivered = 0;
  dropped = 0;
  failed = 0;
  private readonly logDropped: (fields: Record<string, unknown>) => void;
  private readonly logFailed: (fields: Record<string, unknown>) => void;

  constructor(
    log: Logger,
    private readonly metrics: GatewayMetrics,
    private readonly observe?: AttemptObserver,
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
    const outcome = failure === undefined ? 'delivered' : 'attempt_failed';
    this.metrics.webhook(app.id, outcome, seconds);
    this.report(delivery, outcome, failure, Math.round(seconds * MS_PER_SECOND));
    return failure;
  }

  overflow(app: App, delivery: Delivery): void {
    this.dropped++;
    this.metrics.webhook(app.id, 'dropped');
    this.report(delivery, 'dropped', `the queue holds webhookMaxQueued (${app.webhookMaxQueued})`);
    this.logDropped({ appId: app.id, url: delivery.url, webhookId: delivery.id, webhookMaxQueued: app.webhookMaxQueued, droppedSinceStart: this.dropped });
  }

  gaveUp(app: App, delivery: Delivery, why: string): void {
    this.failed++;
    this.metrics.webhook(app.id, 'failed');
    this.report(delivery, 'failed', why);
    this.logFailed({ appId: app.id, url: delivery.url, webhookId: delivery.id, lastError: why, failedSinceStart: this.failed });
  }

  private report(delivery: Delivery, outcome: WebhookOutcome, detail: string | undefined, ms?: number): void {
    if (!this.observe) return;
    this.observe(delivery.appId, { url: delivery.url, webhookId: delivery.id, events: eventNamesOf(delivery), outcome, ...(detail === undefined ? {} : { detail }), ...(ms === undefined ? {} : { ms }) });
  }
}

const MS_PER_SECOND = 1000;

/** The event names a delivery carries, read back from its body (webhooks are not on the publish path). */
function eventNamesOf(delivery: Delivery): string[] {
  const { events } = JSON.parse(delivery.body) as { events: Array<{ name: string }> };
  return events.map((event) => event.name);
}
