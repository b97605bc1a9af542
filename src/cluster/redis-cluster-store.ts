import type { Cluster, Redis, Result } from 'ioredis';
import type { PresenceMember } from '../protocol/presence-member.js';
import type { Logger } from '../log.js';
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
import { CACHE_EVENT, CACHED_EVENT } from './redis-cache-scripts.js';
import { RedisConnection, type RedisTarget } from './redis-connection.js';
import { storePrefix } from './redis-names.js';
import {
  ADD_MEMBER,
  DUE_DEPARTURES,
  HEARTBEAT,
  OCCUPY,
  ONLINE_ELSEWHERE,
  OTHER_MEMBERS,
  OTHER_SUBSCRIPTION_COUNT,
  OTHER_SUBSCRIPTIONS,
  REMOVE_MEMBER,
  RESET_NODE,
  USER_ONLINE,
  VACATE,
} from './redis-store-scripts.js';

// The scripts, as ioredis adds them to its client by defineCommand: KEYS first, then ARGV.
declare module 'ioredis' {
  interface RedisCommander<Context> {
    addMember(nodes: string, key: string, own: string, departures: string, self: string, userId: string, userInfo: string, limit: number, departure: string): Result<MemberOutcome, Context>;
    removeMember(nodes: string, key: string, own: string, departures: string, self: string, userId: string, channelEmpty: '0' | '1', departure: string, graceMs: number): Result<number, Context>;
    occupy(nodes: string, key: string, own: string, departures: string, self: string, channel: string): Result<OccupyOutcome, Context>;
    vacate(nodes: string, key: string, departures: string, self: string, channel: string, graceMs: number): Result<number, Context>;
    dueDepartures(numberOfKeys: number, ...keysThenLateMs: Array<string | number>): Result<Array<string | number>, Context>;
    otherMembers(nodes: string, key: string, self: string): Result<string[], Context>;
    otherSubscriptions(nodes: string, key: string, self: string): Result<Array<string | number>, Context>;
    otherSubscriptionCount(nodes: string, key: string, self: string, channel: string): Result<number, Context>;
    heartbeat(nodes: string, connections: string, self: string, timeoutMs: number, prefix: string, ...pairs: Array<string | number>): Result<[number, string[], Array<string | number>, string[]], Context>;
    resetNode(nodes: string, self: string, timeoutMs: number, prefix: string, mode: 'join' | 'leave'): Result<[number, string[]], Context>;
    userOnline(nodes: string, key: string, own: string, self: string, userId: string): Result<number, Context>;
    onlineElsewhere(nodes: string, key: string, self: string, ...userIds: string[]): Result<string[], Context>;
    cacheEvent(eventKey: string, index: string, misses: string, channel: string, frame: string, ttlMs: number, maxChannels: number, eventKeyPrefix: string): Result<number, Context>;
    cachedEvent(eventKey: string, misses: string, channel: string, ttlMs: number, maxChannels: number, noteMiss: '0' | '1'): Result<[string | null, number], Context>;
  }
}

/** Each script with its number of KEYS (redis-store-scripts.ts). */
const SCRIPTS = {
  addMember: [ADD_MEMBER, 4],
  removeMember: [REMOVE_MEMBER, 4],
  occupy: [OCCUPY, 4],
  vacate: [VACATE, 3],
  otherMembers: [OTHER_MEMBERS, 2],
  otherSubscriptions: [OTHER_SUBSCRIPTIONS, 2],
  otherSubscriptionCount: [OTHER_SUBSCRIPTION_COUNT, 2],
  heartbeat: [HEARTBEAT, 2],
  resetNode: [RESET_NODE, 1],
  userOnline: [USER_ONLINE, 3],
  onlineElsewhere: [ONLINE_ELSEWHERE, 2],
  cacheEvent: [CACHE_EVENT, 3],
  cachedEvent: [CACHED_EVENT, 2],
} as const;

/**
 * The cluster store on Redis (key layout in redis-store-scripts.ts). Every read and every presence change is
 * one script, so one round trip. Subscription counts are written lazily: the changes of one event-loop turn
 * go in one pipeline, so churn costs one write per turn rather than one per subscribe.
 *
 * When Redis was away (or removed this node after missing heartbeats), the node's entries are written again
 * from its own memory on reconnect: the node is the source of truth for what it owns.
 */
