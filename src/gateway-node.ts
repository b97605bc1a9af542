import { nanoid } from 'nanoid';
import type { App, AppRegistry, HistoryRule } from './apps/app-registry.js';
import { encodeBroadcastEvent } from './broadcasts/broadcast-event.js';
import { type BroadcastOutcome, PendingBroadcasts } from './broadcasts/pending-broadcasts.js';
import { ChannelCache } from './channels/channel-cache.js';
import { ChannelHistory } from './channels/channel-history.js';
import { ChannelIndex, type Watcher } from './channels/channel-index.js';
import { StreamContinuity } from './channels/stream-continuity.js';
import type { FanOut } from './channels/fan-out.js';
import { PresenceChannels } from './channels/presence-channels.js';
import { SubscriptionCounts } from './channels/subscription-counts.js';
import { Watchlists } from './channels/watchlists.js';
import type { ClusterMessage } from './cluster/cluster-message.js';
import { AppLimits, Limit } from './limits/app-limits.js';
import { type GatewayMetrics, NO_METRICS, type RefusalSource } from './metrics/gateway-metrics.js';
import { ClusterNode, type ClusterParts } from './cluster/cluster-node.js';
import { ONLINE_USERS } from './cluster/cluster-store.js';
import type { StoredPublication } from './cluster/history-store.js';
import { ConfigError, type GatewayConfig } from './config.js';
import { AppActivity } from './console/app-activity.js';
import { encodeConsoleResponse } from './console/console-frames.js';
import type { ConsoleNode } from './console/console-node.js';
import { HttpError, ProtocolError, SubscriptionError } from './errors.js';
import { type Logger, throttledLog } from './log.js';
import { isCacheChannel } from './protocol/channel-type.js';
import { encodeFrame } from './protocol/codec.js';
import type { Connection, UpgradeRequest } from './protocol/connection.js';
import type { ChannelName, SocketId } from './protocol/frames.js';
import { socketIdGenerator } from './protocol/socket-id.js';
import { admit, dialectOf, refuse } from './session/admission.js';
import { Session, type SessionHost, type SessionLimits } from './session/session.js';
import { SessionRegistry } from './session/session-registry.js';
import { FALLBACK_WARNING, isNativeUws } from './transport/uws.js';
import type { WebhookStats } from './webhooks/delivery-queue.js';
import { Webhooks } from './webhooks/webhooks.js';

/** Between the node id and the random part of a broadcast id; node ids (nanoid) never contain it. */
const BROADCAST_ID_SEPARATOR = '.';

/** How often every session is checked for liveness and backpressure; bounds how late a 4201/4101 comes. */
const SWEEP_INTERVAL_MS = 1000;

export interface Health {
  readonly status: 'ok' | 'draining';
  readonly nodeId: string;
  readonly uws: { readonly native: boolean; readonly warning?: string };
  readonly connections: number;
  readonly channels: number;
  /** Live nodes of the cluster, this one included, as of the last heartbeat: what the app limits are divided by. */
  readonly clusterNodes: number;
  /** Broadcasts collecting responses on this node. */
  readonly pendingBroadcasts: number;
  readonly uptimeSeconds: number;
  /** This node's webhook deliveries, when an app has webhooks. */
  readonly webhooks?: WebhookStats;
  /**
   * Cluster messages this node has received through Redis since it started: the other nodes', and the stored
   * publications Redis sends it for a history channel. In a cluster routed by channel, only its channels'.
   */
  readonly clusterMessagesReceived: number;
}

export interface NodeParts {
  readonly id: string;
  readonly config: GatewayConfig;
  readonly apps: AppRegistry;
  readonly log: Logger;
  /** How frames reach this node's sockets: uWS topics in the gateway, a loop over the members in tests. */
  readonly fanOut: FanOut;
  readonly cluster: ClusterNode;
  /** The apps' webhooks, when an app has any. */
  readonly webhooks?: Webhooks | undefined;
  /** What the node counts; nothing when metrics are off. */
  readonly metrics?: GatewayMetrics;
  /** What each app did here, for the console; made by the node unless given (create gives it to the webhooks too). */
  readonly activity?: AppActivity;
  readonly now?: () => number;
}

