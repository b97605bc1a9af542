import type { PresenceMember } from '../protocol/presence-member.js';
import { MemoryEventCache } from './memory-event-cache.js';

/**
 * The cluster-wide state REST and presence read (D12): presence members, subscription counts and connection
 * counts, each entry owned by the node that wrote it. A node is live while it keeps heartbeating; what a node
 * that stopped heartbeating owned is ignored by every read once its timeout passes, and removed by the next
 * heartbeat of any live node, which reports the presence members that left with it.
 *
 * A node writes only its own entries and reads only the other nodes': what it holds itself it reads from
 * memory, exactly and without a round trip. Decisions (who gets member_added, what a query answers) are made
 * above this seam; implementations only store and read.
 */
export interface ClusterStore {
  /** Joins the cluster. `snapshot` is this node's state, written again whenever the store had lost it. */
  start(snapshot: () => NodeSnapshot): Promise<void>;
  /**
   * Records this node's member (its first socket of that user in the channel). `added` when no other live
   * node has the user there (member_added is due), `known` when one has, `full` (nothing recorded) when the
   * user is new and the live nodes already hold `limit` distinct users. With `trackDepartures` (the app's
   * webhooks follow this channel's members), `returned` instead of `added` when the user's departure was
   * pending: member_added is due to the clients, but the webhooks heard of no departure, and now never will.
   */
  addMember(appId: string, channel: string, member: PresenceMember, limit: number, trackDepartures?: boolean): Promise<MemberOutcome>;
  /**
   * Removes this node's member (its last socket of that user left). True when no live node has the user in
   * the channel any more (member_removed is due). `channelEmpty`: this node has no members there now. With
   * `graceMs`, the user's departure is recorded as pending (see settle) in the same step, so a user coming
   * back on another node at the same moment either finds it pending or is known there.
   */
  removeMember(appId: string, channel: string, userId: string, channelEmpty: boolean, graceMs?: number): Promise<boolean>;
  /**
   * This node's first subscriber of a channel whose occupancy an app's webhooks follow (only those: other
   * channels never ask). `occupied` when no other live node has subscribers there and no departure of the
   * channel was pending (channel_occupied is due); `returned` when one was pending, which this cancels; `known`
   * when another node has subscribers. One atomic step, so of two nodes asking at once one gets `occupied`.
   */
  occupy(appId: string, channel: string): Promise<OccupyOutcome>;
  /**
   * This node's last subscriber of such a channel left. True when no other live node has subscribers: the
   * channel's departure is then pending for `graceMs`, decided in the same step.
   */
  vacate(appId: string, channel: string, graceMs: number): Promise<boolean>;
  /**
   * Takes a pending departure: true when it was still pending (nobody came back and nobody took it before), so
   * its event is due from the caller, and from no one else. Called when its grace has passed.
   */
  settle(departure: Departure): Promise<boolean>;
  /**
   * Takes the apps' pending departures that were due `lateMs` ago or earlier: those whose node did not settle
   * them in time (it died), and those a dead node's removal left (at once due). Each is taken once.
   */
  dueDepartures(appIds: readonly string[], lateMs: number): Promise<Departure[]>;
  /** The channel's members on the other live nodes (a user on several nodes appears once). */
  otherMembers(appId: string, channel: string): Promise<PresenceMember[]>;
  /** This node's subscription count of a channel, 0 when it has none. May be written lazily, but in order. */
  setSubscriptions(appId: string, channel: string, count: number): void;
  /** Resolves once every count set so far has been written (or has failed to be): the others may read it then. */
  subscriptionsWritten(): Promise<void>;
  /** The app's occupied channels on the other live nodes, with their subscription counts summed. */
  otherSubscriptions(appId: string): Promise<Map<string, number>>;
  otherSubscriptionCount(appId: string, channel: string): Promise<number>;
  /**
   * Keeps `frame` as a cache channel's last event for the whole cluster, for `limits.ttlMs`, and forgets the
   * channel's noted miss. An app keeps at most `limits.maxChannels` events: a new channel beyond it makes the
   * channel written longest ago forget its event. Nobody owns cached events; they outlive the node that wrote them.
   */
  cacheEvent(appId: string, channel: string, frame: string, limits: CacheLimits): Promise<void>;
  /**
   * A cache channel's last event. On a miss, with `noteMiss` (the app's webhooks want cache_miss), whether it is
   * the channel's first miss since it last had an event or since `limits.ttlMs` (a cache_miss webhook is due, from
   * this node and no other): decided and noted in the same step. Noted misses are bounded as events are.
   */
  cachedEvent(appId: string, channel: string, limits: CacheLimits, noteMiss: boolean): Promise<CachedEvent>;
  /**
   * This node's first connection signed in as the user (of an app with watchlist events). True when no other live
   * node has one: the user is online, and watchers are due an event. Kept as a member of the roster ONLINE_USERS,
   * so a node that dies or leaves takes its users offline as it takes its presence members away.
   */
  userOnline(appId: string, userId: string): Promise<boolean>;
  /** This node's last connection signed in as the user is gone. True when no other live node has one (offline). */
  userOffline(appId: string, userId: string): Promise<boolean>;
  /** Of `userIds`, those another live node has a connection signed in as. */
  onlineElsewhere(appId: string, userIds: readonly string[]): Promise<string[]>;
  /**
   * Says this node is alive for another node timeout, with its connections per app; removes the nodes
   * whose timeout passed. Called every heartbeat interval.
   */
  heartbeat(connections: ReadonlyMap<string, number>): Promise<Heartbeat>;
  /**
   * Leaves the cluster: removes everything this node owns, and answers its presence members that no other live
   * node holds (member_removed is due for each; the caller announces them before it lets go of the broker).
   */
  close(): Promise<MemberRef[]>;
}