export class RedisClusterStore implements ClusterStore {
  private readonly connection: RedisConnection;
  private readonly redis: Redis | Cluster;
  /** The store's keys' prefix, with the hash tag that keeps them in one slot (redis-names.ts). */
  private readonly prefix: string;
  private readonly keys: { readonly nodes: string; readonly connections: string; readonly own: string };
  private snapshot: () => NodeSnapshot = () => ({ members: [], subscriptions: [] });
  /** Subscription counts not written yet: app id → channel → count (0: delete). */
  private unwritten = new Map<string, Map<string, number>>();
  private flushScheduled = false;
  /** Settles once the counts set so far are written (or failed to be). */
  private written: Promise<void> = Promise.resolve();
  private started = false;
  private isClosed = false;
  /** The state was written again after the store had lost this node; reported by the next heartbeat. */
  private rejoined = false;

  constructor(
    target: RedisTarget,
    deploymentPrefix: string,
    private readonly nodeId: string,
    private readonly nodeTimeoutMs: number,
    private readonly log: Logger,
    commandTimeoutMs: number,
  ) {
    const prefix = (this.prefix = storePrefix(deploymentPrefix));
    this.keys = { nodes: `${prefix}:nodes`, connections: `${prefix}:connections`, own: `${prefix}:node:${nodeId}:keys` };
    this.connection = new RedisConnection(target, 'store', log, { commandTimeoutMs });
    this.redis = this.connection.redis;
    for (const [name, [lua, numberOfKeys]] of Object.entries(SCRIPTS)) this.redis.defineCommand(name, { lua, numberOfKeys });
    // Its number of keys varies (one per app), so it comes first in each call.
    this.redis.defineCommand('dueDepartures', { lua: DUE_DEPARTURES });
    this.redis.on('ready', () => {
      if (this.started) this.rejoin('reconnected');
    });
  }

  private presenceKey(appId: string, channel: string): string {
    return `${this.prefix}:presence:${appId}:${channel}`;
  }

  private subscriptionsKey(appId: string): string {
    return `${this.prefix}:subscriptions:${appId}`;
  }

  private occupancyKey(appId: string): string {
    return `${this.prefix}:occupancy:${appId}`;
  }

  private departuresKey(appId: string): string {
    return `${this.prefix}:departures:${appId}`;
  }

  private cacheKey(appId: string, channel: string): string {
    return `${this.prefix}:cache:${appId}:${channel}`;
  }

  async start(snapshot: () => NodeSnapshot): Promise<void> {
    this.snapshot = snapshot;
    await this.connection.connect();
    await this.rewrite();
    this.started = this.connection.joined = true;
  }

