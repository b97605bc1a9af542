import { setTimeout as sleep } from 'node:timers/promises';
import { type Job, Queue, Worker } from 'bullmq';
import type { App } from '../apps/app-registry.js';
import { redisClient, redisTarget } from '../cluster/redis-connection.js';
import { webhooksPrefix } from '../cluster/redis-names.js';
import { type Logger, throttledLog } from '../log.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { Delivery } from './delivery.js';
import { type AttemptObserver, CONCURRENT_DELIVERIES, type DeliveryQueue, DeliveryOutcomes, type WebhookStats } from './delivery-queue.js';
import { retryDelayMs } from './retry-policy.js';
import type { WebhookSettings } from './webhooks.js';

/** More than the retry window ever allows: it ends the attempts (doubling from 1 ms passes a day after 27). */
const MAX_ATTEMPTS = 64;
/** Times a delivery may be taken back from nodes that stopped renewing its lock (died mid-attempt) before it fails. */
const MAX_STALLS = 10;
/** Deliveries written to Redis in one step. */
const WRITE_BATCH = 100;
/** BullMQ's name for the one custom backoff strategy: retry-policy.ts. */
const BACKOFF = 'webhook-retry-policy';

interface AppQueue {
  readonly app: App;
  readonly queue: Queue<Delivery>;
  readonly worker: Worker<Delivery>;
  /** On a Redis Cluster, the clients handed to BullMQ, which leaves closing them to their owner. */
  readonly clients: ReadonlyArray<{ disconnect(): void }>;
  /** Deliveries not yet written to Redis (it is slow or away); at most webhookMaxQueued. */
  readonly unwritten: Delivery[];
  writing: Promise<void> | undefined;
}

/**
 * A cluster's deliveries, in the cluster's Redis: one BullMQ queue per app (BullMQ is the field's standard
 * Redis job queue: atomic moves between waiting, active and delayed, retries with a custom backoff, and
 * locks that a worker renews while it works). Every node of the cluster works every app's queue, so a
 * delivery queued on a node that then dies is still attempted: a waiting or delayed one by whichever node
 * takes it next, one in flight once its lock (redisNodeTimeoutMs) expires and another node's stalled check
 * (every redisNodeTimeoutMs) puts it back. Keys: `<redisPrefix>:{webhooks}:<app id>:*`, all in one slot of a
 * Redis Cluster as BullMQ's scripts need (its advice: a hash tag in the prefix).
 *
 * Writing to Redis happens off the caller's path, from a bounded buffer per app: while Redis is slow or away,
 * up to webhookMaxQueued deliveries wait in memory, and more are dropped and counted.
 */
export class RedisDeliveryQueue implements DeliveryQueue {
  private readonly apps = new Map<string, AppQueue>();
  private readonly outcomes: DeliveryOutcomes;
  private readonly logRedisError: (fields: Record<string, unknown>) => void;
  private closed = false;
  /** Set once a queue has reached Redis: before that, a failure is the startup error's to report, in one line. */
  private connected = false;

  /**
   * Opens each app's queue and worker; they connect in the background (the node's join, which has a deadline
   * and a clear error, is what finds out whether Redis answers). Until they have, deliveries wait in the buffer.
   */
  constructor(
    private readonly settings: WebhookSettings,
    apps: readonly App[],
    log: Logger,
    metrics: GatewayMetrics,
    observe?: AttemptObserver,
  ) {
    this.outcomes = new DeliveryOutcomes(log, metrics, observe);
    this.logRedisError = throttledLog(log, 'warn', 'webhook queue: redis error');
    for (const app of apps) this.open(app);
  }