export type MemberOutcome = 'added' | 'returned' | 'known' | 'full';

/** How long an app's cache channels keep their last event, and how many may keep one. */
export interface CacheLimits {
  readonly ttlMs: number;
  readonly maxChannels: number;
}

/** A cache channel's last event (`frame`, as subscribers receive it), or a miss. */
export interface CachedEvent {
  readonly frame?: string;
  /** A miss that was noted: the first since the channel last had an event (only when asked to note misses). */
  readonly isFirstMiss: boolean;
}

/**
 * The roster, in each app, of the users signed in on some node (for watchlist events; src/channels/watchlists.ts).
 * Stores keep it as the members of a presence channel by this name, which no channel can have, so a node that
 * dies or leaves takes its users offline (`departed`) as it takes its presence members away.
 */
export const ONLINE_USERS = '#users';
export type OccupyOutcome = 'occupied' | 'returned' | 'known';

/**
 * A channel or presence member gone from the whole cluster, waiting out the app's webhook grace period:
 * channel_vacated or member_removed is due when it passes, unless the channel or user comes back first.
 */
export type Departure =
  | { readonly kind: 'channel'; readonly appId: string; readonly channel: string }
  | { readonly kind: 'member'; readonly appId: string; readonly channel: string; readonly userId: string };

/**
 * A departure's name within its app, as stores keep it: `c:<channel>` or `m:<channel>:<user id>` (the wire names
 * of presence channels never hold ':', user ids may, so the user id goes last).
 */
export function departureKey(departure: Departure): string {
  return departure.kind === 'channel' ? `c:${departure.channel}` : `m:${departure.channel}:${departure.userId}`;
}

export function departureOf(appId: string, key: string): Departure {
  const channelEnd = key.indexOf(':', 2);
  if (key.startsWith('c:')) return { kind: 'channel', appId, channel: key.slice(2) };
  return { kind: 'member', appId, channel: key.slice(2, channelEnd), userId: key.slice(channelEnd + 1) };
}

/** A presence member, by id, in one app's channel. */
export interface MemberRef {
  readonly appId: string;
  readonly channel: string;
  readonly userId: string;
}

export interface Heartbeat {
  /** Connections per app on the other live nodes: admission adds them to this node's own. */
  readonly otherConnections: Map<string, number>;
  /**
   * Members that were only on nodes removed by this heartbeat: member_removed is due for each. Users signed in
   * only there are among them, in the roster ONLINE_USERS: offline is due for each.
   */
  readonly departed: MemberRef[];
  /**
   * This node had been removed from the store (taken for dead, or the store lost its data) and has written
   * its state again since the last heartbeat: the others may have announced its members' departure, so
   * member_added is due for each of its members.
   */
  readonly rejoined: boolean;
  /** The ids of the other live nodes. */
  readonly liveNodes: ReadonlySet<string>;
}

