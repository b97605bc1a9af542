import { type ChannelName, topicOf } from '../protocol/frames.js';
import type { FanOut, Subscriber } from './fan-out.js';

const NO_MEMBERS: ReadonlySet<Subscriber> = new Set();

/** Result of a join: `first` means the channel had no members on this node before. */
export type JoinResult = 'first' | 'joined' | 'already';
/** Result of a leave: `last` means the channel has no members on this node now. */
export type LeaveResult = 'last' | 'left' | 'absent';

/**
 * The in-memory channel → subscriber index of this node, keyed per app. Membership changes are
 * synchronous and report the transitions that presence and cluster code need; delivery to this node's
 * subscribers goes through the FanOut, which sees every join and leave.
 */
export class ChannelIndex {
  private readonly byTopic = new Map<string, Set<Subscriber>>();

  constructor(
    private readonly fanOut: FanOut,
    /** Told every channel's new subscriber count (0 when it emptied), for the cluster's occupancy. */
    private readonly onCount: (appId: string, channel: ChannelName, subscribers: number) => void = () => {},
  ) {}

  join(appId: string, channel: ChannelName, subscriber: Subscriber): JoinResult {
    const topic = topicOf(appId, channel);
    const set = this.byTopic.get(topic);
    if (set?.has(subscriber)) return 'already';
    this.fanOut.join(topic, subscriber);
    if (set) {
      set.add(subscriber);
      this.onCount(appId, channel, set.size);
      return 'joined';
    }
    this.byTopic.set(topic, new Set([subscriber]));
    this.onCount(appId, channel, 1);
    return 'first';
  }

  leave(appId: string, channel: ChannelName, subscriber: Subscriber): LeaveResult {
    const topic = topicOf(appId, channel);
    const set = this.byTopic.get(topic);
    if (!set?.delete(subscriber)) return 'absent';
    this.fanOut.leave(topic, subscriber);
    this.onCount(appId, channel, set.size);
    if (set.size > 0) return 'left';
    this.byTopic.delete(topic);
    return 'last';
  }

  /** The channel's members on this node (an empty set when it has none). Do not modify. */
  members(appId: string, channel: ChannelName): ReadonlySet<Subscriber> {
    return this.byTopic.get(topicOf(appId, channel)) ?? NO_MEMBERS;
  }

  /** The app's occupied channels on this node, with their subscriber counts. */
  *channelsOf(appId: string): Generator<[channel: ChannelName, subscribers: number]> {
    const prefix = topicOf(appId, '');
    for (const [topic, set] of this.byTopic) if (topic.startsWith(prefix)) yield [topic.slice(prefix.length), set.size];
  }

  /** Every occupied channel of every app, with its subscriber count. */
  *counts(): Generator<[appId: string, channel: ChannelName, subscribers: number]> {
    for (const [topic, set] of this.byTopic) {
      const at = topic.indexOf(':');
      yield [topic.slice(0, at), topic.slice(at + 1), set.size];
    }
  }

  subscriberCount(appId: string, channel: ChannelName): number {
    return this.byTopic.get(topicOf(appId, channel))?.size ?? 0;
  }

  /** Number of channels with at least one member, over all apps. */
  channelCount(): number {
    return this.byTopic.size;
  }

  /**
   * Sends a frame to this node's members of the channel but `except`; returns how many members it has here.
   * `encode` runs once, and only when the channel has members: callers pass the encoder rather than the
   * frame so delivering to an empty channel costs a map lookup.
   */
  deliver(appId: string, channel: ChannelName, encode: () => string, except?: Subscriber): number {
    const topic = topicOf(appId, channel);
    const set = this.byTopic.get(topic);
    if (!set) return 0;
    this.fanOut.deliver(topic, set, encode(), except);
    return set.size;
  }
}
