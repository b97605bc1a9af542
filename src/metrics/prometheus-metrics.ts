import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GatewayMetrics, ObservedSources, RefusalSource, WebhookOutcome } from './gateway-metrics.js';

/** Publish-to-send is a synchronous hand-over to the sockets: tens of microseconds up to a slow event loop. */
const PUBLISH_BUCKETS_SECONDS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1];
/** REST answers and webhook deliveries: milliseconds up to the 4 s webhook timeout. */
const REQUEST_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The metrics the gateway exports, by name without the prefix. Those marked `soketi` have the same name,
 * type and `app_id` label as soketi's, so its dashboards work with `metricsPrefix: "soketi_"`
 * (docs/operations.md has the table). Every metric of the gateway is here; the Grafana dashboard's test reads it.
 */
export const METRIC_HELP = {
  connected: 'Open WebSocket connections (soketi)',
  new_connections_total: 'WebSocket connections admitted (soketi)',
  new_disconnections_total: 'WebSocket connections closed, by close code (soketi, plus the code label)',
  socket_received_bytes: 'Bytes of WebSocket messages received (soketi)',
  socket_transmitted_bytes: 'Bytes of WebSocket frames sent (soketi)',
  ws_messages_received_total: 'WebSocket messages received (soketi)',
  ws_messages_sent_total: 'WebSocket frames sent, one per recipient (soketi)',
  http_received_bytes: 'Bytes of REST request bodies received (soketi)',
  http_transmitted_bytes: 'Bytes of REST answers sent (soketi)',
  http_calls_received_total: 'REST requests received (soketi)',
  http_requests_total: 'REST requests answered, by route and status',
  http_request_duration_seconds: 'Time from a REST request to its answer, by route',
  publications_total: 'Publications delivered to this node\'s subscribers (one per publish, whatever the recipients)',
  publish_to_send_seconds: 'Time from the node taking a publication to its frames being handed to every local recipient',
  slow_consumer_evictions_total: 'Connections evicted as slow consumers (4101)',
  refusals_total: 'Refusals, by source (connect, subscribe, frame, rest) and reason (the error catalogue name)',
  rate_limited_total: 'Requests over one of the app\'s limits, by limit',
  broadcast_responses_total: 'Responses to broadcasts given on this node',
  webhook_deliveries_total: 'Webhook deliveries by outcome: attempts delivered or attempt_failed; deliveries failed (given up) or dropped (queue full)',
  webhook_delivery_duration_seconds: 'Time of a webhook delivery attempt',
  webhook_queue_depth: 'Webhook deliveries this node holds (waiting, in flight or waiting to retry)',
  cluster_messages_sent_total: 'Messages sent to the other nodes, by kind',
  cluster_messages_received_total: 'Messages received from the other nodes, by kind',
  cluster_store_up: 'Whether the cluster store (Redis) answered the last heartbeat (1) or not (0); 1 on a single node',
} as const;

type Name = keyof typeof METRIC_HELP;

/** A metric's children by label values, made once: prom-client hashes the labels on every `labels()` call. */
function children<T>(make: (...values: string[]) => T): (...values: string[]) => T {
  const made = new Map<string, T>();
  return (...values) => {
    const key = values.length === 1 ? (values[0] as string) : values.join('\u0000');
    let child = made.get(key);
    if (child === undefined) made.set(key, (child = make(...values)));
    return child;
  };
}

/** The gateway's metrics in a prom-client registry of its own (several gateways may share a process). */
export class PrometheusMetrics implements GatewayMetrics {
  readonly isOn = true;
  readonly nowMs = () => performance.now();
  readonly registry = new Registry();
  private sources: ObservedSources = {};
  private readonly connectedOf;
  private readonly newConnectionsOf;
  private readonly disconnectionsOf;
  private readonly bytesInOf;
  private readonly bytesOutOf;
  private readonly messagesInOf;
  private readonly messagesOutOf;
  private readonly httpBytesInOf;
  private readonly httpBytesOutOf;
  private readonly httpCallsOf;
  private readonly httpRequestsOf;
  private readonly httpDurationOf;
  private readonly publicationsOf;
  private readonly publishLatencyOf;
  private readonly evictionsOf;
  private readonly refusalsOf;
  private readonly rateLimitedOf;
  private readonly responsesOf;
  private readonly webhooksOf;
  private readonly webhookDurationOf;
  private readonly clusterSentOf;
  private readonly clusterReceivedOf;

