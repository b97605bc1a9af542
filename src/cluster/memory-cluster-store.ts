import { topicOf } from '../protocol/frames.js';
import type { PresenceMember } from '../protocol/presence-member.js';
import {
  type CachedEvent,
  type CacheLimits,
  type ClusterStore,
  type Departure,
  departureKey,
  departureOf,
  type Heartbeat,
  type MemberOutcome,
  type MemberRef,
  type NodeSnapshot,
  type OccupyOutcome,
  ONLINE_USERS,
} from './cluster-store.js';
import { MemoryEventCache } from './memory-event-cache.js';

interface NodeEntries {
  /** Live until then; 0 until the node's first heartbeat, and again after it was removed. */
  expiresAtMs: number;
  /** `<appId>:<channel>` → user id → user info. */
  readonly members: Map<string, Map<string, unknown>>;
  /** app id → channel → subscriptions. */
  readonly subscriptions: Map<string, Map<string, number>>;
  /** `<appId>:<channel>` of the followed channels the node has subscribers in. */
  readonly occupied: Set<string>;
  connections: ReadonlyMap<string, number>;
}

/**
 * Several nodes' stores in one process, sharing one hub: the in-memory implementation the store contract
 * runs against beside Redis. Time comes from `now`, so tests move it by hand.
 */
export class MemoryStoreHub {
  readonly nodes = new Map<string, NodeEntries>();
  /** App id → departure key → when its grace ends. Nobody owns them. */
  readonly departures = new Map<string, Map<string, number>>();
  /** The cache channels' last events, shared by the nodes as Redis would be. */
  readonly cache: MemoryEventCache;

  constructor(
    readonly nodeTimeoutMs: number,
    readonly now: () => number = Date.now,
  ) {
    this.cache = new MemoryEventCache(now);
  }

  store(nodeId: string): ClusterStore {
    return new MemoryClusterStore(this, nodeId);
  }

  /** The node's entries, created (not yet live) if the hub has none. */
  entriesOf(nodeId: string): NodeEntries {
    let entries = this.nodes.get(nodeId);
    if (!entries) this.nodes.set(nodeId, (entries = { expiresAtMs: 0, members: new Map(), subscriptions: new Map(), occupied: new Set(), connections: new Map() }));
    return entries;
  }

  /** Live nodes other than `self`. */
  *others(self: string): Generator<NodeEntries> {
    const now = this.now();
    for (const [id, entries] of this.nodes) if (id !== self && entries.expiresAtMs > now) yield entries;
  }

  /** Whether a live node other than `self` has the user in the channel. */
  heldElsewhere(self: string, topic: string, userId: string): boolean {
    for (const node of this.others(self)) if (node.members.get(topic)?.has(userId)) return true;
    return false;
  }

  occupiedElsewhere(self: string, topic: string): boolean {
    for (const node of this.others(self)) if (node.occupied.has(topic)) return true;
    return false;
  }

  putDeparture(departure: Departure, dueMs: number): void {
    let pending = this.departures.get(departure.appId);
    if (!pending) this.departures.set(departure.appId, (pending = new Map()));
    pending.set(departureKey(departure), dueMs);
  }

  takeDeparture(departure: Departure): boolean {
    return this.departures.get(departure.appId)?.delete(departureKey(departure)) ?? false;
  }
}

class MemoryClusterStore implements ClusterStore {
  private snapshot: () => NodeSnapshot = () => ({ members: [], subscriptions: [] });

  constructor(
    private readonly hub: MemoryStoreHub,
    private readonly nodeId: string,
  ) {}

  private get own(): NodeEntries {
    return this.hub.entriesOf(this.nodeId);
  }

  async start(snapshot: () => NodeSnapshot): Promise<void> {
    this.snapshot = snapshot;
    await this.heartbeat(new Map());
  }

  async addMember(appId: string, channel: string, member: PresenceMember, limit: number, trackDepartures = false): Promise<MemberOutcome> {
    const topic = topicOf(appId, channel);
    const known = this.hub.heldElsewhere(this.nodeId, topic, member.userId);
    if (!known) {
      const users = new Set(this.own.members.get(topic)?.keys());
      for (const node of this.hub.others(this.nodeId)) for (const id of node.members.get(topic)?.keys() ?? []) users.add(id);
      if (!users.has(member.userId) && users.size >= limit) return 'full';
    }
    let users = this.own.members.get(topic);
    if (!users) this.own.members.set(topic, (users = new Map()));
    users.set(member.userId, member.userInfo);
    const returned = trackDepartures && this.hub.takeDeparture({ kind: 'member', appId, channel, userId: member.userId });
    return known ? 'known' : returned ? 'returned' : 'added';
  }

