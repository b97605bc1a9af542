import type { StreamPosition } from '../cluster/history-store.js';
import type { Connection } from '../protocol/connection.js';
import type { Dialect } from '../protocol/frames.js';

/** Anything that can be a channel member: a session, reached through its connection. */
export interface Subscriber {
  readonly connection: Connection;
  /** Internal events (presence) are named per dialect, so senders encode once per dialect. */
  readonly dialect: Dialect;
  /**
   * A member_added or member_removed of a presence channel it is in. A subscriber whose roster for that
   * channel is still being read holds these until it has sent the roster, so none is lost or reordered.
   */
  deliverMemberEvent(channel: string, frame: string): void;
  /**
   * A publication on a channel that it joined held (ChannelIndex.join): its subscription answer is still being
   * prepared, and it keeps the frame until then; on a history channel with its position, to send what follows
   * the position it answers.
   */
  hold(channel: string, frame: string, position?: StreamPosition): void;
}

/**
 * Delivery of one already-encoded frame to the members of a topic (an app's channel). This is the hot
 * path: implementations do no JSON work, allocate nothing per recipient and never await.
 *
 * The ChannelIndex owns membership. It calls join when a member is to receive the topic's frames (when it
 * joins, or when a member that joined held is attached) and leave when it stops, and implementations deliver
 * to exactly those (uWS topics, or a mirror of them). `members` is the index's set, held members included.
 *
 * Slow consumers are not handled here: a send to a full buffer is dropped by the transport, and the
 * gateway's sweep closes such connections with 4101 (see README "Slow consumers").
 */
export interface FanOut {
  join(topic: string, subscriber: Subscriber): void;
  leave(topic: string, subscriber: Subscriber): void;
  deliver(topic: string, members: ReadonlySet<Subscriber>, frame: string, except?: Subscriber): void;
}

/**
 * Sends to each connection the topic has, which it keeps from join and leave as uWS keeps its topics (the
 * index's members include those that joined held, which are not in the topic yet). Works with any Connection.
 */
export class LoopFanOut implements FanOut {
  private readonly topics = new Map<string, Set<Subscriber>>();

  join(topic: string, subscriber: Subscriber): void {
    const set = this.topics.get(topic);
    if (set) set.add(subscriber);
    else this.topics.set(topic, new Set([subscriber]));
  }

  leave(topic: string, subscriber: Subscriber): void {
    const set = this.topics.get(topic);
    if (set?.delete(subscriber) && set.size === 0) this.topics.delete(topic);
  }

  deliver(topic: string, _members: ReadonlySet<Subscriber>, frame: string, except?: Subscriber): void {
    for (const member of this.topics.get(topic) ?? []) if (member !== except) member.connection.send(frame);
  }
}
