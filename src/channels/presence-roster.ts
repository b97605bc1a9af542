import { ChannelIndex } from './channel-index.js';

/** A presence member as the protocol shows it: `user_id` always a string, `user_info` any JSON value. */
export interface PresenceMember {
  readonly userId: string;
  readonly userInfo: unknown;
}

export interface PresenceSnapshot {
  readonly ids: string[];
  readonly hash: Record<string, unknown>;
  readonly count: number;
}

/** One user in one channel of this node. */
export interface RosterEntry {
  readonly userInfo: unknown;
  sockets: number;
  /**
   * Settles once the cluster has admitted the user (true) or found the channel full (false). Every socket of
   * the user waits on the first one's admission, so they are all admitted or all refused.
   */
  admission: Promise<boolean>;
  /** Admitted, so shown to others. */
  isAdmitted: boolean;
}

interface ChannelEntries {
  readonly appId: string;
  readonly channel: string;
  readonly users: Map<string, RosterEntry>;
}

const UNDECIDED: Promise<boolean> = new Promise(() => {});

/**
 * Who is in each presence channel of this node, counted per user: a user with several sockets in a channel
 * is one member. join/leave report a user's first and last socket here; whether that is also the first or
 * last in the cluster is the cluster store's to say (PresenceChannels). Keyed by the ChannelIndex topic.
 */
export class PresenceRoster {
  private readonly channels = new Map<string, ChannelEntries>();

  memberCount(topic: string): number {
    return this.channels.get(topic)?.users.size ?? 0;
  }

  has(topic: string, userId: string): boolean {
    return this.channels.get(topic)?.users.has(userId) ?? false;
  }

  /** Adds a socket of the member; `first` is its first here, whose admission the caller must then set. */
  join(appId: string, channel: string, member: PresenceMember): { entry: RosterEntry; first: boolean } {
    const topic = ChannelIndex.topic(appId, channel);
    let entries = this.channels.get(topic);
    if (!entries) this.channels.set(topic, (entries = { appId, channel, users: new Map() }));
    const entry = entries.users.get(member.userId);
    if (entry) {
      entry.sockets++;
      return { entry, first: false };
    }
    const created: RosterEntry = { userInfo: member.userInfo, sockets: 1, admission: UNDECIDED, isAdmitted: false };
    entries.users.set(member.userId, created);
    return { entry: created, first: true };
  }

  /** Removes a socket of the user; `last` when it was the user's last here. */
  leave(topic: string, userId: string): 'last' | 'remaining' {
    const entry = this.channels.get(topic)?.users.get(userId);
    if (!entry) return 'remaining';
    if (--entry.sockets > 0) return 'remaining';
    this.drop(topic, userId);
    return 'last';
  }

  /** Removes the user with every socket waiting on it (the cluster refused it). */
  drop(topic: string, userId: string): void {
    const entries = this.channels.get(topic);
    entries?.users.delete(userId);
    if (entries?.users.size === 0) this.channels.delete(topic);
  }

  /** The admitted members of a channel. */
  members(topic: string): PresenceMember[] {
    const members: PresenceMember[] = [];
    for (const [userId, entry] of this.channels.get(topic)?.users ?? []) if (entry.isAdmitted) members.push({ userId, userInfo: entry.userInfo });
    return members;
  }

  /** Every admitted member of every channel, for writing this node's state to the cluster store again. */
  *all(): Generator<{ appId: string; channel: string; userId: string; userInfo: unknown }> {
    for (const { appId, channel, users } of this.channels.values()) {
      for (const [userId, entry] of users) if (entry.isAdmitted) yield { appId, channel, userId, userInfo: entry.userInfo };
    }
  }
}

/** The roster as subscription_succeeded carries it. */
export function snapshotOf(members: readonly PresenceMember[]): PresenceSnapshot {
  const hash: Record<string, unknown> = {};
  for (const { userId, userInfo } of members) hash[userId] = userInfo;
  return { ids: members.map((m) => m.userId), hash, count: members.length };
}
