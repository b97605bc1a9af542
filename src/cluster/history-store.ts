import type { HistoryRule } from '../apps/app-registry.js';

/**
 * A place in a channel's stream (D18). The epoch names one life of the stream: it changes whenever the stream
 * is lost (a restarted single node, a Redis key that vanished), so a position from an earlier life never
 * matches. Offsets count the stream's publications from 1; offset 0 is the position before the first one.
 */
export interface StreamPosition {
  readonly epoch: string;
  readonly offset: number;
}

/** A publication kept in a channel's stream, as every node delivers it. */
export interface StoredPublication extends StreamPosition {
  readonly appId: string;
  /** The channel's wire name. */
  readonly channel: string;
  /** The frame as subscribers receive it, its `offset` included. */
  readonly frame: string;
  /** Pusher's socket_id exclusion: that connection, on whichever node holds it, does not receive it live. */
  readonly exceptSocketId?: string | undefined;
}

/** What a read of a stream found: its epoch and last offset, and the kept frames asked for. */
export interface StreamRead extends StreamPosition {
  /** The kept publications after the offset asked for, oldest first, at most as many as asked for. */
  readonly events: ReadonlyArray<{ readonly offset: number; readonly frame: string }>;
}

/**
 * The streams of the channels that keep history (D18). Siblings: memory-history-store.ts (one node) and
 * redis-history-store.ts (a cluster: Redis Streams).
 *
 * Contract:
 * - `append` gives the frame the channel's next offset, keeps it (the latest `rule.size` of them, for
 *   `rule.ttlSeconds` after the channel's last publication) and has it delivered on every node exactly once,
 *   in offset order. A single node's store answers at once with the publication for the caller to deliver; a
 *   cluster's store resolves once Redis has appended it and published it to every node, the caller's
 *   included, through the broker's channel: assigning the offset, keeping the frame and publishing it are
 *   one atomic step, so every node sees a channel's publications in offset order. It rejects when the
 *   stream cannot be written, and then nothing was delivered anywhere.
 * - `read` answers the stream's epoch and last offset (making the stream, with a new epoch, if it has none),
 *   with the kept publications after `after`, at most `limit` of them. A read refreshes the position's
 *   expiry (historyPositionTtlSeconds), so a channel that is subscribed to keeps its epoch. A read `forSubscriber`
 *   resolves only once this node has been delivered every publication up to the offset it answers (in a cluster
 *   they travel on another connection than the read's answer), so a subscription answered with that offset can
 *   take the channel's live frames from then on without a duplicate.
 * - Frames are JSON objects' text; the store adds `,"offset":N` before the closing brace (withOffset), so
 *   the publisher encodes a frame once, before its offset is known.
 */
export interface HistoryStore {
  start(): Promise<void>;
  append(appId: string, channel: string, rule: HistoryRule, frame: string, exceptSocketId: string | undefined): StoredPublication | Promise<void>;
  read(appId: string, channel: string, rule: HistoryRule, after: number, limit: number, forSubscriber?: boolean): Promise<StreamRead>;
  /** A cluster's store: the broker delivered the marker a read `forSubscriber` had Redis publish (ClusterNode routes it). */
  marked?(readId: string): void;
  close(): Promise<void>;
}

/** The frame (a JSON object's text) with its offset as the last member; the same splice as the Redis script's. */
export function withOffset(frame: string, offset: number): string {
  return `${frame.slice(0, -1)},"offset":${offset}}`;
}
