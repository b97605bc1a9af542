import type { StreamPosition } from '../cluster/history-store.js';
import { type ChannelName, topicOf } from '../protocol/frames.js';

/**
 * The last stored publication this node delivered on each history channel it has members of, so that one
 * that does not follow it is noticed: Redis pub/sub delivers at most once, and a node whose subscription
 * dropped for a moment (a network blip, a killed connection) misses what was published meanwhile. Its
 * members must then be told, or they would go on past the gap as if nothing were missing (Centrifugo calls
 * this positioning). Kept only while the channel has members here: the node forgets it with the last one.
 */
export class StreamContinuity {
  private readonly last = new Map<string, StreamPosition>();

  /**
   * Whether `position` follows the channel's last one: the next offset of the same epoch, or the first seen
   * (of this channel here, or of a new life of its stream). Remembers it either way.
   */
  follows(appId: string, channel: ChannelName, position: StreamPosition): boolean {
    const topic = topicOf(appId, channel);
    const last = this.last.get(topic);
    this.last.set(topic, { epoch: position.epoch, offset: position.offset });
    return last === undefined || last.epoch !== position.epoch || position.offset <= last.offset + 1;
  }

  /** The channel has no members here any more. */
  forget(appId: string, channel: ChannelName): void {
    this.last.delete(topicOf(appId, channel));
  }

  get size(): number {
    return this.last.size;
  }
}
