import { type ChannelName, topicOf } from '../protocol/frames.js';
import type { PresenceMember } from '../protocol/presence-member.js';

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
  readonly channel: ChannelName;
  readonly users: Map<string, RosterEntry>;
}

const UNDECIDED: Promise<boolean> = new Promise(() => {});

/**
 * Who is in each presence channel of this node, counted per user: a user with several sockets in a channel
 * is one member. join/leave report a user's first and last socket here; whether that is also the first or
 * last in the cluster is the cluster store's to say (PresenceChannels).
 */
export class PresenceRoster {
  private readonly channels = new Map<string, ChannelEntries>();

  memberCount(appId: string, channel: ChannelName): number {
    return this.entries(appId, channel)?.users.size ?? 0;
  }

  has(appId: string, channel: ChannelName, userId: string): boolean {
    return this.entries(appId, channel)?.users.has(userId) ?? false;
  }

  /** Adds a socket of the member; `first` is its first here, whose admission the caller must then set. */
  join(appId: string, channel: ChannelName, member: PresenceMember): { entry: RosterEntry; first: boolean } {
    const topic = topicOf(appId, channel);
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
  leave(appId: string, channel: ChannelName, userId: string): 'last' | 'remaining' {
    const entry = this.entries(appId, channel)?.users.get(userId);
    if (!entry) return 'remaining';
    if (--entry.sockets > 0) return 'remaining';
    this.drop(appId, channel, userId);
    return 'last';
  }

  /** Removes the user with every socket waiting on it (the cluster refused it). */
  drop(appId: string, channel: ChannelName, userId: string): void {
    const entries = this.entries(appId, channel);
    entries?.users.delete(userId);
    if (entries?.users.size === 0) this.channels.delete(topicOf(appId, channel));
  }

  /** The admitted members of a channel. */
  members(appId: string, channel: ChannelName): PresenceMember[] {
    const members: PresenceMember[] = [];
    for (const [userId, entry] of this.entries(appId, channel)?.users ?? []) if (entry.isAdmitted) members.push({ userId, userInfo: entry.userInfo });
    return members;
  }

  /** Every admitted member of every channel, for writing this node's state to the cluster store again. */
  *all(): Generator<{ appId: string; channel: ChannelName; userId: string; userInfo: unknown }> {
    for (const { appId, channel, users } of this.channels.values()) {
      for (const [userId, entry] of users) if (entry.isAdmitted) yield { appId, channel, userId, userInfo: entry.userInfo };
    }
  }

  private entries(appId: string, channel: ChannelName): ChannelEntries | undefined {
    return this.channels.get(topicOf(appId, channel));
  }
}