/**
 * One gateway process's share of the service: its sessions, channel index, presence and pending broadcasts,
 * and its place in the cluster. Data moves three ways, each with one verb:
 * - `publish`: a frame onto a channel across the cluster: this node's subscribers, and through the broker
 *   every other node's;
 * - `deliver`: to this node's subscribers only (ChannelIndex.deliver, then FanOut.deliver);
 * - `receive`: another node's message, delivered here.
 * It is the host every Session lives on (SessionHost), and what the REST API and the console act through
 * (ApiNode, ConsoleNode).
 */
export class GatewayNode implements SessionHost, ConsoleNode {
  readonly id: string;
  readonly log: Logger;
  readonly logUnexpected: (fields: Record<string, unknown>) => void;
  readonly now: () => number;
  readonly limits: SessionLimits;
  readonly sessions = new SessionRegistry();
  readonly index: ChannelIndex;
  readonly presence: PresenceChannels;
  /** The cache channels' last events (Pusher cache channels). */
  readonly cache: ChannelCache;
  /** Subscription counts, for apps with subscriptionCount on. */
  readonly counts: SubscriptionCounts;
  /** Online users and who watches them, for apps with watchlistEvents on. */
  readonly watchlists: Watchlists;
  /** The apps' history rules and the channels' streams (D18). */
  readonly history: ChannelHistory;
  /** A broadcast id names the node waiting for its responses, so a response given on any node finds it. */
  readonly broadcasts: PendingBroadcasts;
  /** Publishes counted and refusals kept per app, for the console. */
  readonly activity: AppActivity;
  readonly webhooks: Webhooks | undefined;
  readonly metrics: GatewayMetrics;
  /** The app's cluster-wide limits, this node's share of each (D16). */
  readonly appLimits: AppLimits;
  private readonly apps: AppRegistry;
  private readonly cluster: ClusterNode;
  private readonly logUnstored: (fields: Record<string, unknown>) => void;
  private readonly logMissed: (fields: Record<string, unknown>) => void;
  /** In a cluster: the last publication delivered on each history channel with members here (D18). */
  private readonly continuity = new StreamContinuity();
  private readonly nextSocketId = socketIdGenerator();
  private readonly startedAt: number;
  private sweepTimer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor({ id, config, apps, log, fanOut, cluster, webhooks, metrics = NO_METRICS, now = Date.now, activity = new AppActivity(now) }: NodeParts) {
    this.id = id;
    this.metrics = metrics;
    this.appLimits = new AppLimits(() => cluster.nodeCount, now);
    this.log = log;
    this.logUnexpected = throttledLog(log, 'error', 'unexpected error while handling a message');
    this.now = now;
    this.apps = apps;
    this.cluster = cluster;
    this.webhooks = webhooks;
    this.startedAt = now();
    this.limits = {
      activityTimeoutMs: config.activityTimeout * 1000,
      pongTimeoutMs: config.pongTimeout * 1000,
      maxMessageBytes: config.maxMessageBytes,
      maxBackpressureBytes: config.maxBackpressureBytes,
      maxJsonDepth: config.maxJsonDepth,
    };
    this.index = new ChannelIndex(fanOut, (appId, channel, count) => cluster.store.setSubscriptions(appId, channel, count), metrics);
    this.presence = new PresenceChannels(this.index, cluster.store, ({ appId, channel, kind, data }) => {
      this.toCluster({ kind: 'member', origin: id, appId, channel, event: kind, data });
    }, log, webhooks);
    this.cache = new ChannelCache(cluster.store, this.index, log, webhooks);
    this.counts = new SubscriptionCounts(this.index, cluster.store, (appId, channel) => this.toCluster({ kind: 'count', origin: id, appId, channel }), log, now);
    this.watchlists = new Watchlists(cluster.store, (appId, event, userId) => this.toCluster({ kind: 'user', origin: id, appId, event, userId }), log);
    this.broadcasts = new PendingBroadcasts(() => `${id}${BROADCAST_ID_SEPARATOR}${nanoid()}`);
    this.activity = activity;
    this.history = new ChannelHistory(apps.all(), cluster.history);
    if (this.history.isUsed && !cluster.history) throw new ConfigError('history rules need a history store: a cluster given a broker and a store must be given one too (or Redis)');
    this.logUnstored = throttledLog(log, 'warn', 'publication on a history channel dropped: its stream cannot be written');
    metrics.observe({ webhooksQueued: () => this.webhooks?.queuedByApp() ?? new Map(), clusterStoreUp: () => cluster.isStoreReachable });
    this.logMissed = throttledLog(log, 'warn', 'this node missed publications of a history channel (its Redis subscription dropped?): its members were told to reconnect and recover them');
  }

