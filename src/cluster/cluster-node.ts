import type { GatewayConfig } from '../config.js';
import type { Logger } from '../log.js';
import { type Broker, SingleNodeBroker } from './broker.js';
import type { ClusterMessage } from './cluster-message.js';
import { type ClusterStore, type MemberRef, type NodeSnapshot, SingleNodeStore } from './cluster-store.js';
import type { HistoryStore } from './history-store.js';
import { MemoryHistoryStore } from './memory-history-store.js';

/** What the gateway node gives its cluster when it starts. */
export interface NodeHooks {
  /** Another node's message. */
  readonly receive: (message: ClusterMessage) => void;
  /** Everything this node owns in the store, from its own memory. */
  readonly snapshot: () => NodeSnapshot;
  /** This node's connections per app, sent with every heartbeat. */
  readonly connections: () => ReadonlyMap<string, number>;
  /** Members that left the cluster (with a dead node, or with this one as it leaves): member_removed is due. */
  readonly departed: (members: readonly MemberRef[]) => void;
  /** The store had lost this node and now has its state again: its members' member_added is due again. */
  readonly rejoined: () => void;
  /** A heartbeat reached the store (and removed any dead node): what is overdue may be swept now. */
  readonly heartbeat?: () => void;
  /** A node that was live is not any more (it died or left): what the store sums over the nodes has changed. */
  readonly nodesLeft?: () => void;
}

/** Cross-node implementations handed in by tests and embedders instead of the configured ones. */
export interface ClusterParts {
  readonly broker?: Broker | undefined;
  readonly store?: ClusterStore | undefined;
  /** Channels' history (D18); a cluster without one keeps none. */
  readonly history?: HistoryStore | undefined;
}

export type ClusterSettings = Pick<
  GatewayConfig,
  | 'redis'
  | 'redisCluster'
  | 'redisRouting'
  | 'redisPartitions'
  | 'redisUnsubscribeLingerMs'
  | 'redisPrefix'
  | 'redisHeartbeatMs'
  | 'redisNodeTimeoutMs'
  | 'redisCommandTimeoutMs'
  | 'redisMaxPendingBytes'
  | 'historyMaxBytes'
  | 'historyPositionTtlSeconds'
  | 'apps'
>;
type NodeSettings = Pick<ClusterSettings, 'redisHeartbeatMs' | 'redisNodeTimeoutMs' | 'historyMaxBytes' | 'historyPositionTtlSeconds' | 'apps'>;

/** Whether any app keeps history: a node whose apps keep none makes no history store (no connection, no timer). */
const keepsHistory = (settings: Pick<ClusterSettings, 'apps'>) => settings.apps.some((app) => app.history.length > 0);

/**
 * This gateway's place in the cluster (D12): the broker and the store, and the heartbeat that keeps the node
 * alive in the store and brings back the other nodes' connection counts. A single node (no `redis`) has
 * nobody to tell and no heartbeat; Redis implementations are loaded only by nodes that use them.
 */
export class ClusterNode {
  private otherConnections: ReadonlyMap<string, number> = new Map();
  private liveNodes: ReadonlySet<string> = new Set();
  /** Nodes heard from through the broker since the last heartbeat: live, even if they joined after it. */
  private heardFrom = new Set<string>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private hooks: NodeHooks | undefined;
  private isBeating = false;
  private isHeartbeatFailing = false;
  /** Messages the broker has handed this node (its own echoes excluded): what per-channel interest saves (D21). */
  private received = 0;

  private constructor(
    readonly id: string,
    readonly broker: Broker,
    readonly store: ClusterStore,
    /** Undefined in a cluster given a broker and a store but no history: such a cluster keeps none. */
    readonly history: HistoryStore | undefined,
    readonly isClustered: boolean,
    private readonly settings: NodeSettings,
    private readonly log: Logger,
    /** What the node joins, for errors: e.g. `Redis at redis://10.0.0.5:6379`. */
    private readonly where = 'the cluster',
  ) {}

