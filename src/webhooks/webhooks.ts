import type { App, AppRegistry, WebhookEventName } from '../apps/app-registry.js';
import type { CacheMissWebhooks } from '../channels/channel-cache.js';
import type { MemberWebhooks } from '../channels/presence-channels.js';
import type { ClusterStore, Departure, MemberRef } from '../cluster/cluster-store.js';
import type { GatewayConfig } from '../config.js';
import type { Logger } from '../log.js';
import { type GatewayMetrics, NO_METRICS } from '../metrics/gateway-metrics.js';
import { DepartureTimers } from './departure-timers.js';
import type { AttemptObserver, DeliveryQueue, WebhookStats } from './delivery-queue.js';
import { MemoryDeliveryQueue } from './memory-delivery-queue.js';
import { WebhookRoutes } from './routes.js';
import { StoreDecisions } from './store-decisions.js';

const OCCUPANCY: readonly WebhookEventName[] = ['channel_occupied', 'channel_vacated'];
const MEMBERS: readonly WebhookEventName[] = ['member_added', 'member_removed'];
const CACHE_MISS: readonly WebhookEventName[] = ['cache_miss'];

export type WebhookSettings = Pick<GatewayConfig, 'redis' | 'redisCluster' | 'redisPrefix' | 'redisHeartbeatMs' | 'redisNodeTimeoutMs' | 'redisCommandTimeoutMs'>;

/**
 * One node's part in its apps' webhooks (D14). It hears what happens on the node (a channel's first and last
 * subscriber here, presence decisions, client events, a dead node's members) and turns it into events, exactly
 * once cluster-wide: whether a transition is the cluster's is decided by the cluster store in one atomic step,
 * and so is each grace period's end. The events go into per-URL batches, and the batches into the queue.
 *
 * Nothing here runs per publish or per recipient. A node whose apps have no webhooks has no Webhooks at all;
 * otherwise a subscribe costs a Map lookup, and only a channel's first and last subscriber on the node, of a
 * channel whose occupancy some webhook follows, asks the store.
 */
export class Webhooks implements MemberWebhooks, CacheMissWebhooks {
  private readonly routes: WebhookRoutes;
  private readonly decisions: StoreDecisions;
  private readonly departures: DepartureTimers;

  constructor(
    apps: Iterable<App>,
    private readonly store: ClusterStore,
    private readonly queue: DeliveryQueue,
    /** Other nodes share the store: they take what this node leaves pending, and it sweeps for theirs. */
    private readonly isClustered: boolean,
    /** How overdue a departure is before a sweep takes it from its node: one heartbeat. */
    private readonly lateMs: number,
    log: Logger,
    now: () => number = Date.now,
  ) {
    this.routes = new WebhookRoutes(apps, (app, delivery) => queue.add(app, delivery), now);
    this.decisions = new StoreDecisions(log);
    this.departures = new DepartureTimers(store, this.decisions, (departure) => this.departed(departure));
  }

  /**
   * The node's webhooks, or undefined when none of its apps has any. A node configured with Redis queues its
   * deliveries there (BullMQ, loaded only then); any other keeps them in memory.
   */
  static async create(
    settings: WebhookSettings,
    apps: AppRegistry,
    store: ClusterStore,
    isClustered: boolean,
    log: Logger,
    metrics: GatewayMetrics = NO_METRICS,
    observe?: AttemptObserver,
  ): Promise<Webhooks | undefined> {
    const withWebhooks = [...apps.all()].filter((app) => app.webhooks.length > 0);
    if (withWebhooks.length === 0) return undefined;
    const queue = settings.redis
      ? new (await import('./redis-delivery-queue.js')).RedisDeliveryQueue(settings, withWebhooks, log, metrics, observe)
      : new MemoryDeliveryQueue(log, metrics, observe);
    return new Webhooks(withWebhooks, store, queue, isClustered, settings.redisHeartbeatMs, log);
  }

  /**
   * Takes the cluster's departures overdue by a heartbeat (their node died during the grace, or left them due
   * at once): called after each heartbeat that reached the store, right after it removed any dead node.
   */
  heartbeat(): void {
    if (this.isClustered) this.departures.sweep(this.routes.apps().map((app) => app.id), this.lateMs);
  }

  /** The channel's first subscriber on this node. */
  firstSubscriber(app: App, channel: string): void {
    if (!this.routes.wants(app.id, OCCUPANCY, channel)) return;
    this.departures.cancel({ kind: 'channel', appId: app.id, channel });
    this.occupy(app.id, channel);
  }

