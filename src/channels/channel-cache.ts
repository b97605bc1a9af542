import type { App } from '../apps/app-registry.js';
import type { CachedEvent, CacheLimits, ClusterStore } from '../cluster/cluster-store.js';
import { type Logger, throttledLog } from '../log.js';
import { encodeFrame } from '../protocol/codec.js';
import { type ChannelName, ServerEvents, topicOf } from '../protocol/frames.js';
import type { ChannelIndex } from './channel-index.js';
import type { Subscriber } from './fan-out.js';

/** What the app's webhooks (src/webhooks/) take from cache channels. */
export interface CacheMissWebhooks {
  /** Whether some webhook of the app takes cache_miss on this channel. */
  wantsCacheMiss(appId: string, channel: ChannelName): boolean;
  cacheMiss(appId: string, channel: ChannelName): void;
}

/** Reads of the cache waiting for the store, per channel, and the cached events delivered there meanwhile. */
interface Waiting {
  reads: number;
  delivered: number;
}

/**
 * Cache channels (Pusher's `cache-`, `private-cache-`, `private-encrypted-cache-`, `presence-cache-`): the last
 * server event of each, kept for the whole cluster in the store for the app's cacheTtlMs, is sent to each new
 * subscriber right after its subscription_succeeded. A channel without one sends `<prefix>:cache_miss` instead,
 * and the app a cache_miss webhook, once per channel until it has an event again (decided in the store, so once
 * per cluster). Client events and broadcasts are not cached, as in Pusher.
 *
 * Order: a subscriber joins the channel before its read, so it misses no live event. A cached event delivered on
 * the channel here between the join and the store's answer is at least as new as the answer, which is then
 * dropped: a subscriber may get an event twice (from the cache and live), never an older one after a newer one.
 * Deliveries are counted only on channels with a read waiting, and only for cached events, so publishes elsewhere
 * cost one size check.
 */
export class ChannelCache {
  private readonly waiting = new Map<string, Waiting>();
  private readonly logWriteFailed: (fields: Record<string, unknown>) => void;
  private readonly logReadFailed: (fields: Record<string, unknown>) => void;

  constructor(
    private readonly store: ClusterStore,
    private readonly index: ChannelIndex,
    log: Logger,
    private readonly webhooks?: CacheMissWebhooks,
  ) {
    this.logWriteFailed = throttledLog(log, 'warn', 'cache channel event not stored');
    this.logReadFailed = throttledLog(log, 'warn', 'cache channel event not read; cache_miss sent instead');
  }

  /** Keeps `frame`, a server event on a cache channel, as the channel's last event. Never waits. */
  keep(app: App, channel: ChannelName, frame: string): void {
    this.store.cacheEvent(app.id, channel, frame, limitsOf(app)).catch((error: unknown) => this.logWriteFailed({ appId: app.id, channel, error: String(error) }));
  }

  /** A cached event was delivered on the channel here (from this node or another). */
  delivered(appId: string, channel: ChannelName): void {
    if (this.waiting.size === 0) return;
    const waiting = this.waiting.get(topicOf(appId, channel));
    if (waiting) waiting.delivered++;
  }

  /**
   * Sends `subscriber`, which has just joined the channel, its cached event or cache_miss, once `after` has settled
   * (a presence channel's roster is sent first) and only while it is still a member.
   */
  replay(app: App, channel: ChannelName, subscriber: Subscriber, after?: Promise<unknown>): void {
    const topic = topicOf(app.id, channel);
    let waiting = this.waiting.get(topic);
    if (!waiting) this.waiting.set(topic, (waiting = { reads: 0, delivered: 0 }));
    waiting.reads++;
    const since = waiting.delivered;
    const noteMiss = this.webhooks?.wantsCacheMiss(app.id, channel) ?? false;
    const read = this.store.cachedEvent(app.id, channel, limitsOf(app), noteMiss).catch((error: unknown): CachedEvent => {
      this.logReadFailed({ appId: app.id, channel, error: String(error) });
      return { isFirstMiss: false };
    });
    void Promise.all([read, after?.catch(() => undefined)]).then(([cached]) => {
      const isSuperseded = (waiting as Waiting).delivered !== since;
      if (--(waiting as Waiting).reads === 0) this.waiting.delete(topic);
      if (cached.isFirstMiss) this.webhooks?.cacheMiss(app.id, channel);
      if (isSuperseded || !this.index.members(app.id, channel).has(subscriber)) return;
      subscriber.connection.send(cached.frame ?? encodeFrame(ServerEvents[subscriber.dialect].cacheMiss, undefined, channel));
    });
  }
}

function limitsOf(app: App): CacheLimits {
  return { ttlMs: app.cacheTtlMs, maxChannels: app.maxCachedChannels };
}