  /**
   * The cluster for this configuration: given implementations (tests, embedders) win over `redis`, which
   * loads the Redis ones (ioredis is imported only by nodes that use it: about 17 MB of RSS otherwise).
   * Neither: a single node.
   */
  static async create(id: string, config: ClusterSettings, log: Logger, given: ClusterParts = {}): Promise<ClusterNode> {
    let { broker, store, history } = given;
    if (config.redis) {
      const [{ RedisClusterStore }, { RedisHistoryStore }, { redisTarget }] = await Promise.all([
        import('./redis-cluster-store.js'),
        import('./redis-history-store.js'),
        import('./redis-connection.js'),
      ]);
      const target = redisTarget(config);
      const { redisPrefix: prefix, redisCommandTimeoutMs: commandTimeoutMs, redisMaxPendingBytes: maxPendingBytes, redisPartitions: partitions, redisRouting: routing } = config;
      broker ??= await redisBroker(id, config, log);
      store ??= new RedisClusterStore(target, prefix, id, config.redisNodeTimeoutMs, log, commandTimeoutMs);
      if (keepsHistory(config)) {
        history ??= new RedisHistoryStore(target, prefix, id, log, { commandTimeoutMs, maxPendingBytes, partitions, routing, positionTtlSeconds: config.historyPositionTtlSeconds });
      }
    }
    const where = config.redis ? `${config.redisCluster ? 'the Redis Cluster' : 'Redis'} at ${config.redis.split(',').map(withoutPassword).join(', ')}` : undefined;
    return ClusterNode.of(id, config, log, { broker, store, history }, where);
  }

  /**
   * A cluster of the given parts, synchronously; a single node where a part is missing. A single node keeps
   * history in memory; a cluster only in the history store it is given (each node's memory would disagree).
   */
  static of(id: string, settings: NodeSettings, log: Logger, { broker, store, history }: ClusterParts = {}, where?: string): ClusterNode {
    const isClustered = broker !== undefined || store !== undefined;
    const memory = isClustered || !keepsHistory(settings) ? undefined : new MemoryHistoryStore({ maxBytes: settings.historyMaxBytes, positionTtlMs: settings.historyPositionTtlSeconds * 1000 });
    return new ClusterNode(id, broker ?? new SingleNodeBroker(), store ?? new SingleNodeStore(), history ?? memory, isClustered, settings, log, where);
  }

