import { nanoid } from 'nanoid';
import type { HistoryRule } from '../apps/app-registry.js';
import { type HistoryStore, type StoredPublication, type StreamRead, withOffset } from './history-store.js';

export interface MemoryHistorySettings {
  /** Bytes all streams may hold; beyond it the streams used least recently are dropped, epoch and all. */
  readonly maxBytes: number;
  /** How long a stream's position outlives its last publication or read, at least (its rule's TTL may be longer). */
  readonly positionTtlMs: number;
  readonly now?: () => number;
  /** How often expired streams are dropped; they are also dropped when next used. */
  readonly sweepIntervalMs?: number;
}

/** Bytes a stream costs besides its frames and key: its object, its array and its slot in the map, roughly. */
const STREAM_OVERHEAD_BYTES = 200;
/** UTF-16 code units are counted as two bytes each: what V8 holds at most for a string. */
const BYTES_PER_CHAR = 2;
const DEFAULT_SWEEP_INTERVAL_MS = 10_000;
/** Characters of a random epoch: new epochs must never repeat an old one. */
const EPOCH_LENGTH = 10;

/** One channel's stream: its position and its latest frames, oldest first, from `frames[head]`. */
interface Stream {
  readonly epoch: string;
  readonly keyBytes: number;
  /** The last offset given. */
  top: number;
  frames: Array<string | undefined>;
  head: number;
  frameBytes: number;
  /** When the frames are dropped unless the channel is published on again. */
  framesExpireAt: number;
  /** When the stream (its epoch) is dropped unless it is published on or read again. */
  expiresAt: number;
}

/**
 * The history of a single node (D18): a stream per channel in memory, lost with the process (the next
 * process starts new epochs, so no position of the old one matches). Bounded: a stream keeps at most its
 * rule's size, its frames expire ttlSeconds after its last publication, and all streams together hold at most
 * `maxBytes`, beyond which the least recently used streams are dropped whole. Synchronous: `append` answers
 * with the publication to deliver, and a read's promise is already settled.
 */
export class MemoryHistoryStore implements HistoryStore {
  /** Keyed by app and channel, in order of last use (a use moves a stream to the end): the first is dropped first. */
  private readonly streams = new Map<string, Stream>();
  private bytes = 0;
  private readonly now: () => number;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly settings: MemoryHistorySettings) {
    this.now = settings.now ?? Date.now;
  }

  async start(): Promise<void> {
    this.sweepTimer ??= setInterval(() => this.sweep(), this.settings.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS).unref();
  }

  append(appId: string, channel: string, rule: HistoryRule, frame: string, exceptSocketId: string | undefined): StoredPublication {
    const stream = this.use(appId, channel, rule);
    const offset = ++stream.top;
    const stored = withOffset(frame, offset);
    stream.frames.push(stored);
    this.grow(stream, stored.length * BYTES_PER_CHAR);
    if (stream.frames.length - stream.head > rule.size) this.dropOldest(stream);
    stream.framesExpireAt = this.now() + rule.ttlSeconds * 1000;
    this.evictOverBudget();
    return { appId, channel, epoch: stream.epoch, offset, frame: stored, exceptSocketId };
  }

  /** Publications are delivered as they are appended, so a read `forSubscriber` needs no wait. */
  async read(appId: string, channel: string, rule: HistoryRule, after: number, limit: number, _forSubscriber = false): Promise<StreamRead> {
    const stream = this.use(appId, channel, rule);
    this.evictOverBudget();
    const oldest = stream.top - (stream.frames.length - stream.head) + 1;
    const events: Array<{ offset: number; frame: string }> = [];
    for (let offset = Math.max(after + 1, oldest); offset <= stream.top && events.length < limit; offset++) {
      events.push({ offset, frame: stream.frames[stream.head + offset - oldest] as string });
    }
    return { epoch: stream.epoch, offset: stream.top, events };
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.streams.clear();
    this.bytes = 0;
  }

  /** Bytes held, for tests and health. */
  get size(): { streams: number; bytes: number } {
    return { streams: this.streams.size, bytes: this.bytes };
  }

  /** The channel's live stream, made (with a new epoch) if it has none, moved to the end of the use order. */
  private use(appId: string, channel: string, rule: HistoryRule): Stream {
    const key = `${appId}:${channel}`;
    const now = this.now();
    let stream = this.streams.get(key);
    if (stream) {
      this.streams.delete(key);
      if (stream.expiresAt <= now) stream = this.drop(stream);
      else if (stream.framesExpireAt <= now) this.dropFrames(stream);
    }
    if (!stream) {
      stream = { epoch: nanoid(EPOCH_LENGTH), keyBytes: key.length * BYTES_PER_CHAR, top: 0, frames: [], head: 0, frameBytes: 0, framesExpireAt: now, expiresAt: now };
      this.bytes += stream.keyBytes + STREAM_OVERHEAD_BYTES;
    }
    stream.expiresAt = now + Math.max(this.settings.positionTtlMs, rule.ttlSeconds * 1000);
    this.streams.set(key, stream);
    return stream;
  }

  private grow(stream: Stream, bytes: number): void {
    stream.frameBytes += bytes;
    this.bytes += bytes;
  }

  /** Drops the oldest frame; the array is compacted once its dropped head outweighs what it keeps. */
  private dropOldest(stream: Stream): void {
    this.grow(stream, -((stream.frames[stream.head] as string).length * BYTES_PER_CHAR));
    stream.frames[stream.head++] = undefined;
    if (stream.head * 2 > stream.frames.length) {
      stream.frames = stream.frames.slice(stream.head);
      stream.head = 0;
    }
  }

  /** The stream keeps its position and loses its frames (its channel was quiet for its rule's TTL). */
  private dropFrames(stream: Stream): void {
    this.grow(stream, -stream.frameBytes);
    stream.frames = [];
    stream.head = 0;
  }

  /** Forgets a stream already taken out of the map; returns undefined so the caller makes a new one. */
  private drop(stream: Stream): undefined {
    this.bytes -= stream.frameBytes + stream.keyBytes + STREAM_OVERHEAD_BYTES;
    return undefined;
  }

  private evictOverBudget(): void {
    for (const [key, stream] of this.streams) {
      if (this.bytes <= this.settings.maxBytes) return;
      this.streams.delete(key);
      this.drop(stream);
    }
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, stream] of this.streams) {
      if (stream.expiresAt <= now) {
        this.streams.delete(key);
        this.drop(stream);
      } else if (stream.framesExpireAt <= now && stream.frameBytes > 0) this.dropFrames(stream);
    }
  }
}
