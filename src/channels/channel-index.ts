import type { StreamPosition } from '../cluster/history-store.js';
import { type ChannelName, topicOf } from '../protocol/frames.js';
import { type GatewayMetrics, NO_METRICS } from '../metrics/gateway-metrics.js';
import type { FanOut, Subscriber } from './fan-out.js';

const NO_MEMBERS: ReadonlySet<Subscriber> = new Set();

/** Result of a join: `first` means the channel had no members on this node before. */
export type JoinResult = 'first' | 'joined' | 'already';
/** Result of a leave: `last` means the channel has no members on this node now. */
export type LeaveResult = 'last' | 'left' | 'absent';

/**
 * Sees every frame delivered on a channel of this node without being one of its members: it is in no
 * subscription count, occupancy or presence roster, and the cluster store never hears of it (the debug
 * console's live log, docs/console.md).
 */
export interface Watcher {
  observe(frame: string): void;
}

/**
 * The in-memory channel → subscriber index of this node, keyed per app. Membership changes are
 * synchronous and report the transitions that presence and cluster code need; delivery to this node's
 * subscribers goes through the FanOut, which sees every join and leave.
 */
/** A channel's members on this node, and its uWS topic, made once when the channel gets its first member. */
interface ChannelEntry {
  readonly topic: string;
  readonly members: Set<Subscriber>;
}

export class ChannelIndex {
  /**
   * By app, then by channel: a publish looks the channel up by the name it was given, without first joining
   * app and channel into a topic string (a new string to hash on every publish).
   */
  private readonly byApp = new Map<string, Map<ChannelName, ChannelEntry>>();
  /** Kept apart from the members: nothing that counts subscribers ever reads it. Empty unless a console watches. */
  private readonly watchers = new Map<string, Set<Watcher>>();
  /**
   * Members that joined held: counted like the others, but not yet given the channel's frames by the FanOut:
   * those of a history channel while their stream is read, and in a cluster routed by channel (D21) the first
   * ones of a channel here while the node starts receiving it. They keep what is delivered meanwhile (hold).
   */
  private readonly held = new Map<string, Set<Subscriber>>();

  constructor(
    private readonly fanOut: FanOut,
    /** Told every channel's new subscriber count (0 when it emptied), for the cluster's occupancy. */
    private readonly onCount: (appId: string, channel: ChannelName, subscribers: number) => void = () => {},
    /** Told of each delivery once, whatever the number of recipients (D10: nothing per recipient). */
    private readonly metrics: GatewayMetrics = NO_METRICS,
  ) {}

  /**
   * Adds a member. One that joins `held` is a member at once (counts, presence events) but gets the channel's
   * publications through `hold` until it is attached: what a subscription needs while its answer is prepared
   * (a stream read, the node starting to receive the channel), to answer before any live frame reaches the socket.
   */
  join(appId: string, channel: ChannelName, subscriber: Subscriber, held = false): JoinResult {
    let channels = this.byApp.get(appId);
    let entry = channels?.get(channel);
    if (entry?.members.has(subscriber)) return 'already';
    const first = entry === undefined;
    if (!entry) {
      if (!channels) this.byApp.set(appId, (channels = new Map()));
      entry = { topic: topicOf(appId, channel), members: new Set() };
      channels.set(channel, entry);
    }
    if (held) addTo(this.held, entry.topic, subscriber);
    else this.fanOut.join(entry.topic, subscriber);
    entry.members.add(subscriber);
    this.onCount(appId, channel, entry.members.size);
    return first ? 'first' : 'joined';
  }

  leave(appId: string, channel: ChannelName, subscriber: Subscriber): LeaveResult {
    const channels = this.byApp.get(appId);
    const entry = channels?.get(channel);
    if (!channels || !entry?.members.delete(subscriber)) return 'absent';
    if (!removeFrom(this.held, entry.topic, subscriber)) this.fanOut.leave(entry.topic, subscriber);
    this.onCount(appId, channel, entry.members.size);
    if (entry.members.size > 0) return 'left';
    channels.delete(channel);
    if (channels.size === 0) this.byApp.delete(appId);
    return 'last';
  }

  /** A member that joined held starts getting the channel's frames from the FanOut. */
  attach(appId: string, channel: ChannelName, subscriber: Subscriber): void {
    const topic = topicOf(appId, channel);
    if (removeFrom(this.held, topic, subscriber)) this.fanOut.join(topic, subscriber);
  }

  /** Starts showing `watcher` every frame delivered on the channel; it does not become a member. */
  watch(appId: string, channel: ChannelName, watcher: Watcher): void {
    addTo(this.watchers, topicOf(appId, channel), watcher);
  }

