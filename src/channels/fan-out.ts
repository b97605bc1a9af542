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
}

/**
 * Delivery of one already-encoded frame to the members of a topic (an app's channel). This is the hot
 * path: implementations do no JSON work, allocate nothing per recipient and never await.
 *
 * The ChannelIndex owns membership and calls join/leave on every change, so an implementation may
 * mirror membership natively (uWS topics) or simply walk the set it is handed.
 *
 * Slow consumers are not handled here: a send to a full buffer is dropped by the transport, and the
 * gateway's sweep closes such connections with 4101 (see README "Slow consumers").
 */
export interface FanOut {
  join(topic: string, subscriber: Subscriber): void;
  leave(topic: string, subscriber: Subscriber): void;
  deliver(topic: string, members: ReadonlySet<Subscriber>, frame: string, except?: Subscriber): void;
}

/** Walks the member set and sends to each connection. Works with any Connection. */
export class LoopFanOut implements FanOut {
  join(): void {}

  leave(): void {}

  deliver(_topic: string, members: ReadonlySet<Subscriber>, frame: string, except?: Subscriber): void {
    for (const member of members) if (member !== except) member.connection.send(frame);
  }
}
