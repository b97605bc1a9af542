import { type ClusterStore, type MemberRef, ONLINE_USERS } from '../cluster/cluster-store.js';
import { type Logger, throttledLog } from '../log.js';
import { encodeFrame } from '../protocol/codec.js';
import { type Dialect, ServerEvents } from '../protocol/frames.js';
import type { Subscriber } from './fan-out.js';

/** A connection watching users: where its watchlist events go. */
export type Watching = Pick<Subscriber, 'connection' | 'dialect'>;

export type OnlineEvent = 'online' | 'offline';

interface Watchlist {
  readonly keys: readonly string[];
  /** Frames held until the connection's first status has gone out, so none is lost or overtaken. */
  held: string[] | undefined;
}

/**
 * Watchlist events (Pusher), for apps with watchlistEvents on. A user is online while at least one connection in
 * the cluster is signed in as that user. A connection that signed in with a watchlist gets
 * `<prefix>_internal:watchlist_events` `{events: [{name, user_ids}]}`: at sign-in the watched users online then, and
 * afterwards each watched user that comes online or goes offline.
 *
 * This node counts its own connections per user; only a user's first and last connection here asks the store,
 * which says whether another node has the user (the roster ONLINE_USERS): then online or offline is due, and
 * announced to every node (a `user` message), each of which tells its own watchers. A node that dies takes its users
 * offline through the store (departed); a node the store had lost announces its users online again (announceAll).
 * While the store cannot be reached, this node decides alone, as presence does.
 */
export class Watchlists {
  /** `<app>\n<user>` → this node's connections signed in as the user. */
  private readonly signedIn = new Map<string, number>();
  /** `<app>\n<user>` → the connections here watching the user. */
  private readonly watchers = new Map<string, Set<Watching>>();
  private readonly watchlists = new Map<Watching, Watchlist>();
  /** Decisions of the store under way: a node that leaves waits for them. */
  private readonly deciding = new Set<Promise<void>>();
  private readonly logAlone: (fields: Record<string, unknown>) => void;

  constructor(
    private readonly store: ClusterStore,
    /** Tells the other nodes that a user came online or went offline. */
    private readonly announce: (appId: string, event: OnlineEvent, userId: string) => void,
    log: Logger,
  ) {
    this.logAlone = throttledLog(log, 'warn', 'cluster store unreachable; online users are decided on this node alone');
  }

  /**
   * A connection signed in as `userId`, with the users it watches (its previous watchlist, if any, is dropped). A
   * connection signed in before as `previous` is that user no more; signed in again as the same user, it stays online.
   */
  signIn(appId: string, connection: Watching, userId: string, watchlist: readonly string[], previous?: string): void {
    this.unwatch(connection);
    if (previous !== userId) {
      if (previous !== undefined) this.depart(appId, previous);
      this.arrive(appId, userId);
    }
    if (watchlist.length > 0) this.watch(appId, connection, watchlist);
  }

  /** A connection signed in as `userId` closed. */
  signOut(appId: string, connection: Watching, userId: string): void {
    this.unwatch(connection);
    this.depart(appId, userId);
  }

  /** One more connection here is signed in as the user; the first asks the store whether the user is online now. */
  private arrive(appId: string, userId: string): void {
    const key = userKey(appId, userId);
    const here = this.signedIn.get(key) ?? 0;
    this.signedIn.set(key, here + 1);
    if (here === 0) this.decide(this.store.userOnline(appId, userId), (isOnline) => isOnline && this.publish(appId, 'online', userId));
  }

  /** One connection here fewer is signed in as the user; the last asks the store whether the user is offline now. */
  private depart(appId: string, userId: string): void {
    const key = userKey(appId, userId);
    const here = (this.signedIn.get(key) ?? 1) - 1;
    if (here > 0) return void this.signedIn.set(key, here);
    this.signedIn.delete(key);
    this.decide(this.store.userOffline(appId, userId), (isOffline) => isOffline && this.publish(appId, 'offline', userId));
  }