  async removeMember(appId: string, channel: string, userId: string, _channelEmpty: boolean, graceMs?: number): Promise<boolean> {
    const topic = topicOf(appId, channel);
    const users = this.own.members.get(topic);
    users?.delete(userId);
    if (users?.size === 0) this.own.members.delete(topic);
    if (this.hub.heldElsewhere(this.nodeId, topic, userId)) return false;
    if (graceMs !== undefined) this.hub.putDeparture({ kind: 'member', appId, channel, userId }, this.hub.now() + graceMs);
    return true;
  }

  async occupy(appId: string, channel: string): Promise<OccupyOutcome> {
    const topic = topicOf(appId, channel);
    this.own.occupied.add(topic);
    if (this.hub.takeDeparture({ kind: 'channel', appId, channel })) return 'returned';
    return this.hub.occupiedElsewhere(this.nodeId, topic) ? 'known' : 'occupied';
  }

  async vacate(appId: string, channel: string, graceMs: number): Promise<boolean> {
    const topic = topicOf(appId, channel);
    this.own.occupied.delete(topic);
    if (this.hub.occupiedElsewhere(this.nodeId, topic)) return false;
    this.hub.putDeparture({ kind: 'channel', appId, channel }, this.hub.now() + graceMs);
    return true;
  }

  async settle(departure: Departure): Promise<boolean> {
    return this.hub.takeDeparture(departure);
  }

  async dueDepartures(appIds: readonly string[], lateMs: number): Promise<Departure[]> {
    const due: Departure[] = [];
    for (const appId of appIds) {
      const pending = this.hub.departures.get(appId);
      for (const [key, dueMs] of pending ?? []) {
        if (dueMs > this.hub.now() - lateMs) continue;
        pending?.delete(key);
        due.push(departureOf(appId, key));
      }
    }
    return due;
  }

  async otherMembers(appId: string, channel: string): Promise<PresenceMember[]> {
    const found = new Map<string, unknown>();
    for (const node of this.hub.others(this.nodeId)) {
      for (const [userId, userInfo] of node.members.get(topicOf(appId, channel)) ?? []) if (!found.has(userId)) found.set(userId, userInfo);
    }
    return [...found].map(([userId, userInfo]) => ({ userId, userInfo }));
  }

  setSubscriptions(appId: string, channel: string, count: number): void {
    let channels = this.own.subscriptions.get(appId);
    if (!channels) this.own.subscriptions.set(appId, (channels = new Map()));
    if (count > 0) channels.set(channel, count);
    else channels.delete(channel);
  }

  async subscriptionsWritten(): Promise<void> {}

  async cacheEvent(appId: string, channel: string, frame: string, limits: CacheLimits): Promise<void> {
    this.hub.cache.put(appId, channel, frame, limits);
  }

  async cachedEvent(appId: string, channel: string, limits: CacheLimits, noteMiss: boolean): Promise<CachedEvent> {
    return this.hub.cache.get(appId, channel, limits, noteMiss);
  }

  async userOnline(appId: string, userId: string): Promise<boolean> {
    const topic = topicOf(appId, ONLINE_USERS);
    let users = this.own.members.get(topic);
    if (!users) this.own.members.set(topic, (users = new Map()));
    users.set(userId, null);
    return !this.hub.heldElsewhere(this.nodeId, topic, userId);
  }

  userOffline(appId: string, userId: string): Promise<boolean> {
    return this.removeMember(appId, ONLINE_USERS, userId, false);
  }

  async onlineElsewhere(appId: string, userIds: readonly string[]): Promise<string[]> {
    const topic = topicOf(appId, ONLINE_USERS);
    return userIds.filter((userId) => this.hub.heldElsewhere(this.nodeId, topic, userId));
  }

