import { Cluster } from 'ioredis';
import { type Logger, throttledLog } from '../log.js';
import { BoundedPublishes } from './bounded-publishes.js';
import type { Broker } from './broker.js';
import { type ClusterMessage, decodeClusterMessage, encodeClusterMessage } from './cluster-message.js';
import { RedisConnection, type RedisTarget } from './redis-connection.js';
import { clusterChannel, nodeChannel, partitionOf, shardChannel } from './redis-names.js';

export interface ShardedBrokerSettings {
  readonly commandTimeoutMs: number;
  /** Bytes of publishes sent and not yet acknowledged, at most; more are dropped. */
  readonly maxPendingBytes: number;
  /** The partitions channels are spread over (redisPartitions): the same on every node. */
  readonly partitions: number;
  /** How long a channel stays followed after its last subscriber here left (redisUnsubscribeLingerMs). */
  readonly lingerMs: number;
}

/** A channel this node follows: `ready` until its SSUBSCRIBE is answered, `linger` once its last subscriber left. */
interface Followed {
  readonly partition: number;
  ready: Promise<void> | undefined;
  linger: NodeJS.Timeout | undefined;
}

/**
 * Redis sharded pub/sub between nodes (D21): a node receives only what it needs. Each gateway channel has a
 * sharded channel of its own, named with the hash tag of its partition (redis-names.ts); a node SSUBSCRIBEs to
 * it when its first subscriber there arrives and SUNSUBSCRIBEs a linger after its last left, and a publish is
 * SPUBLISHed there only. Besides: the node's own channel (broadcast responses meant for it) and one channel
 * every node follows (terminations, users going online or offline, nodes joining).
 *
 * One subscriber connection on standalone Redis; on a Redis Cluster, ioredis' sharded subscribers: one
 * connection per master, whatever the number of channels. Per channel, order is Redis's: one publisher's
 * messages on one channel reach a subscriber in the order sent. When a connection comes back, every channel
 * followed is subscribed to again, one SSUBSCRIBE per partition (a Redis Cluster refuses one across slots, and
 * the partitions keep them few): on standalone Redis by this class, as ioredis forgets the channels it was
 * asked for while down; on a Cluster by ioredis' subscriber group, which keeps them. While Redis is away,
 * publishes are dropped, as redis-broker.ts does.
 */
export class RedisShardedBroker implements Broker {
  private readonly publisher: RedisConnection;
  private readonly subscriber: RedisConnection;
  private readonly followed = new Map<string, Followed>();
  private readonly ownChannel: string;
  private readonly everyNode: string;
  private readonly publishes: BoundedPublishes;
  private readonly logUnfollowed: ReturnType<typeof throttledLog>;

  constructor(
    target: RedisTarget,
    private readonly prefix: string,
    private readonly nodeId: string,
    log: Logger,
    private readonly settings: ShardedBrokerSettings,
  ) {
    this.ownChannel = nodeChannel(prefix, nodeId);
    this.everyNode = clusterChannel(prefix);
    this.publishes = new BoundedPublishes(settings.maxPendingBytes, log);
    this.logUnfollowed = throttledLog(log, 'warn', 'a channel could not be followed in time: its subscribers get this node\'s publishes until Redis answers');
    this.publisher = new RedisConnection(target, 'publisher', log, { commandTimeoutMs: settings.commandTimeoutMs });
    // Queued while disconnected rather than failed at once; on standalone Redis, resubscribe() makes them again.
    this.subscriber = new RedisConnection(target, 'subscriber', log, { commandTimeoutMs: settings.commandTimeoutMs, queueWhileDown: true, shardedSubscribers: true });
  }

