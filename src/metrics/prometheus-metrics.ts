import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { BucketCounts, registerHistogram } from './bucket-counts.js';
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

type Name = keyof typeof METRIC_HELP;

/**
 * One app's counts as plain numbers: what the hot paths (a publication, a frame, a connection, a REST
 * request, a cluster message) add to. prom-client reads them when scraped (each metric's `collect`), so an
 * update costs a Map lookup and an addition rather than prom-client's label hashing.
 */
class AppCounts {
  connected = 0;
  newConnections = 0;
  messagesIn = 0;
  bytesIn = 0;
  messagesOut = 0;
  bytesOut = 0;
  publications = 0;
  readonly publishLatency = new BucketCounts(PUBLISH_BUCKETS_SECONDS);
  httpCalls = 0;
  httpBytesIn = 0;
  httpBytesOut = 0;
  evictions = 0;
  responses = 0;
  readonly disconnections = new Map<number, number>();
  /** By route, then status. */
  readonly httpRequests = new Map<string, Map<number, number>>();
  readonly httpDurations = new Map<string, BucketCounts>();
  readonly clusterSent = new Map<string, number>();
  readonly clusterReceived = new Map<string, number>();
}

const add = <K>(map: Map<K, number>, key: K, by = 1): void => {
  map.set(key, (map.get(key) ?? 0) + by);
};

/** The AppCounts field each plain counter is read from. */
type CountField = 'newConnections' | 'messagesIn' | 'bytesIn' | 'messagesOut' | 'bytesOut' | 'publications' | 'httpCalls' | 'httpBytesIn' | 'httpBytesOut' | 'evictions' | 'responses';

/**
 * The gateway's metrics in a prom-client registry of its own (several gateways may share a process). The
 * frequent ones accumulate in AppCounts and reach prom-client when scraped; the rare ones (refusals, limits,
 * webhooks) are prom-client counters updated as they happen.
 */
export class PrometheusMetrics implements GatewayMetrics {
  readonly isOn = true;
  readonly nowMs = () => performance.now();
  readonly registry = new Registry();
  private sources: ObservedSources = {};
  private readonly apps = new Map<string, AppCounts>();
  private readonly refusalsOf;
  private readonly rateLimitedOf;
  private readonly webhooksOf;
  private readonly webhookDurationOf;