  private open(app: App): void {
    const { redis: url, redisPrefix, redisNodeTimeoutMs: nodeTimeoutMs, redisCommandTimeoutMs: commandTimeoutMs } = this.settings;
    const prefix = webhooksPrefix(redisPrefix);
    // Writes fail fast while Redis is away (they are retried from the buffer); the worker's connection waits.
    const queueOptions = { enableOfflineQueue: false, commandTimeout: commandTimeoutMs };
    // A Redis Cluster takes ioredis' cluster client, made here (BullMQ takes a standalone server's options).
    const clients = this.settings.redisCluster ? [redisClient(redisTarget(this.settings), queueOptions), redisClient(redisTarget(this.settings), { maxRetriesPerRequest: null })] : [];
    const [queueClient, workerClient] = clients;
    const queue = new Queue<Delivery>(app.id, { connection: queueClient ?? { url, ...queueOptions }, prefix });
    const worker = new Worker<Delivery>(app.id, (job) => this.attempt(app, job), {
      connection: workerClient ?? { url },
      prefix,
      concurrency: CONCURRENT_DELIVERIES,
      lockDuration: nodeTimeoutMs,
      stalledInterval: nodeTimeoutMs,
      maxStalledCount: MAX_STALLS,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 0 },
      settings: { backoffStrategy: (failures, _type, _error, job) => retryDelayMs(failures, (job?.data as Delivery).createdAtMs, Date.now(), app) ?? -1 },
    });
    worker.on('failed', (job, error) => {
      if (job?.finishedOn !== undefined) this.outcomes.gaveUp(app, job.data, error.message);
    });
    void queue.waitUntilReady().then(
      () => (this.connected = true),
      () => {},
    );
    const logError = (error: Error) => this.closed || !this.connected || this.logRedisError({ appId: app.id, error: error.message });
    queue.on('error', logError);
    worker.on('error', logError);
    this.apps.set(app.id, { app, queue, worker, clients, unwritten: [], writing: undefined });
  }

  add(app: App, delivery: Delivery): void {
    const queue = this.apps.get(app.id);
    if (!queue || this.closed || queue.unwritten.length >= app.webhookMaxQueued) return this.outcomes.overflow(app, delivery);
    queue.unwritten.push(delivery);
    queue.writing ??= this.write(queue).finally(() => (queue.writing = undefined));
  }

  stats(): WebhookStats {
    let queued = 0;
    for (const { unwritten } of this.apps.values()) queued += unwritten.length;
    const { delivered, dropped, failed } = this.outcomes;
    return { queued, delivered, dropped, failed };
  }

  queuedByApp(): ReadonlyMap<string, number> {
    return new Map([...this.apps].map(([appId, { unwritten }]) => [appId, unwritten.length]));
  }

  /** Writes what waits in memory within `withinMs`, then stops working; what is in Redis stays for the others. */
  async close(withinMs: number): Promise<void> {
    this.closed = true;
    const writes = [...this.apps.values()].map(({ writing }) => writing);
    await Promise.race([Promise.all(writes), sleep(withinMs)]);
    // In-flight attempts are not waited for: their locks lapse and another node makes them again.
    await Promise.all([...this.apps.values()].map(({ worker, queue }) => Promise.all([worker.close(true), queue.close()]).catch(() => {})));
    for (const { clients } of this.apps.values()) for (const client of clients) client.disconnect();
  }

  /**
   * Moves the buffer into Redis, each step checking the app's bound: the deliveries waiting, delayed or in
   * flight in Redis (every node's) plus these must not pass webhookMaxQueued; the excess is dropped. Several
   * nodes writing at once may pass it by what each writes in one step.
   */
  private async write(queue: AppQueue): Promise<void> {
    const { app, unwritten } = queue;
    while (unwritten.length > 0) {
      const step = unwritten.splice(0, WRITE_BATCH);
      try {
        const held = await queue.queue.getJobCountByTypes('wait', 'delayed', 'active', 'prioritized');
        const room = Math.max(0, app.webhookMaxQueued - held);
        for (const delivery of step.slice(room)) this.outcomes.overflow(app, delivery);
        const jobs = step.slice(0, room).map((delivery) => ({ name: 'webhook', data: delivery, opts: { jobId: delivery.id, attempts: MAX_ATTEMPTS, backoff: { type: BACKOFF } } }));
        if (jobs.length > 0) await queue.queue.addBulk(jobs);
      } catch (error) {
        this.logRedisError({ appId: app.id, error: String(error), unwritten: unwritten.length + step.length });
        unwritten.unshift(...step);
        for (const delivery of unwritten.splice(app.webhookMaxQueued)) this.outcomes.overflow(app, delivery);
        if (this.closed) return;
        await sleep(this.settings.redisCommandTimeoutMs);
      }
    }
  }

  private async attempt(app: App, job: Job<Delivery>): Promise<void> {
    const failure = await this.outcomes.attempt(app, job.data);
    if (failure !== undefined) throw new Error(failure);
  }
}