  /**
   * Joins the cluster and starts heartbeating. Rejects, having let go of everything, when the broker or the
   * store cannot be reached within redisNodeTimeoutMs: a node that cannot join does not start half-joined.
   */
  async start(hooks: NodeHooks): Promise<void> {
    const timeoutMs = this.settings.redisNodeTimeoutMs;
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      deadline = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms (redisNodeTimeoutMs)`)), timeoutMs);
    });
    // A history read's marker is for the history store of the node that read; every other message is the node's.
    const receive = (message: ClusterMessage) => {
      this.received++;
      if (message.kind !== 'marker') hooks.receive(message);
      else if (message.origin === this.id) this.history?.marked?.(message.id);
    };
    const joining = Promise.all([this.broker.start(receive), this.store.start(hooks.snapshot), this.history?.start()]);
    joining.catch(() => {}); // once the deadline has won, a late failure is expected and already reported
    try {
      await Promise.race([joining, timedOut]);
    } catch (error) {
      await this.close();
      throw new Error(`cannot join the cluster through ${this.where}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      clearTimeout(deadline);
    }
    this.hooks = hooks;
    if (!this.isClustered) return;
    const beat = () => void this.heartbeat(hooks);
    // Once the store knows this node, the others are told: they take it for live before their next heartbeat.
    void this.heartbeat(hooks).then(() => this.broker.send({ kind: 'joined', origin: this.id }));
    this.heartbeatTimer = setInterval(beat, this.settings.redisHeartbeatMs).unref();
  }

  /** Whether `nodeId` is another node that was live at the last heartbeat, or has been heard from since. */
  isLive(nodeId: string): boolean {
    return this.liveNodes.has(nodeId) || this.heardFrom.has(nodeId);
  }

  /** A message came from `nodeId`: it is live (one Set lookup per message; node ids only, so bounded). */
  heard(nodeId: string): void {
    if (!this.heardFrom.has(nodeId)) this.heardFrom.add(nodeId);
  }

  /**
   * The live nodes, this one included, as of the last heartbeat (1 on a single node, and until the first
   * heartbeat): what each node divides the app's cluster-wide limits by (limits/app-limits.ts).
   */
  get nodeCount(): number {
    return this.liveNodes.size + 1;
  }

  /** Whether the cluster store answered the last heartbeat (always, on a single node). */
  get isStoreReachable(): boolean {
    return !this.isHeartbeatFailing;
  }

  /** How many messages the broker has handed this node since it started. */
  get messagesReceived(): number {
    return this.received;
  }

  /** Connections the app has on the other live nodes, as of the last heartbeat. */
  connectionsElsewhere(appId: string): number {
    return this.otherConnections.get(appId) ?? 0;
  }

  private async heartbeat(hooks: NodeHooks): Promise<void> {
    if (this.isBeating) return;
    this.isBeating = true;
    try {
      const { otherConnections, departed, rejoined, liveNodes } = await this.store.heartbeat(hooks.connections());
      const someLeft = [...this.liveNodes].some((id) => !liveNodes.has(id));
      this.otherConnections = otherConnections;
      this.liveNodes = liveNodes;
      this.heardFrom = new Set();
      if (departed.length > 0) this.log.info('members left with a dead node', { count: departed.length });
      hooks.departed(departed);
      if (rejoined) hooks.rejoined();
      if (someLeft) hooks.nodesLeft?.();
      hooks.heartbeat?.();
      if (this.isHeartbeatFailing) this.log.info('heartbeat reaches the cluster store again');
      this.isHeartbeatFailing = false;
    } catch (error) {
      // Connection counts stay as last known; the other nodes take this one for dead after redisNodeTimeoutMs.
      if (!this.isHeartbeatFailing) this.log.warn('heartbeat failed', { error: String(error) });
      this.isHeartbeatFailing = true;
    } finally {
      this.isBeating = false;
    }
  }

  /**
   * Leaves the cluster: the store lets go of this node's entries, the members only it held are announced as
   * departed through the broker, and only then does the broker close (flushing what it was given).
   */
  async close(): Promise<void> {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    const departed = await this.store.close();
    this.hooks?.departed(departed);
    await Promise.all([this.broker.close(), this.history?.close()]);
  }
}

/** The configured Redis broker: sharded pub/sub (D21), or the old fanout, kept for comparison (redisRouting). */
async function redisBroker(id: string, config: ClusterSettings, log: Logger): Promise<Broker> {
  const { redisTarget } = await import('./redis-connection.js');
  const { redisPrefix: prefix, redisCommandTimeoutMs: commandTimeoutMs, redisMaxPendingBytes: maxPendingBytes } = config;
  if (config.redisRouting === 'fanout') {
    const { RedisBroker } = await import('./redis-broker.js');
    return new RedisBroker(redisTarget(config), prefix, id, log, { commandTimeoutMs, maxPendingBytes });
  }
  const { RedisShardedBroker } = await import('./redis-sharded-broker.js');
  const settings = { commandTimeoutMs, maxPendingBytes, partitions: config.redisPartitions, lingerMs: config.redisUnsubscribeLingerMs };
  return new RedisShardedBroker(redisTarget(config), prefix, id, log, settings);
}

/** A Redis URL fit for logs and errors: its password, if any, replaced. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable URL)';
  }
}
