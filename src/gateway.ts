import { nanoid } from 'nanoid';
import { type App, AppRegistry } from './apps/app-registry.js';
import { ChannelIndex } from './channels/channel-index.js';
import { PresenceChannels } from './channels/presence-channels.js';
import { broadcastTimeoutMs, checkBroadcastName, encodeBroadcastEvent, payloadText } from './broadcasts/broadcast-event.js';
import { type BroadcastOutcome, PendingBroadcasts } from './broadcasts/pending-broadcasts.js';
import type { Broker, ClusterMessage } from './cluster/broker.js';
import { ClusterNode } from './cluster/cluster-node.js';
import type { ClusterStore } from './cluster/cluster-store.js';
import { type GatewayConfig, type GatewayOptions, resolveConfig } from './config.js';
import { HttpError, ProtocolError } from './errors.js';
import { createApi } from './http/api.js';
import type { OutgoingEvent } from './http/events-endpoint.js';
import { createLogger, type Logger } from './log.js';
import { admit, dialectOf, refuse } from './protocol/admission.js';
import { type ChannelRef, resolveChannel } from './protocol/channel-name.js';
import { dataAsJsonText, encodeFrame } from './protocol/codec.js';
import { Session, type SessionContext } from './protocol/session.js';
import { SessionRegistry } from './protocol/session-registry.js';
import { socketIdGenerator } from './protocol/socket-id.js';
import { createFanOut } from './transport/fan-out-strategy.js';
import { isNativeUws } from './transport/uws.js';
import { UwsServer } from './transport/uws-server.js';

/** Between the node id and the random part of a broadcast id; node ids (nanoid) never contain it. */
const BROADCAST_ID_SEPARATOR = '.';

/** How often every session is checked for liveness and backpressure; bounds how late a 4201/4101 comes. */
const SWEEP_INTERVAL_MS = 1000;

export interface PublishOptions {
  /** The publisher's own socket, which should not receive the event (Pusher `socket_id`). */
  readonly exceptSocketId?: string;
}

export interface BroadcastOptions {
  /** How long to collect responses; the app's broadcastTimeoutMs when absent, at most maxBroadcastTimeoutMs. */
  readonly timeoutMs?: number;
}

export interface Health {
  readonly status: 'ok' | 'draining';
  readonly nodeId: string;
  readonly uws: { readonly native: boolean; readonly warning?: string };
  readonly connections: number;
  readonly channels: number;
  /** Broadcasts collecting responses on this node. */
  readonly pendingBroadcasts: number;
  readonly uptimeSeconds: number;
}

export interface Gateway {
  readonly config: GatewayConfig;
  readonly nodeId: string;
  /** Starts serving; resolves to the bound port (pass 0 for a free one). */
  listen(port?: number, host?: string): Promise<number>;
  /**
   * Publishes an event to a channel's subscribers on this node. `data` is JSON text (delivered
   * verbatim), any other string (delivered as a JSON string), or a value (JSON-encoded).
   * Returns how many subscribers the channel has here.
   */
  publish(appId: string, channel: string, event: string, data: unknown, options?: PublishOptions): number;
  /**
   * Broadcasts `name` with `payload` on a channel (a wire name or ID, or `{name, system, consumer}`) and
   * resolves, after the timeout, to the response payloads (D9). Like REST, it may use system channels.
   */
  broadcast(appId: string, channel: ChannelRef, name: string, payload: unknown, options?: BroadcastOptions): Promise<unknown[]>;
  health(): Health;
  /** Stops accepting, tells every client to reconnect elsewhere (4200), and resolves once all are gone. */
  close(): Promise<void>;
}

export const FALLBACK_WARNING =
  'uWebSockets.js native binary did not load; running on the slow ws-based emulation. Use Node 20 on glibc >= 2.36.';

export interface GatewayDependencies {
  readonly logger?: Logger;
  /** Cross-node pub/sub; by default a RedisBroker when `redis` is set, else none (a single node). */
  readonly broker?: Broker;
  /** Cluster-wide presence, occupancy and connection counts; by default on Redis when `redis` is set. */
  readonly store?: ClusterStore;
}