  /**
   * A node for this configuration, started: its cluster is the one `given` or the configuration names (Redis
   * is loaded only then), and it is joined before this resolves.
   */
  static async create(parts: Omit<NodeParts, 'cluster'>, given: ClusterParts = {}): Promise<GatewayNode> {
    const cluster = await ClusterNode.create(parts.id, parts.config, parts.log, given);
    const activity = new AppActivity(parts.now);
    const webhooks = await Webhooks.create(parts.config, parts.apps, cluster.store, cluster.isClustered, parts.log, parts.metrics, (appId, report) => activity.webhookAttempted(appId, report));
    const node = new GatewayNode({ ...parts, cluster, webhooks, activity });
    try {
      await node.start();
    } catch (error) {
      await webhooks?.close(0); // a node that cannot join keeps no connection open
      throw error;
    }
    return node;
  }

  /** Joins the cluster and starts the liveness sweep. */
  async start(): Promise<void> {
    await this.cluster.start({
      receive: (message) => this.receive(message),
      snapshot: () => ({ members: this.presence.own(), subscriptions: this.index.counts(), occupied: this.webhooks?.followed(this.index.counts()), users: this.watchlists.own() }),
      connections: () => this.sessions.perAppCounts,
      departed: (departed) => {
        const members = departed.filter((member) => member.channel !== ONLINE_USERS);
        this.presence.departed(members);
        this.webhooks?.membersDeparted(members);
        this.watchlists.departed(departed);
      },
      rejoined: () => {
        this.presence.announceAll();
        this.webhooks?.rejoined(this.index.counts(), this.presence.own());
        this.watchlists.announceAll();
      },
      heartbeat: () => this.webhooks?.heartbeat(),
      nodesLeft: () => this.counts.recountAll(this.apps.all()),
    });
    this.sweepTimer ??= setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
  }

  /** A socket opened: a Session if the app admits it, else the refusal is sent and the socket closed. */
  open(connection: Connection, request: UpgradeRequest): Session | undefined {
    const admission = this.draining
      ? { dialect: dialectOf(request.query), error: new ProtocolError('ServerRestarting') }
      : admit(request, this.apps, (app) => this.sessions.countFor(app) + this.cluster.connectionsElsewhere(app.id));
    if (admission.error) {
      const { error } = admission;
      if (admission.app) {
        this.activity.refused(admission.app.id, { source: 'connect', name: error.kind, code: error.code, message: error.message });
        this.countRefusal(admission.app.id, 'connect', error.kind);
        if (error.kind === 'OverConnectionQuota') this.metrics.rateLimited(admission.app.id, Limit.Connections);
      }
      if (this.log.isDebug) this.log.debug('connection refused', { appId: admission.app?.id, path: request.path, code: error.code, reason: error.kind });
      refuse(connection, admission.dialect, error);
      return undefined;
    }
    const session = new Session(connection, admission.app, admission.role, admission.dialect, this.nextSocketId(), this);
    this.sessions.add(session);
    this.metrics.connected(session.app.id);
    if (this.log.isDebug) this.log.debug('connected', { appId: session.app.id, socketId: session.socketId, dialect: session.dialect, role: session.role });
    session.open();
    return session;
  }

  /**
   * Publishes a frame on a channel, whatever its source: this node's subscribers, and through the broker
   * every other node's. The frame is encoded once, and on a single node only if someone may receive it.
   * `exceptSocketId` (Pusher's `socket_id`) does not receive it, on whichever node it is. Returns how many
   * subscribers the channel has on this node. On a history channel the frame is kept with its offset first
   * (publishStored); a publication that cannot be kept is dropped and logged.
   */
  publish(appId: string, channel: ChannelName, encode: () => string, exceptSocketId?: SocketId): number {
    const rule = this.history.ruleFor(appId, channel);
    if (rule === undefined) return this.publishUnstored(appId, channel, encode, exceptSocketId, false);
    this.publishStored(appId, channel, rule, encode(), exceptSocketId)?.catch((error: unknown) => this.logUnstored({ appId, channel, error: String(error) }));
    return this.index.subscriberCount(appId, channel);
  }