  /** Writes everything this node owns again, replacing whatever the store had of it. */
  private async rewrite(): Promise<void> {
    const { members, subscriptions, occupied = [], users = [] } = this.snapshot();
    this.unwritten.clear();
    const pipeline = this.redis.pipeline().resetNode(this.keys.nodes, this.nodeId, this.nodeTimeoutMs, this.prefix, 'join');
    const signedIn = [...users].map(([appId, userId]) => ({ appId, channel: ONLINE_USERS, userId, userInfo: null }));
    for (const { appId, channel, userId, userInfo } of [...members, ...signedIn]) {
      const key = this.presenceKey(appId, channel);
      pipeline.hset(key, `${this.nodeId}:${userId}`, JSON.stringify(userInfo)).sadd(this.keys.own, key);
    }
    for (const [appId, channel, count] of subscriptions) {
      const key = this.subscriptionsKey(appId);
      pipeline.hset(key, `${this.nodeId}:${channel}`, count).sadd(this.keys.own, key);
    }
    for (const [appId, channel] of occupied) {
      const key = this.occupancyKey(appId);
      pipeline.hset(key, `${this.nodeId}:${channel}`, 1).sadd(this.keys.own, key);
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
    // The store had lost this node (taken for dead, or Redis lost its data): the next heartbeat says so.
    if ((results[0]?.[1] as [number, string[]] | undefined)?.[0] === 1) this.rejoined = true;
  }

  private rejoin(why: string): void {
    this.rewrite().then(
      () => this.log.info('cluster state written again', { why }),
      (error: Error) => this.log.warn('could not write the cluster state again; retried on the next reconnect or heartbeat', { why, error: error.message }),
    );
  }

  async addMember(appId: string, channel: string, member: PresenceMember, limit: number, trackDepartures = false): Promise<MemberOutcome> {
    const key = this.presenceKey(appId, channel);
    const departure = trackDepartures ? departureKey({ kind: 'member', appId, channel, userId: member.userId }) : '';
    return this.redis.addMember(this.keys.nodes, key, this.keys.own, this.departuresKey(appId), this.nodeId, member.userId, JSON.stringify(member.userInfo), limit, departure);
  }

  async removeMember(appId: string, channel: string, userId: string, channelEmpty: boolean, graceMs?: number): Promise<boolean> {
    const key = this.presenceKey(appId, channel);
    const departure = graceMs === undefined ? '' : departureKey({ kind: 'member', appId, channel, userId });
    const gone = await this.redis.removeMember(this.keys.nodes, key, this.keys.own, this.departuresKey(appId), this.nodeId, userId, channelEmpty ? '1' : '0', departure, graceMs ?? 0);
    return gone === 1;
  }

  async occupy(appId: string, channel: string): Promise<OccupyOutcome> {
    return this.redis.occupy(this.keys.nodes, this.occupancyKey(appId), this.keys.own, this.departuresKey(appId), this.nodeId, channel);
  }

  async vacate(appId: string, channel: string, graceMs: number): Promise<boolean> {
    return (await this.redis.vacate(this.keys.nodes, this.occupancyKey(appId), this.departuresKey(appId), this.nodeId, channel, graceMs)) === 1;
  }

  async settle(departure: Departure): Promise<boolean> {
    return (await this.redis.zrem(this.departuresKey(departure.appId), departureKey(departure))) === 1;
  }

  async dueDepartures(appIds: readonly string[], lateMs: number): Promise<Departure[]> {
    if (appIds.length === 0) return [];
    const flat = await this.redis.dueDepartures(appIds.length, ...appIds.map((appId) => this.departuresKey(appId)), lateMs);
    const due: Departure[] = [];
    for (let i = 0; i < flat.length; i += 2) due.push(departureOf(appIds[Number(flat[i]) - 1] as string, String(flat[i + 1])));
    return due;
  }

  async otherMembers(appId: string, channel: string): Promise<PresenceMember[]> {
    const flat = await this.redis.otherMembers(this.keys.nodes, this.presenceKey(appId, channel), this.nodeId);
    const members: PresenceMember[] = [];
    for (let i = 0; i < flat.length; i += 2) members.push({ userId: flat[i] as string, userInfo: JSON.parse(flat[i + 1] as string) as unknown });
    return members;
  }

  setSubscriptions(appId: string, channel: string, count: number): void {
    let channels = this.unwritten.get(appId);
    if (!channels) this.unwritten.set(appId, (channels = new Map()));
    channels.set(channel, count);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.written = new Promise((resolve) => setImmediate(() => this.flush().then(resolve)));
  }

  subscriptionsWritten(): Promise<void> {
    return this.written;
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    // After close() the node has left: a late write would put its keys back with nobody to remove them.
    if (this.unwritten.size === 0 || this.isClosed) return;
    const pipeline = this.redis.pipeline();
    for (const [appId, channels] of this.unwritten) {
      const key = this.subscriptionsKey(appId);
      pipeline.sadd(this.keys.own, key);
      for (const [channel, count] of channels) {
        if (count > 0) pipeline.hset(key, `${this.nodeId}:${channel}`, count);
        else pipeline.hdel(key, `${this.nodeId}:${channel}`);
      }
    }
    this.unwritten = new Map();
    // While Redis is away this fails as a whole; the reconnect writes every count again.
    await pipeline.exec().catch((error: Error) => this.log.warn('subscription counts not written', { error: error.message }));
  }

  async otherSubscriptions(appId: string): Promise<Map<string, number>> {
    const flat = await this.redis.otherSubscriptions(this.keys.nodes, this.subscriptionsKey(appId), this.nodeId);
    const sums = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) sums.set(String(flat[i]), Number(flat[i + 1]));
    return sums;
  }

