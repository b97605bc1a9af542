import type { App } from '../apps/app-registry.js';
import type { ClusterStore, MemberRef } from '../cluster/cluster-store.js';
import type { Logger } from '../log.js';
import { encodeFrame } from '../protocol/codec.js';
import { type Dialect, ServerEvents } from '../protocol/frames.js';
import { type PresenceMember, type PresenceSnapshot, snapshotOf } from '../protocol/presence-member.js';
import type { ChannelIndex } from './channel-index.js';
import { PresenceRoster } from './presence-roster.js';

/** member_added or member_removed on one channel, its data JSON text the same in every dialect. */
export interface MemberEvent {
  readonly appId: string;
  readonly channel: string;
  readonly kind: 'memberAdded' | 'memberRemoved';
  readonly data: string;
}

/**
 * What the app's webhooks (src/webhooks/) take from presence: whether they follow a channel's members, and
 * the cluster-wide decisions. A user's departure is recorded as pending in the same store step that decides it.
 */
export interface MemberWebhooks {
  /** The grace period of the channel's member departures when webhooks follow its members, else undefined. */
  graceMs(appId: string, channel: string): number | undefined;
  /** member_added is due cluster-wide (and the user was not merely back within a grace period). */
  memberAdded(appId: string, channel: string, userId: string): void;
  /** The user left the cluster: its departure is pending in the store for `graceMs`. */
  memberLeaving(appId: string, channel: string, userId: string, graceMs: number): void;
}

/**
 * Presence across the cluster (Pusher semantics): member_added goes out on a user's first socket in a
 * channel anywhere in the cluster, member_removed on its last. This node's sockets are counted in its
 * roster; only a user's first and last socket here ask the cluster store, which says whether another node
 * has the user. While the store is unreachable, this node decides alone (and says so in the log): local
 * presence keeps working, and the store gets this node's state again once it is back.
 */
export class PresenceChannels {
  private readonly roster = new PresenceRoster();
  /** Departures being decided by the store and announced: a node that leaves waits for them. */
  private readonly leaving = new Set<Promise<void>>();
  private storeFailing = false;

  constructor(
    private readonly index: ChannelIndex,
    private readonly store: ClusterStore,
    /** Sends a member event to the other nodes, which deliver it to their subscribers. */
    private readonly announce: (event: MemberEvent) => void,
    private readonly log: Logger,
    private readonly webhooks?: MemberWebhooks,
  ) {}

  /**
   * Adds a socket of `member`, once the cluster admits the user; resolves to false when the channel is full.
   * The caller adds the socket to the channel only then, so it never receives its own member_added, and reads
   * the roster (snapshot) after that; if it no longer wants the channel by then, it must still call leave.
   */
  async join(app: App, channel: string, member: PresenceMember): Promise<boolean> {
    if (!this.roster.has(app.id, channel, member.userId) && this.roster.memberCount(app.id, channel) >= app.maxPresenceMembers) return false;
    const { entry, first } = this.roster.join(app.id, channel, member);
    if (first) {
      entry.admission = this.admit(app, channel, member).then((outcome) => {
        if (outcome === 'full') {
          this.roster.drop(app.id, channel, member.userId);
          return false;
        }
        entry.isAdmitted = true;
        if (outcome === 'added' || outcome === 'returned') this.publish({ appId: app.id, channel, kind: 'memberAdded', data: JSON.stringify({ user_id: member.userId, user_info: member.userInfo }) });
        if (outcome === 'added') this.webhooks?.memberAdded(app.id, channel, member.userId);
        return true;
      });
    }
    return entry.admission;
  }

  /** Removes an admitted socket of the user. */
  leave(appId: string, channel: string, userId: string): void {
    if (this.roster.leave(appId, channel, userId) !== 'last') return;
    const graceMs = this.webhooks?.graceMs(appId, channel);
    const removal = this.store.removeMember(appId, channel, userId, this.roster.memberCount(appId, channel) === 0, graceMs);
    const announced = this.orAlone(removal, true).then((gone) => {
      if (!gone) return;
      this.publish({ appId, channel, kind: 'memberRemoved', data: JSON.stringify({ user_id: userId }) });
      if (graceMs !== undefined) this.webhooks?.memberLeaving(appId, channel, userId, graceMs);
    });
    this.leaving.add(announced);
    void announced.then(() => this.leaving.delete(announced));
  }