  async start(receive: (message: ClusterMessage) => void): Promise<void> {
    await Promise.all([this.publisher.connect(), this.subscriber.connect()]);
    this.subscriber.redis.on('smessage', (_channel: string, text: string) => {
      const message = decodeClusterMessage(text);
      // Redis publishes a stored publication on its origin's behalf, the origin included (that is how the origin
      // delivers it in offset order with the others'), and a read's marker on the channel the node read.
      if (message && (message.origin !== this.nodeId || message.kind === 'stored' || message.kind === 'marker')) receive(message);
    });
    // Two slots, so two commands: a Redis Cluster refuses one SSUBSCRIBE across slots.
    await this.subscriber.redis.ssubscribe(this.ownChannel);
    await this.subscriber.redis.ssubscribe(this.everyNode);
    if (!(this.subscriber.redis instanceof Cluster)) this.subscriber.redis.on('ready', () => this.resubscribe());
    this.publisher.joined = this.subscriber.joined = true;
  }

  /** Standalone Redis is back: every channel followed, again, one SSUBSCRIBE per partition. */
  private resubscribe(): void {
    const byPartition = new Map<number, string[]>([[-1, [this.ownChannel, this.everyNode]]]);
    for (const [name, { partition }] of this.followed) {
      const names = byPartition.get(partition);
      if (names) names.push(name);
      else byPartition.set(partition, [name]);
    }
    for (const names of byPartition.values()) this.subscriber.redis.ssubscribe(...names).catch((error: Error) => this.logUnfollowed({ channels: names.length, reason: error.message }));
  }

  follow(appId: string, channel: string): Promise<void> | undefined {
    const partition = partitionOf(appId, channel, this.settings.partitions);
    const name = shardChannel(this.prefix, partition, appId, channel);
    const known = this.followed.get(name);
    if (known) {
      clearTimeout(known.linger);
      known.linger = undefined;
      return known.ready;
    }
    const entry: Followed = { partition, ready: undefined, linger: undefined };
    this.followed.set(name, entry);
    entry.ready = this.subscribe(name).then(() => {
      entry.ready = undefined;
    });
    return entry.ready;
  }

  unfollow(appId: string, channel: string): void {
    const name = this.channelOf(appId, channel);
    const entry = this.followed.get(name);
    if (!entry || entry.linger) return;
    if (this.settings.lingerMs === 0) return this.unsubscribe(name);
    entry.linger = setTimeout(() => this.unsubscribe(name), this.settings.lingerMs).unref();
  }

  /** On the connection that subscribed, so a channel followed again is subscribed to after this. */
  private unsubscribe(name: string): void {
    this.followed.delete(name);
    this.subscriber.redis.sunsubscribe(name).catch(() => {});
  }

  /**
   * SSUBSCRIBE, settled when Redis answers, or after commandTimeoutMs: a subscription is not held up longer by a
   * Redis that is away (the command stays queued and is made on reconnect).
   */
  private async subscribe(name: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.settings.commandTimeoutMs).unref();
    });
    try {
      const outcome = await Promise.race([this.subscriber.redis.ssubscribe(name), deadline]);
      if (outcome === 'late') this.logUnfollowed({ channel: name, reason: `no answer within ${this.settings.commandTimeoutMs} ms` });
    } catch (error) {
      this.logUnfollowed({ channel: name, reason: String(error) });
    } finally {
      clearTimeout(timer);
    }
  }

  send(message: ClusterMessage): void {
    this.publishes.send(this.publisher.isReady, encodeClusterMessage(message), (text) => this.publisher.redis.spublish(this.destinationOf(message), text));
  }

  /** Where a message goes: a channel's messages on its own channel, an answer to its node, the rest to all. */
  private destinationOf(message: ClusterMessage): string {
    switch (message.kind) {
      case 'publish':
      case 'stored':
      case 'member':
      case 'count':
        return this.channelOf(message.appId, message.channel);
      case 'response':
        return nodeChannel(this.prefix, message.target);
      case 'marker':
        return this.ownChannel;
      case 'terminate':
      case 'user':
      case 'joined':
        return this.everyNode;
    }
  }

  private channelOf(appId: string, channel: string): string {
    return shardChannel(this.prefix, partitionOf(appId, channel, this.settings.partitions), appId, channel);
  }

  async close(): Promise<void> {
    for (const entry of this.followed.values()) clearTimeout(entry.linger);
    this.followed.clear();
    await this.publisher.quit();
    this.subscriber.disconnect();
  }
}