  async otherSubscriptions(appId: string): Promise<Map<string, number>> {
    const sums = new Map<string, number>();
    for (const node of this.hub.others(this.nodeId)) {
      for (const [channel, count] of node.subscriptions.get(appId) ?? []) sums.set(channel, (sums.get(channel) ?? 0) + count);
    }
    return sums;
  }

  async otherSubscriptionCount(appId: string, channel: string): Promise<number> {
    let sum = 0;
    for (const node of this.hub.others(this.nodeId)) sum += node.subscriptions.get(appId)?.get(channel) ?? 0;
    return sum;
  }

  /** As the Redis store's HEARTBEAT: only a node that was itself live removes the dead. */
  async heartbeat(connections: ReadonlyMap<string, number>): Promise<Heartbeat> {
    const now = this.hub.now();
    const own = this.own;
    const rejoined = own.expiresAtMs === 0;
    const wasLive = own.expiresAtMs > now;
    if (rejoined) this.rewrite(own);
    own.expiresAtMs = now + this.hub.nodeTimeoutMs;
    own.connections = new Map(connections);
    const departed: MemberRef[] = [];
    if (wasLive) {
      for (const [id, node] of this.hub.nodes) {
        if (node.expiresAtMs > now || node.expiresAtMs === 0) continue;
        this.hub.nodes.delete(id);
        departed.push(...this.onlyHeldBy(node));
        this.vacateAtOnce(node);
      }
    }
    const otherConnections = new Map<string, number>();
    for (const node of this.hub.others(this.nodeId)) {
      for (const [appId, count] of node.connections) otherConnections.set(appId, (otherConnections.get(appId) ?? 0) + count);
    }
    const liveNodes = new Set([...this.hub.nodes].filter(([id, node]) => id !== this.nodeId && node.expiresAtMs > now).map(([id]) => id));
    return { otherConnections, departed, rejoined, liveNodes };
  }

  /** The members of `node` that no live node but it holds. */
  private onlyHeldBy(node: NodeEntries): MemberRef[] {
    const departed: MemberRef[] = [];
    for (const [topic, users] of node.members) {
      const at = topic.indexOf(':');
      const [appId, channel] = [topic.slice(0, at), topic.slice(at + 1)];
      for (const userId of users.keys()) {
        const heldHere = node !== this.own && this.own.members.get(topic)?.has(userId);
        if (heldHere || this.hub.heldElsewhere(this.nodeId, topic, userId)) continue;
        // Reported now: a departure of the same user pending meanwhile is taken with it.
        this.hub.takeDeparture({ kind: 'member', appId, channel, userId });
        departed.push({ appId, channel, userId });
      }
    }
    return departed;
  }

  /** The followed channels of `node` (which is leaving, or dead) that no live node has: due at once. */
  private vacateAtOnce(node: NodeEntries): void {
    for (const topic of node.occupied) {
      if (node !== this.own && this.own.occupied.has(topic)) continue;
      if (this.hub.occupiedElsewhere(this.nodeId, topic)) continue;
      const at = topic.indexOf(':');
      this.hub.putDeparture({ kind: 'channel', appId: topic.slice(0, at), channel: topic.slice(at + 1) }, 0);
    }
  }

  /** A node the hub had lost (or never had) writes everything it owns again. */
  private rewrite(own: NodeEntries): void {
    own.members.clear();
    own.subscriptions.clear();
    own.occupied.clear();
    const { members, subscriptions, occupied = [], users: online = [] } = this.snapshot();
    const signedIn = [...online].map(([appId, userId]) => ({ appId, channel: ONLINE_USERS, userId, userInfo: null }));
    for (const { appId, channel, userId, userInfo } of [...members, ...signedIn]) {
      const topic = topicOf(appId, channel);
      let users = own.members.get(topic);
      if (!users) own.members.set(topic, (users = new Map()));
      users.set(userId, userInfo);
    }
    for (const [appId, channel, count] of subscriptions) this.setSubscriptions(appId, channel, count);
    for (const [appId, channel] of occupied) own.occupied.add(topicOf(appId, channel));
  }

  async close(): Promise<MemberRef[]> {
    const isLive = this.hub.nodes.has(this.nodeId);
    const departed = isLive ? this.onlyHeldBy(this.own) : [];
    if (isLive) this.vacateAtOnce(this.own);
    this.hub.nodes.delete(this.nodeId);
    return departed;
  }
}