  /** Resolves once every departure under way has been decided and its member_removed sent. */
  async settled(): Promise<void> {
    while (this.leaving.size > 0) await Promise.all([...this.leaving]);
  }

  /** The channel's members in the whole cluster; rejects when the cluster store cannot be read. */
  async members(appId: string, channel: string): Promise<PresenceMember[]> {
    const here = this.roster.members(appId, channel);
    const elsewhere = await this.store.otherMembers(appId, channel);
    const ids = new Set(here.map((m) => m.userId));
    return here.concat(elsewhere.filter((m) => !ids.has(m.userId)));
  }

  /** The roster for a socket that (re)subscribed; this node's alone if the store cannot be read. */
  async snapshot(appId: string, channel: string): Promise<PresenceSnapshot> {
    return snapshotOf(await this.membersOrLocal(appId, channel));
  }

  /** Members that left the cluster with a node that died: member_removed for each. */
  departed(members: readonly MemberRef[]): void {
    for (const { appId, channel, userId } of members) this.publish({ appId, channel, kind: 'memberRemoved', data: JSON.stringify({ user_id: userId }) });
  }

  /**
   * member_added for every admitted member of this node, cluster-wide: after the store had lost this node,
   * the others may have announced these members' departure. A member a client still has is only added again.
   */
  announceAll(): void {
    for (const { appId, channel, userId, userInfo } of this.roster.all()) {
      this.publish({ appId, channel, kind: 'memberAdded', data: JSON.stringify({ user_id: userId, user_info: userInfo }) });
    }
  }

  /** This node's admitted members, for writing its state to the cluster store again. */
  own(): Iterable<MemberRef & { readonly userInfo: unknown }> {
    return this.roster.all();
  }

  /**
   * Sends a member event to this node's subscribers of the channel, encoded once per dialect, and shows it to
   * the channel's watchers in the broadcastt dialect. Not the publish hot path: it runs on joins and leaves only.
   */
  deliver({ appId, channel, kind, data }: MemberEvent): void {
    const frames: Partial<Record<Dialect, string>> = {};
    const frameFor = (dialect: Dialect) => (frames[dialect] ??= encodeFrame(ServerEvents[dialect][kind], data, channel));
    for (const member of this.index.members(appId, channel)) member.deliverMemberEvent(channel, frameFor(member.dialect));
    this.index.tellWatchers(appId, channel, () => frameFor('broadcastt'));
  }

  /** A member event for the whole cluster: this node's subscribers, then every other node's. */
  private publish(event: MemberEvent): void {
    this.deliver(event);
    this.announce(event);
  }

  private admit(app: App, channel: string, member: PresenceMember) {
    const trackDepartures = this.webhooks?.graceMs(app.id, channel) !== undefined;
    return this.orAlone(this.store.addMember(app.id, channel, member, app.maxPresenceMembers, trackDepartures), 'added' as const);
  }

  private async membersOrLocal(appId: string, channel: string): Promise<PresenceMember[]> {
    return this.orAlone(this.members(appId, channel), this.roster.members(appId, channel));
  }

  /** The store's answer, or what this node decides alone while the store cannot be reached. */
  private async orAlone<T>(answer: Promise<T>, alone: T): Promise<T> {
    try {
      const value = await answer;
      if (this.storeFailing) this.log.info('cluster store reachable again; presence is cluster-wide again');
      this.storeFailing = false;
      return value;
    } catch (error) {
      if (!this.storeFailing) this.log.warn('cluster store unreachable; presence is decided on this node alone', { error: String(error) });
      this.storeFailing = true;
      return alone;
    }
  }
}