  unwatch(appId: string, channel: ChannelName, watcher: Watcher): void {
    removeFrom(this.watchers, topicOf(appId, channel), watcher);
  }

  /**
   * Shows the channel's watchers a frame its members do not get (a broadcast response, a presence event
   * in the broadcastt dialect). `encode` runs only when someone watches.
   */
  tellWatchers(appId: string, channel: ChannelName, encode: () => string): void {
    const watching = this.watchersOf(appId, channel);
    if (!watching) return;
    const frame = encode();
    for (const watcher of watching) watcher.observe(frame);
  }

  /** The channel's members on this node (an empty set when it has none). Do not modify. */
  members(appId: string, channel: ChannelName): ReadonlySet<Subscriber> {
    return this.byApp.get(appId)?.get(channel)?.members ?? NO_MEMBERS;
  }

  /** The app's occupied channels on this node, with their subscriber counts. */
  *channelsOf(appId: string): Generator<[channel: ChannelName, subscribers: number]> {
    for (const [channel, entry] of this.byApp.get(appId) ?? []) yield [channel, entry.members.size];
  }

  /** Every occupied channel of every app, with its subscriber count. */
  *counts(): Generator<[appId: string, channel: ChannelName, subscribers: number]> {
    for (const [appId, channels] of this.byApp) for (const [channel, entry] of channels) yield [appId, channel, entry.members.size];
  }

  subscriberCount(appId: string, channel: ChannelName): number {
    return this.byApp.get(appId)?.get(channel)?.members.size ?? 0;
  }

  /** Number of the app's channels with at least one member here. */
  channelCountOf(appId: string): number {
    return this.byApp.get(appId)?.size ?? 0;
  }

  /** Number of channels with at least one member, over all apps. */
  channelCount(): number {
    let count = 0;
    for (const channels of this.byApp.values()) count += channels.size;
    return count;
  }

  /**
   * Sends a frame to this node's members of the channel but `except`; returns how many members it has here.
   * `encode` runs once, and only when the channel has members or watchers: callers pass the encoder rather
   * than the frame so delivering to an empty channel costs two map lookups. Watchers see the frame too
   * (`except` included); while nobody watches anything they cost one size check, and so do held members.
   */
  deliver(appId: string, channel: ChannelName, encode: () => string, except?: Subscriber): number {
    const entry = this.byApp.get(appId)?.get(channel);
    const watching = this.watchersOf(appId, channel);
    if (!entry && !watching) return 0;
    const { metrics } = this;
    const startedAtMs = metrics.isOn ? metrics.nowMs() : 0;
    const frame = encode();
    if (entry) this.send(entry, channel, frame, except);
    if (watching) for (const watcher of watching) watcher.observe(frame);
    const members = entry?.members.size ?? 0;
    if (metrics.isOn) metrics.delivered(appId, except !== undefined && entry?.members.has(except) ? members - 1 : members, frame.length, startedAtMs);
    return members;
  }

  /** Whether a console watches the channel on this node. */
  isWatched(appId: string, channel: ChannelName): boolean {
    return this.watchersOf(appId, channel) !== undefined;
  }

  private watchersOf(appId: string, channel: ChannelName): Set<Watcher> | undefined {
    return this.watchers.size === 0 ? undefined : this.watchers.get(topicOf(appId, channel));
  }

  /** To the attached members through the FanOut; the held ones keep it (with its position, if stored). */
  private send(entry: ChannelEntry, channel: ChannelName, frame: string, except: Subscriber | undefined, position?: StreamPosition): void {
    this.fanOut.deliver(entry.topic, entry.members, frame, except);
    const holding = this.held.size === 0 ? undefined : this.held.get(entry.topic);
    if (holding) for (const member of holding) if (member !== except) member.hold(channel, frame, position);
  }

  /** Delivers a publication of a history channel: to the members as `deliver` does, and to the held ones. */
  deliverStored(appId: string, channel: ChannelName, frame: string, epoch: string, offset: number, except?: Subscriber): number {
    const entry = this.byApp.get(appId)?.get(channel);
    if (entry) this.send(entry, channel, frame, except, { epoch, offset });
    const watching = this.watchersOf(appId, channel);
    if (watching) for (const watcher of watching) watcher.observe(frame);
    return entry?.members.size ?? 0;
  }
}

function addTo<T>(map: Map<string, Set<T>>, key: string, value: T): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

/** Whether `value` was in the key's set; an emptied set is removed. */
function removeFrom<T>(map: Map<string, Set<T>>, key: string, value: T): boolean {
  const set = map.get(key);
  if (!set?.delete(value)) return false;
  if (set.size === 0) map.delete(key);
  return true;
}