  /** A publication on a channel without history: delivered here, and sent to the other nodes. */
  private publishUnstored(appId: string, channel: ChannelName, encode: () => string, exceptSocketId: SocketId | undefined, isCached: boolean): number {
    const except = exceptSocketId === undefined ? undefined : this.sessions.find(exceptSocketId);
    this.activity.published(appId);
    if (this.log.isDebug) this.logPublish(appId, channel, exceptSocketId);
    if (!this.cluster.isClustered) return this.index.deliver(appId, channel, encode, except);
    const frame = encode();
    const message = { kind: 'publish', origin: this.id, appId, channel, frame, ...(exceptSocketId === undefined ? {} : { exceptSocketId }) } as const;
    this.toCluster(isCached ? { ...message, cached: true } : message);
    return this.index.deliver(appId, channel, () => frame, except);
  }

  /**
   * Publishes a channel event (`data` JSON text) as REST sends it. Undefined once it is delivered here and sent
   * to the other nodes; on a history channel of a cluster, a promise that resolves once Redis has kept and
   * published it, and rejects with ClusterUnavailable when it cannot (then no node delivered it). On a cache
   * channel it is also kept as the channel's last event, and marked as such for every node (channel-cache.ts);
   * any other channel pays one or two prefix checks for that.
   */
  publishEvent(appId: string, channel: ChannelName, event: string, data: string, exceptSocketId?: SocketId): Promise<void> | undefined {
    const rule = this.history.ruleFor(appId, channel);
    const isCached = isCacheChannel(channel);
    if (rule === undefined && !isCached) {
      this.publishUnstored(appId, channel, () => encodeFrame(event, data, channel), exceptSocketId, false);
      return undefined;
    }
    const frame = encodeFrame(event, data, channel);
    if (isCached) this.keepCached(appId, channel, frame);
    if (rule === undefined) {
      this.publishUnstored(appId, channel, () => frame, exceptSocketId, true);
      return undefined;
    }
    return this.publishStored(appId, channel, rule, frame, exceptSocketId)?.catch((error: unknown) => {
      throw new HttpError('ClusterUnavailable', `${channel} keeps history and its stream cannot be written: ${String(error)}`);
    });
  }

  /** A cache channel's event, kept as its last (channel-cache.ts). */
  private keepCached(appId: string, channel: ChannelName, frame: string): void {
    const app = this.apps.findById(appId);
    if (app) this.cache.keep(app, channel, frame);
    this.cache.delivered(appId, channel);
  }

  /**
   * A publication on a history channel: kept in the channel's stream with the next offset, then delivered on
   * every node. A single node delivers it at once; in a cluster Redis publishes it to every node, this one
   * included, as it appends it, and the promise settles with Redis's answer.
   */
  private publishStored(appId: string, channel: ChannelName, rule: HistoryRule, frame: string, exceptSocketId: SocketId | undefined): Promise<void> | undefined {
    this.activity.published(appId);
    if (this.log.isDebug) this.logPublish(appId, channel, exceptSocketId);
    const appended = this.history.append(appId, channel, rule, frame, exceptSocketId);
    if (appended instanceof Promise) return appended;
    this.deliverStored(appended);
    return undefined;
  }

  /**
   * `publication` does not follow the last one this node delivered on its channel: the node missed some. Its
   * members are closed with MissedEvents (reconnect now) before it is delivered, so that they resume from the
   * last event they got and recover the missed ones from the stream, rather than go on past the gap.
   */
  private missedPublications(publication: StoredPublication): void {
    const members = [...this.index.members(publication.appId, publication.channel)];
    this.logMissed({ appId: publication.appId, channel: publication.channel, offset: publication.offset, members: members.length });
    for (const member of members) if (member instanceof Session) member.fail(new ProtocolError('MissedEvents', publication.channel));
  }

  /** A publication of a history channel, to this node's subscribers of it (held ones included). */
  private deliverStored(publication: StoredPublication): void {
    const { appId, channel, frame, epoch, offset, exceptSocketId } = publication;
    const except = exceptSocketId === undefined ? undefined : this.sessions.find(exceptSocketId);
    this.index.deliverStored(appId, channel, frame, epoch, offset, except);
  }

