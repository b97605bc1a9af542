import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../log.js';

/**
 * One ioredis connection of a node, as the broker and the store use them. Commands fail at once while Redis
 * is away instead of queueing (memory stays bounded, and callers fall back to what the node knows); ioredis
 * reconnects by itself. Connection errors are logged once the node has joined; before that, a failure is the
 * startup error's to report, in one line.
 */
export class RedisConnection {
  readonly redis: Redis;
  /** Set once the node has joined: from then on connection errors are logged. */
  joined = false;
  private lastError: Error | undefined;

  constructor(url: string, role: string, log: Logger, options: RedisOptions = {}) {
    this.redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, ...options });
    this.redis.on('error', (error: Error) => {
      this.lastError = error;
      if (this.joined) log.warn('redis connection error', { role, error: error.message });
    });
    this.redis.on('ready', () => log.info('redis connected', { role }));
  }

  /** Connects; rejects with the reason the connection failed (ioredis itself says only "Connection is closed."). */
  async connect(): Promise<void> {
    try {
      await this.redis.connect();
    } catch (error) {
      throw this.lastError ?? error;
    }
  }

  disconnect(): void {
    this.redis.disconnect();
  }
}
