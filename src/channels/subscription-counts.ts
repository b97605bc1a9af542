import type { App } from '../apps/app-registry.js';
import type { ClusterStore } from '../cluster/cluster-store.js';
import { type Logger, throttledLog } from '../log.js';
import { parseChannelId } from '../protocol/channel-id.js';
import { classifyChannel } from '../protocol/channel-type.js';
import { encodeFrame } from '../protocol/codec.js';
import { type ChannelName, type Dialect, ServerEvents, topicOf } from '../protocol/frames.js';
import type { ChannelIndex } from './channel-index.js';

/** One channel's count on this node: what was last sent, and the count under way. */
interface Counted {
  readonly app: App;
  readonly channel: ChannelName;
  readonly topic: string;
  /** The cluster-wide count last sent to this node's subscribers. */
  lastCount: number | undefined;
  lastSentMs: number;
  /** This node's count changed: the other nodes are to be told, once it is written to the store. */
  mustAnnounce: boolean;
  isDue: boolean;
  timer: NodeJS.Timeout | undefined;
  isCounting: boolean;
  /** Something changed while counting: count again after. */
  isStale: boolean;
}

/**
 * Subscription counts (Pusher's `pusher_internal:subscription_count`), for apps with subscriptionCount on: the
 * subscribers of a channel hear its subscriptions in the whole cluster when they change. Not on presence channels
 * (their members say it) nor on user channels.
 *
 * Each node tells its own subscribers. When a channel's subscriptions change here, this node writes its count to
 * the store, tells the other nodes (a `count` message) once it is written, and counts: its own subscribers from
 * memory plus the other nodes' from the store. A node told by another counts the same way. Every change is thus
 * followed, on every node, by a count read after it was written, so the last count each node sends is right. A
 * node that dies takes its subscribers out of the store's sums; the others count every channel again then.
 *
 * Throttled as Pusher does it: above the app's subscriptionCountThreshold, a channel's count goes out at most once
 * per subscriptionCountIntervalMs on each node, and the count after the last change always follows. A count is
 * encoded once per dialect and sent only when it differs from the last one sent. None of this is on the publish path.
 */
export class SubscriptionCounts {
  private readonly counted = new Map<string, Counted>();
  /** Counts to make on the next turn of the event loop, all at once. */
  private readonly due = new Set<Counted>();
  private readonly logFailed: (fields: Record<string, unknown>) => void;

  constructor(
    private readonly index: ChannelIndex,
    private readonly store: ClusterStore,
    /** Tells the other nodes that this node's count of the channel changed (and is in the store). */
    private readonly announce: (appId: string, channel: ChannelName) => void,
    log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.logFailed = throttledLog(log, 'warn', 'subscription count not read; it is sent after the next change');
  }

  /** Whether the app counts this channel's subscriptions. */
  static isCounted(app: App, channel: ChannelName): boolean {
    if (!app.subscriptionCount) return false;
    const type = classifyChannel(parseChannelId(channel)?.name ?? channel);
    return type !== 'presence' && type !== 'user';
  }

  /** The channel's subscriptions changed on this node (a counted channel). */
  changed(app: App, channel: ChannelName): void {
    const counted = this.countedOf(app, channel);
    counted.mustAnnounce = true;
    this.schedule(counted);
  }

  /** Another node's count of the channel changed. */
  heard(app: App, channel: ChannelName): void {
    if (this.index.subscriberCount(app.id, channel) > 0 && SubscriptionCounts.isCounted(app, channel)) this.schedule(this.countedOf(app, channel));
  }

  /** A node left the cluster: every counted channel with subscribers here is counted again. */
  recountAll(apps: Iterable<App>): void {
    for (const app of apps) {
      if (!app.subscriptionCount) continue;
      for (const [channel] of this.index.channelsOf(app.id)) if (SubscriptionCounts.isCounted(app, channel)) this.schedule(this.countedOf(app, channel));
    }
  }

  private countedOf(app: App, channel: ChannelName): Counted {
    const topic = topicOf(app.id, channel);
    let counted = this.counted.get(topic);
    if (!counted) {
      counted = { app, channel, topic, lastCount: undefined, lastSentMs: Number.NEGATIVE_INFINITY, mustAnnounce: false, isDue: false, timer: undefined, isCounting: false, isStale: false };
      this.counted.set(topic, counted);
    }
    return counted;
  }

  /** Counts now (on the next turn), or when the channel's interval has passed if it is over the threshold. */
  private schedule(counted: Counted): void {
    if (counted.isCounting) {
      counted.isStale = true;
      return;
    }
    if (counted.isDue || counted.timer) return;
    const { subscriptionCountThreshold: threshold, subscriptionCountIntervalMs: intervalMs } = counted.app;
    const size = counted.lastCount ?? this.index.subscriberCount(counted.app.id, counted.channel);
    const waitMs = size > threshold ? counted.lastSentMs + intervalMs - this.now() : 0;
    if (waitMs > 0) {
      counted.timer = setTimeout(() => {
        counted.timer = undefined;
        this.makeDue(counted);
      }, waitMs);
      counted.timer.unref();
      return;
    }
    this.makeDue(counted);
  }

  private makeDue(counted: Counted): void {
    counted.isDue = true;
    if (this.due.size === 0) setImmediate(() => this.countDue());
    this.due.add(counted);
  }

  private countDue(): void {
    for (const counted of this.due) {
      counted.isDue = false;
      void this.count(counted);
    }
    this.due.clear();
  }

  private async count(counted: Counted): Promise<void> {
    counted.isCounting = true;
    const { app, channel } = counted;
    try {
      if (counted.mustAnnounce) {
        counted.mustAnnounce = false;
        await this.store.subscriptionsWritten();
        this.announce(app.id, channel);
      }
      if (this.index.subscriberCount(app.id, channel) > 0) {
        const elsewhere = await this.store.otherSubscriptionCount(app.id, channel);
        this.send(counted, this.index.subscriberCount(app.id, channel) + elsewhere);
      }
    } catch (error) {
      this.logFailed({ appId: app.id, channel, error: String(error) });
    } finally {
      counted.isCounting = false;
      if (counted.isStale) {
        counted.isStale = false;
        this.schedule(counted);
      } else if (!counted.timer && !counted.isDue && this.index.subscriberCount(app.id, channel) === 0) {
        this.counted.delete(counted.topic);
      }
    }
  }

  /** Sends the count to this node's subscribers of the channel (and its console watchers), if it changed. */
  private send(counted: Counted, count: number): void {
    if (count === counted.lastCount) return;
    counted.lastCount = count;
    counted.lastSentMs = this.now();
    const { app, channel } = counted;
    const data = JSON.stringify({ subscription_count: count });
    const frames: Partial<Record<Dialect, string>> = {};
    const frameFor = (dialect: Dialect) => (frames[dialect] ??= encodeFrame(ServerEvents[dialect].subscriptionCount, data, channel));
    for (const member of this.index.members(app.id, channel)) member.connection.send(frameFor(member.dialect));
    this.index.tellWatchers(app.id, channel, () => frameFor('broadcastt'));
  }
}