/** Everything this node owns in the store, as its own memory has it. */
export interface NodeSnapshot {
  readonly members: Iterable<MemberRef & { readonly userInfo: unknown }>;
  readonly subscriptions: Iterable<readonly [appId: string, channel: string, count: number]>;
  /** The channels with subscribers here whose occupancy webhooks follow (occupy was asked for them). */
  readonly occupied?: Iterable<readonly [appId: string, channel: string]>;
  /** The users signed in here, of apps with watchlist events (the roster ONLINE_USERS). */
  readonly users?: Iterable<readonly [appId: string, userId: string]>;
}

const NONE = Promise.resolve([]);
const DONE = Promise.resolve();

/**
 * A single node: there are no other nodes to read and nobody to tell. The default. Member limits are
 * checked against the node's own roster above the seam, so this store never answers `full`. It keeps only
 * the pending departures, which its own timers settle.
 */
export class SingleNodeStore implements ClusterStore {
  /** App id → keys of its pending departures. */
  private readonly pending = new Map<string, Set<string>>();
  private readonly cache: MemoryEventCache;

  constructor(now: () => number = Date.now) {
    this.cache = new MemoryEventCache(now);
  }

  async start(): Promise<void> {}

  async addMember(appId: string, channel: string, member: PresenceMember, _limit: number, trackDepartures = false): Promise<MemberOutcome> {
    return trackDepartures && this.take({ kind: 'member', appId, channel, userId: member.userId }) ? 'returned' : 'added';
  }

  async removeMember(appId: string, channel: string, userId: string, _channelEmpty: boolean, graceMs?: number): Promise<boolean> {
    if (graceMs !== undefined) this.put({ kind: 'member', appId, channel, userId });
    return true;
  }

  async occupy(appId: string, channel: string): Promise<OccupyOutcome> {
    return this.take({ kind: 'channel', appId, channel }) ? 'returned' : 'occupied';
  }

  async vacate(appId: string, channel: string): Promise<boolean> {
    this.put({ kind: 'channel', appId, channel });
    return true;
  }

  async settle(departure: Departure): Promise<boolean> {
    return this.take(departure);
  }

  /** Nothing is ever late: the node that started a grace period is the node that settles it. */
  dueDepartures(): Promise<Departure[]> {
    return NONE;
  }

  private put(departure: Departure): void {
    let keys = this.pending.get(departure.appId);
    if (!keys) this.pending.set(departure.appId, (keys = new Set()));
    keys.add(departureKey(departure));
  }

  private take(departure: Departure): boolean {
    const keys = this.pending.get(departure.appId);
    if (!keys?.delete(departureKey(departure))) return false;
    if (keys.size === 0) this.pending.delete(departure.appId);
    return true;
  }

  otherMembers(): Promise<PresenceMember[]> {
    return NONE;
  }

  setSubscriptions(): void {}

  subscriptionsWritten(): Promise<void> {
    return DONE;
  }

  async cacheEvent(appId: string, channel: string, frame: string, limits: CacheLimits): Promise<void> {
    this.cache.put(appId, channel, frame, limits);
  }

  async cachedEvent(appId: string, channel: string, limits: CacheLimits, noteMiss: boolean): Promise<CachedEvent> {
    return this.cache.get(appId, channel, limits, noteMiss);
  }

  /** Nobody else can have the user: the node itself counts its users' connections. */
  async userOnline(): Promise<boolean> {
    return true;
  }

  async userOffline(): Promise<boolean> {
    return true;
  }

  onlineElsewhere(): Promise<string[]> {
    return NONE;
  }

  async otherSubscriptions(): Promise<Map<string, number>> {
    return new Map();
  }

  async otherSubscriptionCount(): Promise<number> {
    return 0;
  }

  async heartbeat(): Promise<Heartbeat> {
    return { otherConnections: new Map(), departed: [], rejoined: false, liveNodes: new Set() };
  }

  async close(): Promise<MemberRef[]> {
    return [];
  }
}
