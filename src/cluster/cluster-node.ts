import type { GatewayConfig } from '../config.js';
import type { Logger } from '../log.js';
import { type Broker, SingleNodeBroker } from './broker.js';
import type { ClusterMessage } from './cluster-message.js';
import { type ClusterStore, type MemberRef, type NodeSnapshot, SingleNodeStore } from './cluster-store.js';

/** What the gateway node gives its cluster when it starts. */
export interface NodeHooks {
  /** Another node's message. */
  readonly receive: (message: ClusterMessage) => void;
  /** Everything this node owns in the store, from its own memory. */
  readonly snapshot: () => NodeSnapshot;
  /** This node's connections per app, sent with every heartbeat. */
  readonly connections: () => ReadonlyMap<string, number>;
  /** Members that left the cluster with a dead node. */
  readonly departed: (members: readonly MemberRef[]) => void;
}

/** Cross-node implementations handed in by tests and embedders instead of the configured ones. */
export interface ClusterParts {
  readonly broker?: Broker | undefined;
  readonly store?: ClusterStore | undefined;
}

export type ClusterSettings = Pick<GatewayConfig, 'redis' | 'redisPrefix' | 'redisHeartbeatMs' | 'redisNodeTimeoutMs'>;

/**
 * This gateway's place in the cluster (D12): the broker and the store, and the heartbeat that keeps the node
 * alive in the store and brings back the other nodes' connection counts. A single node (no `redis`) has
 * nobody to tell and no heartbeat; Redis implementations are loaded only by nodes that use them.
 */
export class ClusterNode {
  private otherConnections: ReadonlyMap<string, number> = new Map();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private isBeating = false;
  private isHeartbeatFailing = false;

  private constructor(
    readonly id: string,
    readonly broker: Broker,
    readonly store: ClusterStore,
    readonly isClustered: boolean,
    private readonly heartbeatMs: number,
    private readonly log: Logger,
  ) {}

  /**
   * The cluster for this configuration: given implementations (tests, embedders) win over `redis`, which
   * loads the Redis ones (ioredis is imported only by nodes that use it: about 17 MB of RSS otherwise).
   * Neither: a single node.
   */
  static async create(id: string, config: ClusterSettings, log: Logger, given: ClusterParts = {}): Promise<ClusterNode> {
    let { broker, store } = given;
    if (config.redis) {
      const [{ RedisBroker }, { RedisClusterStore }] = await Promise.all([import('./redis-broker.js'), import('./redis-cluster-store.js')]);
      broker ??= new RedisBroker(config.redis, config.redisPrefix, id, log);
      store ??= new RedisClusterStore(config.redis, config.redisPrefix, id, config.redisNodeTimeoutMs, log);
    }
    return ClusterNode.of(id, config, log, { broker, store });
  }

  /** A cluster of the given parts, synchronously; a single node where a part is missing. */
  static of(id: string, config: Pick<ClusterSettings, 'redisHeartbeatMs'>, log: Logger, { broker, store }: ClusterParts = {}): ClusterNode {
    const isClustered = broker !== undefined || store !== undefined;
    return new ClusterNode(id, broker ?? new SingleNodeBroker(), store ?? new SingleNodeStore(), isClustered, config.redisHeartbeatMs, log);
  }

  async start(hooks: NodeHooks): Promise<void> {
    await this.broker.start(hooks.receive);
    await this.store.start(hooks.snapshot);
    if (!this.isClustered) return;
    const beat = () => void this.heartbeat(hooks);
    beat();
    this.heartbeatTimer = setInterval(beat, this.heartbeatMs).unref();
  }

  /** Connections the app has on the other live nodes, as of the last heartbeat. */
  connectionsElsewhere(appId: string): number {
    return this.otherConnections.get(appId) ?? 0;
  }

  private async heartbeat(hooks: NodeHooks): Promise<void> {
    if (this.isBeating) return;
    this.isBeating = true;
    try {
      const { otherConnections, departed } = await this.store.heartbeat(hooks.connections());
      this.otherConnections = otherConnections;
      if (departed.length > 0) this.log.info('members left with a dead node', { count: departed.length });
      hooks.departed(departed);
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

  async close(): Promise<void> {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await Promise.all([this.broker.close(), this.store.close()]);
  }
}
