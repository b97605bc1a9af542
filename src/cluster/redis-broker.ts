import type { Logger } from '../log.js';
import type { Broker } from './broker.js';
import { type ClusterMessage, decodeClusterMessage, encodeClusterMessage } from './cluster-message.js';
import { RedisConnection } from './redis-connection.js';

/**
 * Redis pub/sub between nodes: one connection publishes, one subscribes to `<prefix>:fanout`. The prefix
 * lets several deployments share one Redis. While Redis is away, publishes are dropped (never queued, so
 * memory stays bounded) and local delivery carries on; ioredis reconnects and resubscribes by itself.
 */
export class RedisBroker implements Broker {
  private readonly publisher: RedisConnection;
  private readonly subscriber: RedisConnection;
  private readonly channel: string;

  constructor(
    url: string,
    prefix: string,
    private readonly nodeId: string,
    private readonly log: Logger,
  ) {
    this.channel = `${prefix}:fanout`;
    this.publisher = new RedisConnection(url, 'publisher', log);
    // The subscription is queued while disconnected, so ioredis makes it again on reconnect.
    this.subscriber = new RedisConnection(url, 'subscriber', log, { enableOfflineQueue: true });
  }

  async start(receive: (message: ClusterMessage) => void): Promise<void> {
    await Promise.all([this.publisher.connect(), this.subscriber.connect()]);
    this.subscriber.redis.on('message', (_channel: string, text: string) => {
      const message = decodeClusterMessage(text);
      if (message && message.origin !== this.nodeId) receive(message);
    });
    await this.subscriber.redis.subscribe(this.channel);
    this.publisher.joined = this.subscriber.joined = true;
  }

  send(message: ClusterMessage): void {
    this.publisher.redis.publish(this.channel, encodeClusterMessage(message)).catch((error: Error) => {
      this.log.warn('redis publish dropped', { error: error.message });
    });
  }

  async close(): Promise<void> {
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }
}