  constructor(readonly prefix: string) {
    const registers = [this.registry];
    const name = (metric: Name) => ({ name: `${prefix}${metric}`, help: METRIC_HELP[metric], registers });
    const counter = (metric: Name, labelNames: string[]) => {
      const made = new Counter({ ...name(metric), labelNames });
      return children((...values: string[]) => made.labels(...values));
    };
    const histogram = (metric: Name, labelNames: string[], buckets: number[]) => {
      const made = new Histogram({ ...name(metric), labelNames, buckets });
      return children((...values: string[]) => made.labels(...values));
    };
    const connected = new Gauge({ ...name('connected'), labelNames: ['app_id'] });
    this.connectedOf = children((appId: string) => connected.labels(appId));
    this.newConnectionsOf = counter('new_connections_total', ['app_id']);
    this.disconnectionsOf = counter('new_disconnections_total', ['app_id', 'code']);
    this.bytesInOf = counter('socket_received_bytes', ['app_id']);
    this.bytesOutOf = counter('socket_transmitted_bytes', ['app_id']);
    this.messagesInOf = counter('ws_messages_received_total', ['app_id']);
    this.messagesOutOf = counter('ws_messages_sent_total', ['app_id']);
    this.httpBytesInOf = counter('http_received_bytes', ['app_id']);
    this.httpBytesOutOf = counter('http_transmitted_bytes', ['app_id']);
    this.httpCallsOf = counter('http_calls_received_total', ['app_id']);
    this.httpRequestsOf = counter('http_requests_total', ['app_id', 'route', 'status']);
    this.httpDurationOf = histogram('http_request_duration_seconds', ['app_id', 'route'], REQUEST_BUCKETS_SECONDS);
    this.publicationsOf = counter('publications_total', ['app_id']);
    this.publishLatencyOf = histogram('publish_to_send_seconds', ['app_id'], PUBLISH_BUCKETS_SECONDS);
    this.evictionsOf = counter('slow_consumer_evictions_total', ['app_id']);
    this.refusalsOf = counter('refusals_total', ['app_id', 'source', 'reason']);
    this.rateLimitedOf = counter('rate_limited_total', ['app_id', 'limit']);
    this.responsesOf = counter('broadcast_responses_total', ['app_id']);
    this.webhooksOf = counter('webhook_deliveries_total', ['app_id', 'outcome']);
    this.webhookDurationOf = histogram('webhook_delivery_duration_seconds', ['app_id'], REQUEST_BUCKETS_SECONDS);
    this.clusterSentOf = counter('cluster_messages_sent_total', ['app_id', 'kind']);
    this.clusterReceivedOf = counter('cluster_messages_received_total', ['app_id', 'kind']);
    const sources = () => this.sources;
    new Gauge({
      ...name('webhook_queue_depth'),
      labelNames: ['app_id'],
      collect() {
        // Apps whose queue emptied are set to 0 rather than removed: the gauge goes back to 0 when they go.
        for (const [appId, queued] of sources().webhooksQueued?.() ?? []) this.labels(appId).set(queued);
      },
    });
    new Gauge({
      ...name('cluster_store_up'),
      collect() {
        this.set(sources().clusterStoreUp?.() === false ? 0 : 1);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix });
  }

  connected(appId: string): void {
    this.connectedOf(appId).inc();
    this.newConnectionsOf(appId).inc();
  }

  disconnected(appId: string, closeCode: number): void {
    this.connectedOf(appId).dec();
    this.disconnectionsOf(appId, String(closeCode)).inc();
  }

  received(appId: string, bytes: number): void {
    this.messagesInOf(appId).inc();
    this.bytesInOf(appId).inc(bytes);
  }

  sent(appId: string, bytes: number): void {
    this.messagesOutOf(appId).inc();
    this.bytesOutOf(appId).inc(bytes);
  }

  delivered(appId: string, recipients: number, frameBytes: number, startedAtMs: number): void {
    this.publicationsOf(appId).inc();
    this.publishLatencyOf(appId).observe((performance.now() - startedAtMs) / 1000);
    if (recipients === 0) return;
    this.messagesOutOf(appId).inc(recipients);
    this.bytesOutOf(appId).inc(recipients * frameBytes);
  }

  evicted(appId: string): void {
    this.evictionsOf(appId).inc();
  }

  refused(appId: string, source: RefusalSource, reason: string): void {
    this.refusalsOf(appId, source, reason).inc();
  }

  rateLimited(appId: string, limit: string): void {
    this.rateLimitedOf(appId, limit).inc();
  }

  broadcastResponse(appId: string): void {
    this.responsesOf(appId).inc();
  }

  httpRequest(appId: string, route: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void {
    this.httpCallsOf(appId).inc();
    this.httpRequestsOf(appId, route, String(status)).inc();
    this.httpDurationOf(appId, route).observe(seconds);
    this.httpBytesInOf(appId).inc(bytesIn);
    this.httpBytesOutOf(appId).inc(bytesOut);
  }

  webhook(appId: string, outcome: WebhookOutcome, seconds?: number): void {
    this.webhooksOf(appId, outcome).inc();
    if (seconds !== undefined) this.webhookDurationOf(appId).observe(seconds);
  }

  clusterSent(appId: string, kind: string): void {
    this.clusterSentOf(appId, kind).inc();
  }

  clusterReceived(appId: string, kind: string): void {
    this.clusterReceivedOf(appId, kind).inc();
  }

  observe(sources: ObservedSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** The exposition text of every metric, as /metrics answers it. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