  /** Another node's message. */
  receive(message: ClusterMessage): void {
    this.cluster.heard(message.origin);
    this.metrics.clusterReceived(appIdOf(message), message.kind);
    switch (message.kind) {
      case 'publish': {
        this.activity.published(message.appId);
        const except = message.exceptSocketId === undefined ? undefined : this.sessions.find(message.exceptSocketId);
        if (message.cached) this.cache.delivered(message.appId, message.channel);
        this.index.deliver(message.appId, message.channel, () => message.frame, except);
        return;
      }
      case 'count': {
        const app = this.apps.findById(message.appId);
        if (app) this.counts.heard(app, message.channel);
        return;
      }
      case 'user':
        return this.watchlists.deliver(message.appId, message.event, message.userId);
      case 'stored':
        // Stored publications come back to their origin too, which counted them when it published.
        if (message.origin !== this.id) this.activity.published(message.appId);
        if (this.index.subscriberCount(message.appId, message.channel) > 0 && !this.continuity.follows(message.appId, message.channel, message)) {
          this.missedPublications(message);
        }
        return this.deliverStored(message);
      case 'response':
        if (message.target !== this.id) return;
        this.showResponse(message.appId, message.id, message.channel, message.payload);
        this.broadcasts.respond(message.appId, message.id, message.channel, message.payload);
        return;
      case 'terminate':
        return this.terminateHere(message.appId, message.userId);
      case 'joined':
        return; // heard above: the node is live
      case 'member':
        return this.presence.deliver({ appId: message.appId, channel: message.channel, kind: message.event, data: message.data });
    }
  }

  /**
   * Sends a broadcast from the server side (REST or embedding API) and resolves, after `timeoutMs`, to what
   * it collected. Throws TooManyBroadcasts when the app already has maxPendingBroadcasts waiting. `onAborted`
   * is given a way to cancel it (the HTTP client went away).
   */
  broadcast(app: App, channel: ChannelName, name: string, data: string, timeoutMs: number, onAborted?: (cancel: () => void) => void): Promise<BroadcastOutcome> {
    let id: string | undefined;
    const outcome = new Promise<BroadcastOutcome>((resolve) => {
      id = this.broadcasts.open(app.id, channel, app, timeoutMs, resolve);
    });
    if (id === undefined) throw new HttpError('TooManyBroadcasts', `app ${app.id} already has ${app.maxPendingBroadcasts} broadcasts waiting for responses`);
    const opened = id;
    onAborted?.(() => this.broadcasts.cancel(opened));
    this.publish(app.id, channel, () => encodeBroadcastEvent(name, channel, data, opened));
    return outcome;
  }

  /**
   * A response to broadcast `id`: counted here if it waits here, otherwise sent to the node that waits, if that
   * is a live node. What can be answered nowhere (an unknown id, a node that is gone) never crosses Redis.
   */
  respond(appId: string, id: string, channel: ChannelName, payload: string): void {
    this.metrics.broadcastResponse(appId);
    this.showResponse(appId, id, channel, payload);
    if (this.broadcasts.respond(appId, id, channel, payload) || !this.cluster.isClustered) return;
    const target = id.slice(0, id.indexOf(BROADCAST_ID_SEPARATOR));
    if (this.cluster.isLive(target)) this.toCluster({ kind: 'response', origin: this.id, target, appId, channel, id, payload });
  }

  /** Closes every connection signed in as the user, on every node (4009). */
  terminateUser(appId: string, userId: string): void {
    this.terminateHere(appId, userId);
    if (this.cluster.isClustered) this.toCluster({ kind: 'terminate', origin: this.id, appId, userId });
  }

  /** The app's occupied channels in the whole cluster, with their subscription counts. */
  async channelCounts(appId: string): Promise<Map<ChannelName, number>> {
    const counts = await readCluster(() => this.cluster.store.otherSubscriptions(appId));
    for (const [channel, here] of this.index.channelsOf(appId)) counts.set(channel, (counts.get(channel) ?? 0) + here);
    return counts;
  }

