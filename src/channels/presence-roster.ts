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

interface Entry {
  userInfo: unknown;
  sockets: number;
}

/**
 * Who is in each presence channel of this node, counted per user: a user with several sockets in a channel
 * is one member. join/leave report the first and last socket of a user, which is when member_added and
 * member_removed are sent. Keyed by the ChannelIndex topic.
 */
export class PresenceRoster {
  private readonly channels = new Map<string, Map<string, Entry>>();

  memberCount(topic: string): number {
    return this.channels.get(topic)?.size ?? 0;
  }

  has(topic: string, userId: string): boolean {
    return this.channels.get(topic)?.has(userId) ?? false;
  }

  join(topic: string, member: PresenceMember): 'first' | 'another' {
    let users = this.channels.get(topic);
    if (!users) this.channels.set(topic, (users = new Map()));
    const entry = users.get(member.userId);
    if (entry) {
      entry.sockets++;
      return 'another';
    }
    users.set(member.userId, { userInfo: member.userInfo, sockets: 1 });
    return 'first';
  }

  leave(topic: string, userId: string): 'last' | 'remaining' {
    const users = this.channels.get(topic);
    const entry = users?.get(userId);
    if (!users || !entry) return 'remaining';
    if (--entry.sockets > 0) return 'remaining';
    users.delete(userId);
    if (users.size === 0) this.channels.delete(topic);
    return 'last';
  }

  snapshot(topic: string): PresenceSnapshot {
    const users = this.channels.get(topic) ?? new Map<string, Entry>();
    const hash: Record<string, unknown> = {};
    for (const [userId, entry] of users) hash[userId] = entry.userInfo;
    return { ids: [...users.keys()], hash, count: users.size };
  }
}