  async otherSubscriptionCount(appId: string, channel: string): Promise<number> {
    return this.redis.otherSubscriptionCount(this.keys.nodes, this.subscriptionsKey(appId), this.nodeId, channel);
  }

  async cacheEvent(appId: string, channel: string, frame: string, limits: CacheLimits): Promise<void> {
    const eventKeyPrefix = this.cacheKey(appId, '');
    await this.redis.cacheEvent(eventKeyPrefix + channel, `${this.prefix}:cached:${appId}`, this.missesKey(appId), channel, frame, limits.ttlMs, limits.maxChannels, eventKeyPrefix);
  }

  async cachedEvent(appId: string, channel: string, limits: CacheLimits, noteMiss: boolean): Promise<CachedEvent> {
    const [frame, isFirstMiss] = await this.redis.cachedEvent(this.cacheKey(appId, channel), this.missesKey(appId), channel, limits.ttlMs, limits.maxChannels, noteMiss ? '1' : '0');
    return frame === null ? { isFirstMiss: isFirstMiss === 1 } : { frame, isFirstMiss: false };
  }

  private missesKey(appId: string): string {
    return `${this.prefix}:cache-misses:${appId}`;
  }

  async userOnline(appId: string, userId: string): Promise<boolean> {
    return (await this.redis.userOnline(this.keys.nodes, this.presenceKey(appId, ONLINE_USERS), this.keys.own, this.nodeId, userId)) === 1;
  }

  /** The key stays among this node's own keys (one per app) when its last user goes: it is purged with the node. */
  userOffline(appId: string, userId: string): Promise<boolean> {
    return this.removeMember(appId, ONLINE_USERS, userId, false);
  }

  async onlineElsewhere(appId: string, userIds: readonly string[]): Promise<string[]> {
    if (userIds.length === 0) return [];
    return this.redis.onlineElsewhere(this.keys.nodes, this.presenceKey(appId, ONLINE_USERS), this.nodeId, ...userIds);
  }

  async heartbeat(connections: ReadonlyMap<string, number>): Promise<Heartbeat> {
    const pairs = [...connections].flat();
    const [isNew, flat, sums, ids] = await this.redis.heartbeat(this.keys.nodes, this.keys.connections, this.nodeId, this.nodeTimeoutMs, this.prefix, ...pairs);
    // Removed by the others while this node was alive (it missed heartbeats): its entries went with it.
    if (isNew === 1) {
      await this.rewrite();
      this.rejoined = true;
      this.log.info('cluster state written again', { why: 'this node had been taken for dead' });
    }
    const otherConnections = new Map<string, number>();
    for (let i = 0; i < sums.length; i += 2) otherConnections.set(String(sums[i]), Number(sums[i + 1]));
    const rejoined = this.rejoined;
    this.rejoined = false;
    return { otherConnections, departed: memberRefs(flat), rejoined, liveNodes: new Set(ids) };
  }

  async close(): Promise<MemberRef[]> {
    this.started = false;
    this.isClosed = true;
    let departed: MemberRef[] = [];
    try {
      if (this.redis.status === 'ready') departed = memberRefs((await this.redis.resetNode(this.keys.nodes, this.nodeId, this.nodeTimeoutMs, this.prefix, 'leave'))[1]);
    } catch (error) {
      this.log.warn('could not leave the cluster cleanly; the others remove this node after its timeout', { error: String(error) });
    }
    this.connection.disconnect();
    return departed;
  }
}

/** Members as the scripts answer them: app, channel, user triples. */
function memberRefs(flat: string[]): MemberRef[] {
  const refs: MemberRef[] = [];
  for (let i = 0; i < flat.length; i += 3) refs.push({ appId: flat[i] as string, channel: flat[i + 1] as string, userId: flat[i + 2] as string });
  return refs;
}
