import { once } from 'node:events';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { type Logger, throttledLog } from '../log.js';

/**
 * Where a cluster's Redis is: a standalone server's URL, or the URLs of some nodes of a Redis Cluster (the
 * client finds the others from them: listing more than one only matters while the first is down).
 */
export type RedisTarget = string | { readonly clusterNodes: readonly string[] };

/** The target a configuration names: `redis` (comma-separated URLs when `redisCluster` is on). */
export function redisTarget(config: { readonly redis: string; readonly redisCluster: boolean }): RedisTarget {
  return config.redisCluster ? { clusterNodes: config.redis.split(',') } : config.redis;
}

/** The Redis client of a target: ioredis' Cluster client for a Redis Cluster, with `clusterOptions` given. */
export function redisClient(target: RedisTarget, options: RedisOptions, clusterOptions: { readonly shardedSubscribers?: boolean } = {}): Redis | Cluster {
  if (typeof target === 'string') return new Redis(target, options);
  const [first = ''] = target.clusterNodes;
  const { enableOfflineQueue: _queue, lazyConnect: _lazy, ...nodeOptions } = options;
  // Credentials come from the first URL; every node of a Redis Cluster shares them.
  const { username, password } = new URL(first);
  const credentials = { ...(username === '' ? {} : { username: decodeURIComponent(username) }), ...(password === '' ? {} : { password: decodeURIComponent(password) }) };
  return new Cluster([...target.clusterNodes], {
    // Queueing and connecting are the Cluster client's to decide for its nodes' connections.
    redisOptions: { ...nodeOptions, ...credentials },
    // Its ready check goes through its own queue: without one it can fail to ever become ready (ioredis 5.11).
    // Callers that must not queue check isReady first, and commandTimeout bounds every command.
    enableOfflineQueue: true,
    lazyConnect: options.lazyConnect ?? false,
    ...clusterOptions,
  });
}

export interface RedisConnectionOptions {
  /** A command unanswered this long fails; a PING unanswered this long makes the connection start over. */
  readonly commandTimeoutMs: number;
  /** Queue commands while disconnected (the subscriber, so ioredis subscribes again on reconnect). */
  readonly queueWhileDown?: boolean;
  /** A sharded subscriber; on a Redis Cluster, one connection per master (ioredis' shardedSubscribers). */
  readonly shardedSubscribers?: boolean;
}

/**
 * One ioredis connection of a node, as the broker and the store use them.
 *
 * Redis that is down and Redis that is frozen (alive, but answering nothing) look the same to callers: every
 * command fails after commandTimeoutMs at the latest, and a watchdog PINGs every commandTimeoutMs; a PING that
 * gets no answer drops the connection, with everything it had queued and buffered, and starts a new one.
 * Until that one is ready, commands fail at once instead of queueing, so memory stays bounded while Redis is
 * away and callers fall back to what the node knows. Connection errors are logged once the node has joined;
 * before that, a failure is the startup error's to report, in one line.
 */
export class RedisConnection {
  readonly redis: Redis | Cluster;
  /** Set once the node has joined: from then on connection errors are logged. */
  joined = false;
  private lastError: Error | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private isPinging = false;
  private readonly logError: ReturnType<typeof throttledLog>;

  constructor(
    target: RedisTarget,
    private readonly role: string,
    private readonly log: Logger,
    private readonly options: RedisConnectionOptions,
  ) {
    const settings: RedisOptions = {
      enableOfflineQueue: options.queueWhileDown === true,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: options.commandTimeoutMs,
      // A sharded subscriber subscribes again itself (redis-sharded-broker.ts): ioredis would forget what it
      // was asked to subscribe to while the connection was down.
      ...(options.shardedSubscribers === true ? { autoResubscribe: false } : {}),
    };
    this.redis = redisClient(target, settings, options.shardedSubscribers === true ? { shardedSubscribers: true } : {});
    this.logError = throttledLog(log, 'warn', 'redis connection error');
    this.redis.on('error', (error: Error) => {
      this.lastError = error;
      if (this.joined) this.logError({ role, error: error.message });
    });
    this.redis.on('ready', () => log.info('redis connected', { role }));
  }

  /** Connects and starts the watchdog; rejects with why (ioredis itself says only "Connection is closed."). */
  async connect(): Promise<void> {
    // ioredis' sharded subscribers of a Cluster are made once its slots are known, after it is ready; an SSUBSCRIBE
    // sent before they are can be lost (ioredis 5.11), so a subscriber is connected only once they are.
    const subscribers = this.options.shardedSubscribers === true && this.redis instanceof Cluster ? once(this.redis, 'subscribersReady') : undefined;
    try {
      await this.redis.connect();
      await subscribers;
    } catch (error) {
      throw this.lastError ?? error;
    }
    this.watchdog = setInterval(() => void this.ping(), this.options.commandTimeoutMs).unref();
  }

  get isReady(): boolean {
    return this.redis.status === 'ready';
  }

  disconnect(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.redis.disconnect();
  }

  /** Closes after the replies to what was sent have come (so the last publishes go out), or at the timeout. */
  async quit(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.isReady) {
      const deadline = new Promise((resolve) => setTimeout(resolve, this.options.commandTimeoutMs).unref());
      await Promise.race([this.redis.quit().catch(() => {}), deadline]);
    }
    this.redis.disconnect();
  }

  private async ping(): Promise<void> {
    if (this.isPinging || !this.isReady) return;
    this.isPinging = true;
    try {
      await this.redis.ping();
    } catch (error) {
      if (!this.isReady) return;
      this.log.warn('redis is not answering: dropping the connection and what it queued, and connecting again', { role: this.role, error: String(error) });
      this.redis.disconnect(true);
    } finally {
      this.isPinging = false;
    }
  }
}