  async subscriptionCount(appId: string, channel: ChannelName): Promise<number> {
    return this.index.subscriberCount(appId, channel) + (await readCluster(() => this.cluster.store.otherSubscriptionCount(appId, channel)));
  }

  /** The distinct users of a presence channel in the whole cluster. */
  async userIds(appId: string, channel: ChannelName): Promise<string[]> {
    return (await readCluster(() => this.presence.members(appId, channel))).map((m) => m.userId);
  }

  /** The app's connections in the whole cluster (the other nodes' as of the last heartbeat). */
  connectionCount(appId: string): number {
    const app = this.apps.findById(appId);
    return (app ? this.sessions.countFor(app) : 0) + this.cluster.connectionsElsewhere(appId);
  }

  /** A console watches the channel: in a cluster routed by channel, this node follows it meanwhile (D21). */
  watch(appId: string, channel: ChannelName, watcher: Watcher): void {
    this.index.watch(appId, channel, watcher);
    void this.cluster.broker.follow?.(appId, channel);
  }

  unwatch(appId: string, channel: ChannelName, watcher: Watcher): void {
    this.index.unwatch(appId, channel, watcher);
    if (this.index.subscriberCount(appId, channel) === 0 && !this.index.isWatched(appId, channel)) this.cluster.broker.unfollow?.(appId, channel);
  }

  /** A REST request of the app was refused (ApiNode). */
  refused(appId: string, error: HttpError, request: string): void {
    this.activity.refused(appId, { source: 'rest', name: error.kind, code: error.status, message: error.message, request });
    this.countRefusal(appId, 'rest', error.kind);
  }

  /** Every refusal is counted, and at debug logged (never with secrets or payloads). */
  private countRefusal(appId: string, source: RefusalSource, reason: string, fields?: Record<string, unknown>): void {
    this.metrics.refused(appId, source, reason);
    if (this.log.isDebug) this.log.debug('refused', { appId, source, reason, ...fields });
  }

  private logPublish(appId: string, channel: ChannelName, exceptSocketId: SocketId | undefined): void {
    this.log.debug('publish', { appId, channel, ...(exceptSocketId === undefined ? {} : { socketId: exceptSocketId }) });
  }

  /** A message for the other nodes, counted. */
  private toCluster(message: ClusterMessage): void {
    this.metrics.clusterSent(appIdOf(message), message.kind);
    this.cluster.broker.send(message);
  }

  /** Whether a channel new to this node would take the app over its share of maxChannels (D16). */
  isChannelOverLimit(app: App, channel: ChannelName): boolean {
    return this.index.subscriberCount(app.id, channel) === 0 && this.index.channelCountOf(app.id) >= this.appLimits.share(app.maxChannels);
  }

  // SessionHost: what sessions do through their node.

  join(appId: string, channel: ChannelName, session: Session, held = false): Promise<void> | undefined {
    // Followed first: a session that has to wait for the channel's messages joins held until they come (D21).
    const routed = this.cluster.broker.follow?.(appId, channel);
    const joined = this.index.join(appId, channel, session, held || routed !== undefined);
    if (this.log.isDebug) this.log.debug('subscribed', { appId, socketId: session.socketId, channel });
    if (joined === 'first') this.webhooks?.firstSubscriber(session.app, channel);
    if (joined !== 'already' && SubscriptionCounts.isCounted(session.app, channel)) this.counts.changed(session.app, channel);
    return routed;
  }

  attach(appId: string, channel: ChannelName, session: Session): void {
    this.index.attach(appId, channel, session);
  }

  leave(appId: string, channel: ChannelName, session: Session): void {
    const left = this.index.leave(appId, channel, session);
    if (left !== 'absent' && SubscriptionCounts.isCounted(session.app, channel)) this.counts.changed(session.app, channel);
    if (left !== 'last') return;
    if (!this.index.isWatched(appId, channel)) this.cluster.broker.unfollow?.(appId, channel);
    this.continuity.forget(appId, channel);
    this.webhooks?.lastSubscriberLeft(session.app, channel);
  }

  signedIn(session: Session, userId: string, watchlist: readonly string[]): void {
    const previous = this.sessions.userIdOf(session);
    this.sessions.signIn(session, userId);
    if (session.app.watchlistEvents) this.watchlists.signIn(session.app.id, session, userId, watchlist, previous);
  }

