import { nanoid } from 'nanoid';
import type { Result } from 'ioredis';
import type { HistoryRule } from '../apps/app-registry.js';
import type { Logger } from '../log.js';
import { encodeClusterMessage, storedMessageHead } from './cluster-message.js';
import type { HistoryStore, StreamRead } from './history-store.js';
import { RedisConnection, type RedisTarget } from './redis-connection.js';
import { fanOutChannel, historyKey, partitionOf, shardChannel } from './redis-names.js';

/** Characters of a random epoch: new epochs must never repeat an old one. */
const EPOCH_LENGTH = 10;

/**
 * The scripts. A channel's history is two keys sharing the hash tag of the channel's partition, and so the slot
 * of its sharded pub/sub channel (redis-names.ts): P:history:{<n>}:<app>:<channel> is a Stream of the frames,
 * each entry's ID `<offset>-0` and its one field `f` the frame; the same name plus `:meta` a hash with the epoch
 * `e` and the last offset `s`, as in Centrifugo. A meta key that is missing means a new life of the stream: a
 * new epoch, and the stream key of an earlier life deleted so its IDs cannot clash.
 *
 * APPEND gives the frame its offset, keeps it and publishes it on the channel's broker channel in one atomic
 * step, so every node subscribed there receives a channel's publications in the order of their offsets.
 * KEYS stream, meta; ARGV frame, size, ttl seconds, meta ttl seconds, a new epoch, broker channel, message head,
 * the publish command (SPUBLISH on a shard channel; PUBLISH under the old fanout routing). Answers {epoch, offset}.
 */
const LIFE = `
local function life(stream, meta, newEpoch)
  local epoch = redis.call('HGET', meta, 'e')
  if epoch then return epoch end
  redis.call('DEL', stream)
  redis.call('HSET', meta, 'e', newEpoch, 's', 0)
  return newEpoch
end
`;

const APPEND = `${LIFE}
local epoch = life(KEYS[1], KEYS[2], ARGV[5])
local offset = redis.call('HINCRBY', KEYS[2], 's', 1)
redis.call('EXPIRE', KEYS[2], ARGV[4])
local frame = string.sub(ARGV[1], 1, -2) .. ',"offset":' .. offset .. '}'
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], offset .. '-0', 'f', frame)
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call(ARGV[8], ARGV[6], ARGV[7] .. epoch .. '\\n' .. offset .. '\\n' .. frame)
return {epoch, offset}
`;

/**
 * READ answers {epoch, last offset, entries after ARGV[1] (at most ARGV[2])}, making the meta if missing and
 * refreshing its expiry; with a marker, it then publishes it on the channel's broker channel, behind every
 * publication it saw (the reading node is subscribed there: it reads for a subscriber of its own). KEYS stream,
 * meta; ARGV after, limit, a new epoch, meta ttl seconds, broker channel, marker ('': none), publish command.
 */
