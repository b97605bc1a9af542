import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { BoundedPublishes } from './bounded-publishes.js';
import type { Broker } from './broker.js';
import { type ClusterMessage, decodeClusterMessage, encodeClusterMessage } from './cluster-message.js';
import { RedisConnection, type RedisTarget } from './redis-connection.js';
import { fanOutChannel } from './redis-names.js';

export interface RedisBrokerSettings {
  readonly commandTimeoutMs: number;
  /** Bytes of publishes sent and not yet acknowledged, at most; more are dropped. */
  readonly maxPendingBytes: number;
}

/**
 * The old routing (redisRouting "fanout"), kept to compare with the sharded one in the benchmark: Redis pub/sub
 * between nodes where every node receives every message, so adding nodes adds no capacity (D21). One connection
 * publishes, one subscribes to `<prefix>:fanout`, where the history script publishes too. Standalone Redis only. The prefix
 * lets several deployments share one Redis. While Redis is away or frozen, publishes are dropped (never
 * queued, so memory stays bounded) and counted in the log, and local delivery carries on; ioredis
 * reconnects and resubscribes by itself.
 */
export class RedisBroker implements Broker {
  private readonly publisher: RedisConnection;
  private readonly subscriber: RedisConnection;
  private readonly channel: string;
  /** Publishes Redis has not acknowledged yet, bounded in bytes. */
  private readonly publishes: BoundedPublishes;

  constructor(
    target: RedisTarget,
    prefix: string,
    private readonly nodeId: string,
    log: Logger,
    settings: RedisBrokerSettings,
  ) {
    this.channel = fanOutChannel(prefix);
    this.publishes = new BoundedPublishes(settings.maxPendingBytes, log);
    this.publisher = new RedisConnection(target, 'publisher', log, { commandTimeoutMs: settings.commandTimeoutMs });
    // The subscription is queued while disconnected, so ioredis makes it again on reconnect.
    this.subscriber = new RedisConnection(target, 'subscriber', log, { commandTimeoutMs: settings.commandTimeoutMs, queueWhileDown: true });
  }

  async start(receive: (message: ClusterMessage) => void): Promise<void> {
    await Promise.all([this.publisher.connect(), this.subscriber.connect()]);
    (this.subscriber.redis as Redis).on('message', (_channel: string, text: string) => {
      const message = decodeClusterMessage(text);
      // Redis publishes a stored publication on its origin's behalf, to every node, the origin included (that is
      // how the origin delivers it in offset order with the others'), and a read's marker to the node that read.
      if (message && (message.origin !== this.nodeId || message.kind === 'stored' || message.kind === 'marker')) receive(message);
    });
    await this.subscriber.redis.subscribe(this.channel);
    this.publisher.joined = this.subscriber.joined = true;
  }

  send(message: ClusterMessage): void {
    this.publishes.send(this.publisher.isReady, encodeClusterMessage(message), (text) => this.publisher.redis.publish(this.channel, text));
  }

  async close(): Promise<void> {
    await this.publisher.quit();
    this.subscriber.disconnect();
  }
}