export function createGateway(options: GatewayOptions & GatewayDependencies = {}): Gateway {
  const { logger, broker: givenBroker, store: givenStore, ...settings } = options;
  const config = resolveConfig(settings);
  const log = logger ?? createLogger(config.logLevel);
  const nodeId = nanoid(12);
  // Replaced in listen() by what the configuration asks for: ioredis is only loaded by nodes that use it.
  let cluster = ClusterNode.single(nodeId, config, log);
  const startedAt = Date.now();
  const apps = new AppRegistry(config.apps);
  const sessions = new SessionRegistry();
  // A broadcast id names the node waiting for its responses, so a response given on any node finds it.
  const broadcasts = new PendingBroadcasts(() => `${nodeId}${BROADCAST_ID_SEPARATOR}${nanoid()}`);

  /** A response to broadcast `id`: counted here if it waits here, otherwise sent to the node that waits. */
  const respond = (appId: string, id: string, channel: string, payload: string): void => {
    if (broadcasts.respond(appId, id, channel, payload) || !cluster.isClustered) return;
    const target = id.slice(0, id.indexOf(BROADCAST_ID_SEPARATOR));
    if (target !== '' && target !== nodeId) cluster.broker.publish({ kind: 'response', origin: nodeId, target, appId, channel, id, payload });
  };
  const nextSocketId = socketIdGenerator();
  let draining = false;
  let drained: (() => void) | undefined;
  let closing: Promise<void> | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;

  /**
   * Every publish on a channel, whatever its source: to this node's subscribers, and through the broker to
   * every other node's. The frame is encoded once, and only if someone may receive it. Returns how many
   * subscribers the channel has on this node.
   */
  const publishFrame = (appId: string, channel: string, encode: () => string, except?: Session, exceptSocketId = except?.socketId): number => {
    if (!cluster.isClustered) return index.publish(appId, channel, encode, except);
    const frame = encode();
    cluster.broker.publish({ kind: 'publish', origin: nodeId, appId, channel, frame, ...(exceptSocketId === undefined ? {} : { exceptSocketId }) });
    return index.publish(appId, channel, () => frame, except);
  };

  const deliver = (app: App, channel: string, event: string, data: string, exceptSocketId?: string): number => {
    const except = exceptSocketId === undefined ? undefined : sessions.find(exceptSocketId);
    return publishFrame(app.id, channel, () => encodeFrame(event, data, channel), except?.app === app ? except : undefined, exceptSocketId);
  };

  /**
   * Sends a broadcast from the server side (REST or embedding API) and collects its responses; undefined
   * when the app already has maxPendingBroadcasts waiting.
   */
  const sendBroadcast = (app: App, channel: string, name: string, data: string, timeoutMs: number, onAborted?: (cancel: () => void) => void) => {
    let id: string | undefined;
    const outcome = new Promise<BroadcastOutcome>((resolve) => {
      id = broadcasts.open(app.id, channel, app, timeoutMs, resolve);
    });
    if (id === undefined) return undefined;
    const opened = id;
    onAborted?.(() => broadcasts.cancel(opened));
    publishFrame(app.id, channel, () => encodeBroadcastEvent(name, channel, data, opened));
    return outcome;
  };
  const terminateLocally = (appId: string, userId: string) => {
    const app = apps.findById(appId);
    if (!app) return;
    for (const session of sessions.ofUser(app, userId)) session.fail(new ProtocolError('Unauthorized', 'disconnected by the app'));
  };
  /** Another node's message. */
  const receive = (message: ClusterMessage): void => {
    switch (message.kind) {
      case 'response':
        if (message.target === nodeId) broadcasts.respond(message.appId, message.id, message.channel, message.payload);
        return;
      case 'terminate':
        return terminateLocally(message.appId, message.userId);
      case 'member':
        return presence.notifyLocal({ appId: message.appId, channel: message.channel, kind: message.event, data: message.data });
      case 'publish': {
        // Delivered here as it is; the exclusion applies if that socket is ours.
        const except = message.exceptSocketId === undefined ? undefined : sessions.find(message.exceptSocketId);
        index.publish(message.appId, message.channel, () => message.frame, except);
        return;
      }
    }
  };
  /** A cluster-wide read for REST: while the store cannot be reached, a 503 rather than this node's part alone. */
  const readCluster = async <T>(read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (error) {
      throw new HttpError('ClusterUnavailable', `the cluster store cannot be read: ${String(error)}`);
    }
  };
  const tooManyBroadcasts = (app: App) => `app ${app.id} already has ${app.maxPendingBroadcasts} broadcasts waiting for responses`;

  const health = (): Health => ({
    status: draining ? 'draining' : 'ok',
    nodeId,
    uws: isNativeUws ? { native: true } : { native: false, warning: FALLBACK_WARNING },
    connections: sessions.size,
    channels: index.channelCount(),
    pendingBroadcasts: broadcasts.size,
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
  });

  const api = createApi({
    apps,
    log,
    nowSeconds: () => Math.floor(Date.now() / 1000),
    publish: (app: App, events: readonly OutgoingEvent[]) => {
      for (const e of events) deliver(app, e.channel, e.name, e.data, e.exceptSocketId);
    },
    health,
    isReady: () => !draining,
    broadcast: async (app, request, onAborted) => {
      const outcome = sendBroadcast(app, request.channel.wire, request.name, request.data, request.timeoutMs, onAborted);
      if (!outcome) throw new HttpError('TooManyBroadcasts', tooManyBroadcasts(app));
      return (await outcome).responses;
    },
    respond: (app, response) => {
      respond(app.id, response.id, response.channel.wire, response.data);
    },
    terminateUser: (app: App, userId: string) => {
      terminateLocally(app.id, userId);
      if (cluster.isClustered) cluster.broker.publish({ kind: 'terminate', origin: nodeId, appId: app.id, userId });
    },
    channels: {
      channels: async (appId) => {
        const counts = await readCluster(() => cluster.store.otherSubscriptions(appId));
        for (const [channel, here] of index.channelsOf(appId)) counts.set(channel, (counts.get(channel) ?? 0) + here);
        return counts;
      },
      subscriptionCount: async (appId, channel) => index.subscriberCount(appId, channel) + (await readCluster(() => cluster.store.otherSubscriptionCount(appId, channel))),
      userIds: async (appId, channel) => (await readCluster(() => presence.members(appId, channel))).map((m) => m.userId),
    },
  });

  const transport = new UwsServer(
    {
      openSocket: (connection, request) => {
        const admission = draining
          ? { dialect: dialectOf(request.query), error: new ProtocolError('ServerRestarting') }
          : admit(request, apps, (app) => sessions.countFor(app) + cluster.connectionsElsewhere(app.id));
        if (admission.error) {
          refuse(connection, admission.dialect, admission.error);
          return undefined;
        }
        const session = new Session(connection, admission.app, admission.role, admission.dialect, nextSocketId(), context);
        sessions.add(session);
        session.open();
        return session;
      },
      http: api,
    },
    {
      maxFrameBytes: config.maxFrameBytes,
      maxBackpressureBytes: config.maxBackpressureBytes,
      maxRequestBytes: config.maxRequestBytes,
      // Well after the sweep would have closed a silent peer with 4201; uWS wants a multiple of 4 s.
      idleTimeoutSeconds: Math.min(960, 4 * Math.ceil((config.activityTimeout + 2 * config.pongTimeout + 8) / 4)),
    },
  );

  // Sessions, REST and publish() are only called once listening, so they may refer to what follows.
  const index = new ChannelIndex(createFanOut(transport.app), (appId, channel, count) => cluster.store.setSubscriptions(appId, channel, count));
  const presence = new PresenceChannels(
    index,
    () => cluster.store,
    ({ appId, channel, kind, data }) => cluster.broker.publish({ kind: 'member', origin: nodeId, appId, channel, event: kind, data }),
    log,
  );
  const context: SessionContext = {
    index,
    presence,
    broadcasts,
    publish: (appId, channel, encode, except) => publishFrame(appId, channel, encode, except),
    respond,
    onSignedIn: (session, userId) => sessions.signIn(session, userId),
    onClosed: (session) => {
      sessions.remove(session);
      if (draining && sessions.size === 0) drained?.();
    },
    log,
    now: Date.now,
    activityTimeoutMs: config.activityTimeout * 1000,
    pongTimeoutMs: config.pongTimeout * 1000,
    maxMessageBytes: config.maxMessageBytes,
    maxBackpressureBytes: config.maxBackpressureBytes,
  };

  const appWithId = (appId: string): App => {
    const app = apps.findById(appId);
    if (!app) throw new Error(`no app with id "${appId}"`);
    return app;
  };

  const sweep = () => {
    const now = Date.now();
    for (const session of sessions) session.sweep(now);
  };

  return {
    config,
    nodeId,
    async listen(port = config.port, host = config.host) {
      if (!isNativeUws) log.warn(FALLBACK_WARNING);
      cluster = await ClusterNode.create(nodeId, config, log, { broker: givenBroker, store: givenStore });
      await cluster.start({
        deliver: receive,
        snapshot: () => ({ members: presence.own(), subscriptions: index.counts() }),
        connections: () => sessions.perAppCounts,
        departed: (members) => presence.departed(members),
      });
      const bound = await transport.listen(host, port);
      sweepTimer ??= setInterval(sweep, SWEEP_INTERVAL_MS).unref();
      log.info('listening', { host, port: bound, nodeId, nativeUws: isNativeUws });
      return bound;
    },
    publish(appId, channel, event, data, publishOptions = {}) {
      const app = appWithId(appId);
      return deliver(app, resolveChannel(channel, app).wire, event, dataAsJsonText(data), publishOptions.exceptSocketId);
    },
    async broadcast(appId, channel, name, payload, broadcastOptions = {}) {
      const app = appWithId(appId);
      const { wire } = resolveChannel(channel, app);
      checkBroadcastName(name, app);
      const outcome = sendBroadcast(app, wire, name, payloadText(payload, app), broadcastTimeoutMs(broadcastOptions.timeoutMs, app));
      if (!outcome) throw new Error(tooManyBroadcasts(app));
      return JSON.parse((await outcome).responses) as unknown[];
    },
    health,
    close() {
      closing ??= new Promise<void>((resolve) => {
        draining = true;
        transport.stopListening();
        // Held REST broadcasts answer with what they have, and WebSocket broadcasters get theirs before the 4200.
        broadcasts.finishAll();
        const finish = () => {
          clearTimeout(deadline);
          if (sweepTimer) clearInterval(sweepTimer);
          for (const session of sessions) session.connection.terminate();
          log.info('closed', { nodeId });
          void cluster.close().then(resolve);
        };
        const deadline = setTimeout(finish, config.shutdownTimeoutMs);
        drained = finish;
        if (sessions.size === 0) return finish();
        for (const session of sessions) session.fail(new ProtocolError('ServerRestarting'));
      });
      return closing;
    },
  };
}