const READ = `${LIFE}
local epoch = life(KEYS[1], KEYS[2], ARGV[3])
local top = tonumber(redis.call('HGET', KEYS[2], 's'))
redis.call('EXPIRE', KEYS[2], ARGV[4])
local after = tonumber(ARGV[1])
local entries = {}
if tonumber(ARGV[2]) > 0 and top > after then
  entries = redis.call('XRANGE', KEYS[1], (after + 1) .. '-0', '+', 'COUNT', ARGV[2])
end
if ARGV[6] ~= '' then redis.call(ARGV[7], ARGV[5], ARGV[6]) end
return {epoch, top, entries}
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    appendHistory(stream: string, meta: string, frame: string, size: number, ttlSeconds: number, metaTtlSeconds: number, newEpoch: string, channel: string, head: string, command: PublishCommand): Result<[string, number], Context>;
    readHistory(stream: string, meta: string, after: number, limit: number, newEpoch: string, metaTtlSeconds: number, channel: string, marker: string, command: PublishCommand): Result<[string, number, Array<[string, string[]]>], Context>;
  }
}

type PublishCommand = 'SPUBLISH' | 'PUBLISH';

export interface RedisHistorySettings {
  readonly commandTimeoutMs: number;
  /** The partitions channels are spread over (redisPartitions): the same on every node. */
  readonly partitions: number;
  /** `fanout`: publish on the one channel every node listens to, as the old routing does (redisRouting). */
  readonly routing?: 'sharded' | 'fanout';
  /** Bytes of appends sent and not yet answered, at most; beyond it appends fail at once. */
  readonly maxPendingBytes: number;
  /** How long a stream's position outlives its last publication or read, at least. */
  readonly positionTtlSeconds: number;
}

/**
 * The history of a cluster (D18): a Redis Stream per channel, written and published by one script per
 * publication. What it keeps is as durable as the Redis persistence (docs/scaling.md): a Redis that restarts
 * empty starts new epochs, so no old position is taken for a recoverable one.
 */
export class RedisHistoryStore implements HistoryStore {
  private readonly connection: RedisConnection;
  private readonly command: PublishCommand;
  private pendingBytes = 0;
  /** Reads for subscribers whose marker has not come through the broker yet, by read id. */
  private readonly markers = new Map<string, () => void>();
  private nextReadId = 0;

  constructor(
    target: RedisTarget,
    private readonly prefix: string,
    private readonly nodeId: string,
    log: Logger,
    private readonly settings: RedisHistorySettings,
  ) {
    this.connection = new RedisConnection(target, 'history', log, { commandTimeoutMs: settings.commandTimeoutMs });
    this.connection.redis.defineCommand('appendHistory', { lua: APPEND, numberOfKeys: 2 });
    this.connection.redis.defineCommand('readHistory', { lua: READ, numberOfKeys: 2 });
    this.command = settings.routing === 'fanout' ? 'PUBLISH' : 'SPUBLISH';
  }

  async start(): Promise<void> {
    await this.connection.connect();
    this.connection.joined = true;
  }

  async append(appId: string, channel: string, rule: HistoryRule, frame: string, exceptSocketId: string | undefined): Promise<void> {
    if (!this.connection.isReady) throw new Error('redis is not connected');
    if (this.pendingBytes >= this.settings.maxPendingBytes) throw new Error(`over ${this.settings.maxPendingBytes} bytes are waiting for redis`);
    // UTF-16 length, not bytes: a cheap bound that never undercounts by more than 3×.
    this.pendingBytes += frame.length;
    const { stream, meta, brokerChannel } = this.names(appId, channel);
    const head = storedMessageHead(this.nodeId, appId, channel, exceptSocketId);
    try {
      await this.connection.redis.appendHistory(stream, meta, frame, rule.size, rule.ttlSeconds, this.metaTtlSeconds(rule), nanoid(EPOCH_LENGTH), brokerChannel, head, this.command);
    } finally {
      this.pendingBytes -= frame.length;
    }
  }

  async read(appId: string, channel: string, rule: HistoryRule, after: number, limit: number, forSubscriber = false): Promise<StreamRead> {
    if (!this.connection.isReady) throw new Error('redis is not connected');
    const { stream, meta, brokerChannel } = this.names(appId, channel);
    const id = forSubscriber ? String(++this.nextReadId) : undefined;
    const marked = id === undefined ? undefined : this.markerOf(id);
    const marker = id === undefined ? '' : encodeClusterMessage({ kind: 'marker', origin: this.nodeId, id });
    try {
      const [epoch, offset, entries] = await this.connection.redis.readHistory(stream, meta, after, limit, nanoid(EPOCH_LENGTH), this.metaTtlSeconds(rule), brokerChannel, marker, this.command);
      await marked?.arrived;
      const events = entries.map(([entryId, fields]) => ({ offset: Number(entryId.slice(0, entryId.indexOf('-'))), frame: fields[1] as string }));
      return { epoch, offset: Number(offset), events };
    } finally {
      // A read that failed never waits for its marker: its deadline must not fire with nobody to hear it.
      if (id !== undefined) {
        marked?.forget();
        this.markers.delete(id);
      }
    }
  }

  marked(readId: string): void {
    this.markers.get(readId)?.();
  }

  /**
   * Settles when the read's marker arrives through the broker: the publications before it then have too. Fails
   * after commandTimeoutMs (a subscription that is down, or lost the marker as it came back), and the
   * subscription is refused, to be made again, rather than answered with an offset its node has not reached.
   */
  private markerOf(id: string): { arrived: Promise<void>; forget: () => void } {
    const { commandTimeoutMs } = this.settings;
    let timer: NodeJS.Timeout | undefined;
    const arrived = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`this node was not sent the channel's publications within ${commandTimeoutMs} ms (redisCommandTimeoutMs)`)), commandTimeoutMs);
      this.markers.set(id, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    // Handled here as well: the deadline may pass while the read still waits for the script's answer.
    arrived.catch(() => {});
    return { arrived, forget: () => clearTimeout(timer) };
  }

  async close(): Promise<void> {
    await this.connection.quit();
  }

  /** The channel's keys and the broker channel its publications go out on: all in one slot (redis-names.ts). */
  private names(appId: string, channel: string): { stream: string; meta: string; brokerChannel: string } {
    const partition = partitionOf(appId, channel, this.settings.partitions);
    const stream = historyKey(this.prefix, partition, appId, channel);
    const brokerChannel = this.command === 'PUBLISH' ? fanOutChannel(this.prefix) : shardChannel(this.prefix, partition, appId, channel);
    return { stream, meta: `${stream}:meta`, brokerChannel };
  }

  /** The position outlives the frames: a client back after a quiet spell is told it missed nothing. */
  private metaTtlSeconds(rule: HistoryRule): number {
    return Math.max(this.settings.positionTtlSeconds, rule.ttlSeconds);
  }
}
