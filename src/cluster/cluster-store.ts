import type { PresenceMember } from '../protocol/presence-member.js';

/**
 * The cluster-wide state REST and presence read (D12): presence members, subscription counts and connection
 * counts, each entry owned by the node that wrote it. A node is live while it keeps heartbeating; what a node
 * that stopped heartbeating owned is ignored by every read once its timeout passes, and removed by the next
 * heartbeat of any live node, which reports the presence members that left with it.
 *
 * A node writes only its own entries and reads only the other nodes': what it holds itself it reads from
 * memory, exactly and without a round trip. Decisions (who gets member_added, what a query answers) are made
 * above this seam; implementations only store and read.
 */
export interface ClusterStore {
  /** Joins the cluster. `snapshot` is this node's state, written again whenever the store had lost it. */
  start(snapshot: () => NodeSnapshot): Promise<void>;
  /**
   * Records this node's member (its first socket of that user in the channel). `added` when no other live
   * node has the user there (member_added is due), `known` when one has, `full` (nothing recorded) when the
   * user is new and the live nodes already hold `limit` distinct users.
   */
  addMember(appId: string, channel: string, member: PresenceMember, limit: number): Promise<MemberOutcome>;
  /**
   * Removes this node's member (its last socket of that user left). True when no live node has the user in
   * the channel any more (member_removed is due). `channelEmpty`: this node has no members there now.
   */
  removeMember(appId: string, channel: string, userId: string, channelEmpty: boolean): Promise<boolean>;
  /** The channel's members on the other live nodes (a user on several nodes appears once). */
  otherMembers(appId: string, channel: string): Promise<PresenceMember[]>;
  /** This node's subscription count of a channel, 0 when it has none. May be written lazily, but in order. */
  setSubscriptions(appId: string, channel: string, count: number): void;
  /** The app's occupied channels on the other live nodes, with their subscription counts summed. */
  otherSubscriptions(appId: string): Promise<Map<string, number>>;
  otherSubscriptionCount(appId: string, channel: string): Promise<number>;
  /**
   * Says this node is alive for another node timeout, with its connections per app; removes the nodes
   * whose timeout passed. Called every heartbeat interval.
   */
  heartbeat(connections: ReadonlyMap<string, number>): Promise<Heartbeat>;
  /**
   * Leaves the cluster: removes everything this node owns, and answers its presence members that no other live
   * node holds (member_removed is due for each; the caller announces them before it lets go of the broker).
   */
  close(): Promise<MemberRef[]>;
}

export type MemberOutcome = 'added' | 'known' | 'full';

/** A presence member, by id, in one app's channel. */
export interface MemberRef {
  readonly appId: string;
  readonly channel: string;
  readonly userId: string;
}

export interface Heartbeat {
  /** Connections per app on the other live nodes: admission adds them to this node's own. */
  readonly otherConnections: Map<string, number>;
  /** Members that were only on nodes removed by this heartbeat: member_removed is due for each. */
  readonly departed: MemberRef[];
  /**
   * This node had been removed from the store (taken for dead, or the store lost its data) and has written
   * its state again since the last heartbeat: the others may have announced its members' departure, so
   * member_added is due for each of its members.
   */
  readonly rejoined: boolean;
  /** The ids of the other live nodes. */
  readonly liveNodes: ReadonlySet<string>;
}

/** Everything this node owns in the store, as its own memory has it. */
export interface NodeSnapshot {
  readonly members: Iterable<MemberRef & { readonly userInfo: unknown }>;
  readonly subscriptions: Iterable<readonly [appId: string, channel: string, count: number]>;
}

const NONE = Promise.resolve([]);

/**
 * A single node: there are no other nodes to read and nobody to tell. The default. Member limits are
 * checked against the node's own roster above the seam, so this store never answers `full`.
 */
export class SingleNodeStore implements ClusterStore {
  async start(): Promise<void> {}

  addMember(): Promise<MemberOutcome> {
    return Promise.resolve('added');
  }

  removeMember(): Promise<boolean> {
    return Promise.resolve(true);
  }

  otherMembers(): Promise<PresenceMember[]> {
    return NONE;
  }

  setSubscriptions(): void {}

  async otherSubscriptions(): Promise<Map<string, number>> {
    return new Map();
  }

  async otherSubscriptionCount(): Promise<number> {
    return 0;
  }

  async heartbeat(): Promise<Heartbeat> {
    return { otherConnections: new Map(), departed: [], rejoined: false, liveNodes: new Set() };
  }

  async close(): Promise<MemberRef[]> {
    return [];
  }
}