  /** The channel's last subscriber on this node left. */
  lastSubscriberLeft(app: App, channel: string): void {
    if (!this.routes.wants(app.id, OCCUPANCY, channel)) return;
    const { webhookGraceMs: graceMs } = app;
    const vacated = this.decisions.orAlone(this.store.vacate(app.id, channel, graceMs), true).then((isPending) => {
      if (isPending) this.departures.start({ kind: 'channel', appId: app.id, channel }, graceMs);
    });
    this.decisions.track(vacated);
  }

  clientEvent(app: App, channel: string, event: string, data: string, socketId: string, userId: string | undefined): void {
    this.routes.emit(app.id, userId === undefined ? { name: 'client_event', channel, event, data, socket_id: socketId } : { name: 'client_event', channel, event, data, socket_id: socketId, user_id: userId });
  }

  // CacheMissWebhooks: whether a miss is the first is decided in the store with the read (channel-cache.ts).

  wantsCacheMiss(appId: string, channel: string): boolean {
    return this.routes.wants(appId, CACHE_MISS, channel);
  }

  cacheMiss(appId: string, channel: string): void {
    this.routes.emit(appId, { name: 'cache_miss', channel });
  }

  // MemberWebhooks: presence's cluster-wide decisions.

  graceMs(appId: string, channel: string): number | undefined {
    return this.routes.wants(appId, MEMBERS, channel) ? this.routes.appOf(appId)?.webhookGraceMs : undefined;
  }

  memberAdded(appId: string, channel: string, userId: string): void {
    this.routes.emit(appId, { name: 'member_added', channel, user_id: userId });
  }

  memberLeaving(appId: string, channel: string, userId: string, graceMs: number): void {
    this.departures.start({ kind: 'member', appId, channel, userId }, graceMs);
  }

  /** Members that left the cluster with a dead node: member_removed at once (the node timeout was their grace). */
  membersDeparted(members: readonly MemberRef[]): void {
    for (const { appId, channel, userId } of members) this.routes.emit(appId, { name: 'member_removed', channel, user_id: userId });
  }

  /** Of this node's channels, those whose occupancy is followed: they go into its state in the store. */
  *followed(channels: Iterable<readonly [appId: string, channel: string, count: number]>): Generator<[appId: string, channel: string]> {
    for (const [appId, channel] of channels) if (this.routes.wants(appId, OCCUPANCY, channel)) yield [appId, channel];
  }

  /**
   * The store had lost this node (taken for dead) and has its state again: the others may have sent
   * channel_vacated and member_removed for what it holds, so each is asked for again, and is occupied or added
   * again where nobody else has it.
   */
  rejoined(channels: Iterable<readonly [appId: string, channel: string, count: number]>, members: Iterable<MemberRef & { readonly userInfo: unknown }>): void {
    for (const [appId, channel] of this.followed(channels)) this.occupy(appId, channel);
    for (const { appId, channel, userId, userInfo } of members) {
      if (this.graceMs(appId, channel) === undefined) continue;
      const added = this.decisions.orAlone(this.store.addMember(appId, channel, { userId, userInfo }, Number.MAX_SAFE_INTEGER, true), 'known').then((outcome) => {
        if (outcome === 'added') this.memberAdded(appId, channel, userId);
      });
      this.decisions.track(added);
    }
  }

  stats(): WebhookStats {
    return this.queue.stats();
  }

  /** Deliveries this node holds per app, for the webhook_queue_depth gauge. */
  queuedByApp(): ReadonlyMap<string, number> {
    return this.queue.queuedByApp();
  }

  /** Resolves once every question to the store under way has been answered and its events batched. */
  settled(): Promise<void> {
    return this.decisions.settled();
  }

  /**
   * Sends every batch to the queue and lets the queue go, within `withinMs`. On a single node the pending
   * departures are settled first (nobody else would); in a cluster they stay pending for the others.
   */
  async close(withinMs: number): Promise<void> {
    await this.departures.close(!this.isClustered);
    this.routes.flush();
    await this.queue.close(withinMs);
  }

  private occupy(appId: string, channel: string): void {
    const occupied = this.decisions.orAlone(this.store.occupy(appId, channel), 'occupied').then((outcome) => {
      if (outcome === 'occupied') this.routes.emit(appId, { name: 'channel_occupied', channel });
    });
    this.decisions.track(occupied);
  }

  private departed(departure: Departure): void {
    const { appId, channel } = departure;
    this.routes.emit(appId, departure.kind === 'channel' ? { name: 'channel_vacated', channel } : { name: 'member_removed', channel, user_id: departure.userId });
  }
}