  userIdOf(session: Session): string | undefined {
    return this.sessions.userIdOf(session);
  }

  frameRefused(session: Session, error: ProtocolError | SubscriptionError, channel?: string): void {
    const fields =
      error instanceof SubscriptionError
        ? { source: 'subscribe' as const, code: error.status, channel: error.channel }
        : { source: 'frame' as const, code: error.code, ...(channel === undefined ? {} : { channel }) };
    this.activity.refused(session.app.id, { ...fields, name: error.kind, message: error.message, socketId: session.socketId });
    this.countRefusal(session.app.id, fields.source, error.kind, { socketId: session.socketId, channel: 'channel' in fields ? fields.channel : undefined, code: fields.code });
  }

  closed(session: Session, code: number): void {
    this.metrics.disconnected(session.app.id, code);
    if (this.log.isDebug) this.log.debug('disconnected', { appId: session.app.id, socketId: session.socketId, code });
    const userId = this.sessions.userIdOf(session);
    this.sessions.remove(session);
    if (userId !== undefined && session.app.watchlistEvents) this.watchlists.signOut(session.app.id, session, userId);
    if (this.sessions.size === 0) this.drained?.();
  }

  get isReady(): boolean {
    return this.draining === undefined;
  }

  health(): Health {
    return {
      status: this.isReady ? 'ok' : 'draining',
      nodeId: this.id,
      uws: isNativeUws ? { native: true } : { native: false, warning: FALLBACK_WARNING },
      connections: this.sessions.size,
      channels: this.index.channelCount(),
      clusterNodes: this.cluster.nodeCount,
      pendingBroadcasts: this.broadcasts.size,
      clusterMessagesReceived: this.cluster.messagesReceived,
      uptimeSeconds: Math.round((this.now() - this.startedAt) / 1000),
      ...(this.webhooks && { webhooks: this.webhooks.stats() }),
    };
  }

  /**
   * Refuses new sockets, answers every waiting broadcast, tells every client to reconnect elsewhere (4200),
   * and leaves the cluster once all are gone or `timeoutMs` has passed (the rest are dropped): after the
   * member_removed of every user that left with them is out, so the rest of the cluster hears of it.
   */
  drain(timeoutMs: number): Promise<void> {
    this.draining ??= new Promise<void>((resolve) => {
      // Held REST broadcasts answer with what they have, and WebSocket broadcasters get theirs before the 4200.
      this.broadcasts.finishAll();
      const finish = () => {
        this.drained = undefined;
        clearTimeout(deadline);
        if (this.sweepTimer) clearInterval(this.sweepTimer);
        for (const session of this.sessions) session.connection.terminate();
        // Departures decided and their events batched, then the store let go (its last departures reported),
        // then the batches handed to the queue.
        void Promise.all([this.presence.settled(), this.watchlists.settled()])
          .then(() => this.webhooks?.settled())
          .then(() => this.cluster.close())
          .then(() => this.webhooks?.close(timeoutMs))
          .then(resolve);
      };
      const deadline = setTimeout(finish, timeoutMs);
      this.drained = finish;
      if (this.sessions.size === 0) return finish();
      for (const session of this.sessions) session.fail(new ProtocolError('ServerRestarting'));
    });
    return this.draining;
  }

  private sweep(): void {
    const now = this.now();
    for (const session of this.sessions) session.sweep(now);
  }

  /** Console watchers of the channel see every response to a broadcast on it, given or collected here. */
  private showResponse(appId: string, id: string, channel: ChannelName, payload: string): void {
    this.index.tellWatchers(appId, channel, () => encodeConsoleResponse(channel, id, payload));
  }

  private terminateHere(appId: string, userId: string): void {
    const app = this.apps.findById(appId);
    if (!app) return;
    for (const session of this.sessions.ofUser(app, userId)) session.fail(new ProtocolError('Unauthorized', 'disconnected by the app'));
  }
}

/** The app a cluster message is about; '' for the few that are about no app (a history read's marker). */
function appIdOf(message: ClusterMessage): string {
  return 'appId' in message ? message.appId : '';
}

/** A cluster-wide read for REST: while the store cannot be reached, a 503 rather than this node's part alone. */
async function readCluster<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new HttpError('ClusterUnavailable', `the cluster store cannot be read: ${String(error)}`);
  }
}