  private unwatch(connection: Watching): void {
    const watchlist = this.watchlists.get(connection);
    if (!watchlist) return;
    this.watchlists.delete(connection);
    for (const key of watchlist.keys) {
      const set = this.watchers.get(key);
      if (set?.delete(connection) && set.size === 0) this.watchers.delete(key);
    }
  }

  /** Tells this node's watchers of the user (from this node's decisions and from the other nodes'). */
  deliver(appId: string, event: OnlineEvent, userId: string): void {
    const watching = this.watchers.get(userKey(appId, userId));
    if (!watching) return;
    const data = eventsData([{ name: event, user_ids: [userId] }]);
    const frames: Partial<Record<Dialect, string>> = {};
    for (const connection of watching) {
      const frame = (frames[connection.dialect] ??= encodeFrame(ServerEvents[connection.dialect].watchlistEvents, data));
      const held = this.watchlists.get(connection)?.held;
      if (held) held.push(frame);
      else connection.connection.send(frame);
    }
  }

  /** Members that left the cluster with a dead node: its users (in ONLINE_USERS) are offline. */
  departed(members: readonly MemberRef[]): void {
    for (const { appId, channel, userId } of members) if (channel === ONLINE_USERS) this.publish(appId, 'offline', userId);
  }

  /** After the store had lost this node, the others may have taken its users offline: online again, for all. */
  announceAll(): void {
    for (const [appId, userId] of this.own()) this.publish(appId, 'online', userId);
  }

  /** The users signed in here, for writing this node's state to the store again. */
  *own(): Generator<[appId: string, userId: string]> {
    for (const key of this.signedIn.keys()) {
      const at = key.indexOf('\n');
      yield [key.slice(0, at), key.slice(at + 1)];
    }
  }

  /** Resolves once every decision under way has been made and announced. */
  async settled(): Promise<void> {
    while (this.deciding.size > 0) await Promise.all([...this.deciding]);
  }

  /**
   * Starts telling `connection` about its watched users: first those online now (here, or on another node as
   * the store says), then each change. Changes that come while the store is read are held and sent after.
   */
  private watch(appId: string, connection: Watching, userIds: readonly string[]): void {
    const keys = userIds.map((id) => userKey(appId, id));
    const watchlist: Watchlist = { keys, held: [] };
    this.watchlists.set(connection, watchlist);
    for (const key of keys) {
      const set = this.watchers.get(key);
      if (set) set.add(connection);
      else this.watchers.set(key, new Set([connection]));
    }
    const onlineHere = userIds.filter((id) => this.signedIn.has(userKey(appId, id)));
    const unknown = userIds.filter((id) => !this.signedIn.has(userKey(appId, id)));
    const elsewhere = this.store.onlineElsewhere(appId, unknown).catch((error: unknown) => this.alone(error, [] as string[]));
    this.track(elsewhere.then((others) => {
      const held = watchlist.held ?? [];
      watchlist.held = undefined;
      if (this.watchlists.get(connection) !== watchlist) return;
      const online = onlineHere.concat(others);
      if (online.length > 0) connection.connection.send(encodeFrame(ServerEvents[connection.dialect].watchlistEvents, eventsData([{ name: 'online', user_ids: online }])));
      for (const frame of held) connection.connection.send(frame);
    }));
  }

  /** An event for the whole cluster: this node's watchers, then every other node's. */
  private publish(appId: string, event: OnlineEvent, userId: string): void {
    this.deliver(appId, event, userId);
    this.announce(appId, event, userId);
  }

  /** A decision of the store; while the store cannot be reached, this node decides alone: nobody else has the user. */
  private decide(answer: Promise<boolean>, act: (isDue: boolean) => void): void {
    this.track(answer.catch((error: unknown) => this.alone(error, true)).then(act));
  }

  private alone<T>(error: unknown, value: T): T {
    this.logAlone({ error: String(error) });
    return value;
  }

  private track(work: Promise<void>): void {
    this.deciding.add(work);
    void work.then(() => this.deciding.delete(work));
  }
}

function userKey(appId: string, userId: string): string {
  return `${appId}\n${userId}`;
}

function eventsData(events: ReadonlyArray<{ name: OnlineEvent; user_ids: readonly string[] }>): string {
  return JSON.stringify({ events });
}
