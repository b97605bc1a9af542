import { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import type { Broker } from './broker.js';
import { type ClusterMessage, decodeClusterMessage, encodeClusterMessage } from './cluster-message.js';

/**
 * Redis pub/sub between nodes: one connection publishes, one subscribes to `<prefix>:fanout`. The prefix
 * lets several deployments share one Redis. While Redis is away, publishes are dropped (never queued, so
 * memory stays bounded) and local delivery carries on; ioredis reconnects and resubscribes by itself.
 */
export class RedisBroker implements Broker {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly channel: string;

  constructor(
    url: string,
    prefix: string,
    private readonly nodeId: string,
    private readonly log: Logger,
  ) {
    this.channel = `${prefix}:fanout`;
    const options = { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true };
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, { ...options, enableOfflineQueue: true });
    for (const [role, connection] of [['publisher', this.publisher], ['subscriber', this.subscriber]] as const) {
      connection.on('error', (error: Error) => this.log.warn('redis connection error', { role, error: error.message }));
      connection.on('ready', () => this.log.info('redis connected', { role }));
    }
  }

  async start(receive: (message: ClusterMessage) => void): Promise<void> {
    await Promise.all([this.publisher.connect(), this.subscriber.connect()]);
    this.subscriber.on('message', (_channel: string, text: string) => {
      const message = decodeClusterMessage(text);
      if (message && message.origin !== this.nodeId) receive(message);
    });
    await this.subscriber.subscribe(this.channel);
  }

  send(message: ClusterMessage): void {
    this.publisher.publish(this.channel, encodeClusterMessage(message)).catch((error: Error) => {
      this.log.warn('redis publish dropped', { error: error.message });
    });
  }

  async close(): Promise<void> {
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }
}