  constructor(readonly prefix: string) {
    const registers = [this.registry];
    const name = (metric: Name) => ({ name: `${prefix}${metric}`, help: METRIC_HELP[metric], registers });
    const apps = this.apps;
    /** A counter read from a field of every app's counts. */
    const plainCounter = (metric: Name, field: CountField) =>
      new Counter({
        ...name(metric),
        labelNames: ['app_id'],
        collect() {
          this.reset();
          for (const [appId, counts] of apps) this.labels(appId).inc(counts[field]);
        },
      });
    /** A counter read from a map of every app's counts, by one more label. */
    const mappedCounter = (metric: Name, label: string, read: (counts: AppCounts) => Map<string | number, number>) =>
      new Counter({
        ...name(metric),
        labelNames: ['app_id', label],
        collect() {
          this.reset();
          for (const [appId, counts] of apps) for (const [value, count] of read(counts)) this.labels(appId, String(value)).inc(count);
        },
      });
    const counter = (metric: Name, labelNames: string[]) => {
      const made = new Counter({ ...name(metric), labelNames });
      return children((...values: string[]) => made.labels(...values));
    };

    new Gauge({
      ...name('connected'),
      labelNames: ['app_id'],
      collect() {
        for (const [appId, counts] of apps) this.labels(appId).set(counts.connected);
      },
    });
    plainCounter('new_connections_total', 'newConnections');
    mappedCounter('new_disconnections_total', 'code', (counts) => counts.disconnections);
    plainCounter('socket_received_bytes', 'bytesIn');
    plainCounter('socket_transmitted_bytes', 'bytesOut');
    plainCounter('ws_messages_received_total', 'messagesIn');
    plainCounter('ws_messages_sent_total', 'messagesOut');
    plainCounter('http_received_bytes', 'httpBytesIn');
    plainCounter('http_transmitted_bytes', 'httpBytesOut');
    plainCounter('http_calls_received_total', 'httpCalls');
    new Counter({
      ...name('http_requests_total'),
      labelNames: ['app_id', 'route', 'status'],
      collect() {
        this.reset();
        for (const [appId, counts] of apps) for (const [route, byStatus] of counts.httpRequests) for (const [status, count] of byStatus) this.labels(appId, route, String(status)).inc(count);
      },
    });
    registerHistogram(this.registry, `${prefix}http_request_duration_seconds`, METRIC_HELP.http_request_duration_seconds, function* () {
      for (const [appId, counts] of apps) for (const [route, buckets] of counts.httpDurations) yield [{ app_id: appId, route }, buckets] as const;
    });
    plainCounter('publications_total', 'publications');
    registerHistogram(this.registry, `${prefix}publish_to_send_seconds`, METRIC_HELP.publish_to_send_seconds, function* () {
      for (const [appId, counts] of apps) yield [{ app_id: appId }, counts.publishLatency] as const;
    });
    plainCounter('slow_consumer_evictions_total', 'evictions');
    this.refusalsOf = counter('refusals_total', ['app_id', 'source', 'reason']);
    this.rateLimitedOf = counter('rate_limited_total', ['app_id', 'limit']);
    plainCounter('broadcast_responses_total', 'responses');
    this.webhooksOf = counter('webhook_deliveries_total', ['app_id', 'outcome']);
    const webhookDuration = new Histogram({ ...name('webhook_delivery_duration_seconds'), labelNames: ['app_id'], buckets: REQUEST_BUCKETS_SECONDS });
    this.webhookDurationOf = children((appId: string) => webhookDuration.labels(appId));
    mappedCounter('cluster_messages_sent_total', 'kind', (counts) => counts.clusterSent);
    mappedCounter('cluster_messages_received_total', 'kind', (counts) => counts.clusterReceived);
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

  /** The app's counts, made on its first event; apps are the configured ones, so this stays bounded. */
  private of(appId: string): AppCounts {
    let counts = this.apps.get(appId);
    if (counts === undefined) this.apps.set(appId, (counts = new AppCounts()));
    return counts;
  }

  connected(appId: string): void {
    const counts = this.of(appId);
    counts.connected++;
    counts.newConnections++;
  }

  disconnected(appId: string, closeCode: number): void {
    const counts = this.of(appId);
    counts.connected--;
    add(counts.disconnections, closeCode);
  }

  received(appId: string, bytes: number): void {
    const counts = this.of(appId);
    counts.messagesIn++;
    counts.bytesIn += bytes;
  }

  sent(appId: string, bytes: number): void {
    const counts = this.of(appId);
    counts.messagesOut++;
    counts.bytesOut += bytes;
  }

  delivered(appId: string, recipients: number, frameBytes: number, startedAtMs: number): void {
    const counts = this.of(appId);
    counts.publications++;
    counts.publishLatency.observe((performance.now() - startedAtMs) / 1000);
    counts.messagesOut += recipients;
    counts.bytesOut += recipients * frameBytes;
  }

  evicted(appId: string): void {
    this.of(appId).evictions++;
  }

  refused(appId: string, source: RefusalSource, reason: string): void {
    this.refusalsOf(appId, source, reason).inc();
  }

  rateLimited(appId: string, limit: string): void {
    this.rateLimitedOf(appId, limit).inc();
  }

  broadcastResponse(appId: string): void {
    this.of(appId).responses++;
  }

  httpRequest(appId: string, route: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void {
    const counts = this.of(appId);
    counts.httpCalls++;
    counts.httpBytesIn += bytesIn;
    counts.httpBytesOut += bytesOut;
    let byStatus = counts.httpRequests.get(route);
    if (byStatus === undefined) counts.httpRequests.set(route, (byStatus = new Map()));
    add(byStatus, status);
    let durations = counts.httpDurations.get(route);
    if (durations === undefined) counts.httpDurations.set(route, (durations = new BucketCounts(REQUEST_BUCKETS_SECONDS)));
    durations.observe(seconds);
  }

  webhook(appId: string, outcome: WebhookOutcome, seconds?: number): void {
    this.webhooksOf(appId, outcome).inc();
    if (seconds !== undefined) this.webhookDurationOf(appId).observe(seconds);
  }

  clusterSent(appId: string, kind: string): void {
    add(this.of(appId).clusterSent, kind);
  }

  clusterReceived(appId: string, kind: string): void {
    add(this.of(appId).clusterReceived, kind);
  }

  observe(sources: ObservedSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** The exposition text of every metric, as /metrics answers it. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
