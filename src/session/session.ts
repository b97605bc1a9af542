import type { App, HistoryRule, Role } from '../apps/app-registry.js';
import { broadcastTimeoutMs, checkBroadcastName, encodeBroadcastEvent, payloadText } from '../broadcasts/broadcast-event.js';
import type { BroadcastOutcome, PendingBroadcasts } from '../broadcasts/pending-broadcasts.js';
import type { ChannelCache } from '../channels/channel-cache.js';
import type { ChannelHistory, Recovery } from '../channels/channel-history.js';
import type { Subscriber } from '../channels/fan-out.js';
import type { PresenceChannels } from '../channels/presence-channels.js';
import type { StreamPosition } from '../cluster/history-store.js';
import { type ErrorContext, ProtocolError, SubscriptionError } from '../errors.js';
import type { Logger } from '../log.js';
import { isChannelAuthValid, isUserAuthValid } from '../protocol/channel-auth.js';
import { type Channel, type ChannelRef, resolveChannel } from '../protocol/channel-name.js';
import { isCacheChannel, userChannelOf } from '../protocol/channel-type.js';
import { dataAsJsonText, decodeClientFrame, echoedChannel, encodeFrame, errorData, nestsDeeperThan } from '../protocol/codec.js';
import type { Connection } from '../protocol/connection.js';
import {
  type BroadcastData,
  type ChannelName,
  type ChannelRefData,
  type ClientFrame,
  type Dialect,
  type RequestId,
  type ResponseData,
  type ServerEventNames,
  type SigninData,
  ServerEvents,
  type SocketId,
  type SubscribeData,
  type UnsubscribeData,
} from '../protocol/frames.js';
import { type PresenceMember, type PresenceSnapshot, parsePresenceMember } from '../protocol/presence-member.js';
import { parseUserData } from '../protocol/user-data.js';
import type { Webhooks } from '../webhooks/webhooks.js';
import { checkMayBroadcast, checkMayPublish, checkMayUse, describe, mayUse } from './channel-access.js';
import { HeldFrames } from './held-frames.js';
import { Limit, type LimitName } from '../limits/app-limits.js';
import { ONE_SECOND_MS, RateWindow } from '../limits/rate-window.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';

/** Liveness and size limits every session of a node applies, in milliseconds and bytes. */
export interface SessionLimits {
  readonly activityTimeoutMs: number;
  readonly pongTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly maxBackpressureBytes: number;
  readonly maxJsonDepth: number;
}

/**
 * What a session needs from the node it lives on (GatewayNode), and nothing more: membership of this
 * node's channels, and publishing, which always reaches the whole cluster. Times are milliseconds from `now()`.
 */
export interface SessionHost {
  /**
   * Adds the session to a channel's subscribers on this node; one that joins `held` keeps the channel's
   * publications (hold) until it is attached (ChannelIndex.join). Returns, in a cluster routed by channel (D21),
   * a promise that settles once this node receives the channel's messages from the other nodes, and until then
   * the session is held too: its subscription is answered only after.
   */
  join(appId: string, channel: ChannelName, session: Session, held?: boolean): Promise<void> | undefined;
  attach(appId: string, channel: ChannelName, session: Session): void;
  leave(appId: string, channel: ChannelName, session: Session): void;
  /** Publishes on a channel across the cluster: every subscriber but the socket `exceptSocketId`. */
  publish(appId: string, channel: ChannelName, encode: () => string, exceptSocketId?: SocketId): void;
  /** The apps' webhooks, when an app has any: told of each client event. */
  readonly webhooks?: Pick<Webhooks, 'clientEvent'> | undefined;
  readonly presence: PresenceChannels;
  /** The cache channels' last events, for new subscribers. */
  readonly cache: Pick<ChannelCache, 'replay'>;
  /** Which channels keep history, and what subscribing to them answers (D18). */
  readonly history: ChannelHistory;
  /** Broadcasts collecting responses, of every session and of REST (D9). */
  readonly broadcasts: PendingBroadcasts;
  /** A response to a broadcast, wherever in the cluster the broadcaster waits; dropped when nobody does. */
  respond(appId: string, id: string, channel: ChannelName, payload: string): void;
  /**
   * The session signed in as `userId` (for terminate_connections, its user channel and watchlists), watching
   * `watchlist`; a session signing in again is signed out of its previous user.
   */
  signedIn(session: Session, userId: string, watchlist: readonly string[]): void;
  /** The user the session is signed in as, if it is. */
  userIdOf(session: Session): string | undefined;
  /** The session has closed, with `code`, and left every channel (called once). */
  closed(session: Session, code: number): void;
  /** Whether `channel` would be one channel too many for the app on this node (its share of maxChannels). */
  isChannelOverLimit(app: App, channel: ChannelName): boolean;
  readonly metrics: GatewayMetrics;
  /** A frame of the session was refused (what the console lists as the app's recent refusals). */
  frameRefused(session: Session, error: ProtocolError | SubscriptionError, channel?: string): void;
  readonly log: Logger;
  /** Logs an unexpected error while handling a message; at most a line per interval, however many there are. */
  readonly logUnexpected: (fields: Record<string, unknown>) => void;
  readonly now: () => number;
  readonly limits: SessionLimits;
}

const utf8 = new TextDecoder();
/** RFC 6455's "no status code was present": a close the transport reported without one. */
const NO_CLOSE_CODE = 1005;
const NO_CHANNELS: readonly ChannelName[] = [];

/**
 * The protocol state of one admitted connection: its channels and liveness. The transport feeds it
 * messages and pongs; it answers through its Connection and never sees a socket. Every failure of
 * client input becomes an error frame; only fatal catalogue errors close the connection.
 */
export class Session implements Subscriber {
  /**
   * The channels joined, replaced (never grown in place) on every change so it stays exactly its size:
   * idle connections hold one or two channels, and an array of one costs a third of a Set (bench S3).
   * Connections join at most maxChannelsPerConnection channels, so the linear searches stay short.
   */
  private joined: readonly ChannelName[] = NO_CHANNELS;
  // Created on first use: most connections never join a presence channel, send a client event or
  // broadcast, and idle connections are what a node holds most of (see bench S3).
  /** The user this socket is in each of its presence channels as. */
  private presence: Map<ChannelName, string> | undefined;
  /** Presence channels waiting for the cluster to admit the user, each with a token for this attempt. */
  private joining: Map<ChannelName, object> | undefined;
  /**
   * Channels joined whose subscription answer is being prepared (a presence roster, a history read), with the
   * frames that arrive meanwhile, held until it is sent: so none is lost, repeated or sent before it.
   */
  private held: Map<ChannelName, HeldFrames> | undefined;
  private clientEventBudget: RateWindow | undefined;
  private broadcastBudget: RateWindow | undefined;
  private responseBudget: RateWindow | undefined;
  /** Ids of this session's broadcasts still collecting responses, released if the connection goes. */
  private ownBroadcasts: Set<string> | undefined;
  private lastActivityMs: number;
  private pingSentAtMs: number | undefined;
  private evictedAtMs: number | undefined;
  private closed = false;

  constructor(
    readonly connection: Connection,
    readonly app: App,
    readonly role: Role,
    readonly dialect: Dialect,
    readonly socketId: SocketId,
    private readonly host: SessionHost,
  ) {
    this.lastActivityMs = host.now();
  }

  /** Event names in this connection's dialect (looked up rather than stored: one field less per connection). */
  private names(): ServerEventNames {
    return ServerEvents[this.dialect];
  }

  /** A frame to this connection alone, counted in the metrics (publications are counted once per publish). */
  private send(frame: string): void {
    this.host.metrics.sent(this.app.id, frame.length);
    this.connection.send(frame);
  }

  /** The channels this connection has joined. */
  get channels(): readonly ChannelName[] {
    return this.joined;
  }

  open(): void {
    const data = JSON.stringify({
      socket_id: this.socketId,
      activity_timeout: Math.round(this.host.limits.activityTimeoutMs / 1000),
    });
    this.send(encodeFrame(this.names().connectionEstablished, data));
  }

  /** One WebSocket message. The buffer is only read during this call (uWS neuters it afterwards). */
  receive(message: ArrayBuffer | Uint8Array, isBinary: boolean): void {
    this.markAlive();
    this.host.metrics.received(this.app.id, message.byteLength);
    if (this.evictedAtMs !== undefined) return;
    let frame: ClientFrame | undefined;
    try {
      if (isBinary) throw new ProtocolError('BinaryNotSupported');
      if (message.byteLength > this.host.limits.maxMessageBytes) {
        throw new ProtocolError('MessageTooLarge', `${message.byteLength} bytes, over the limit of ${this.host.limits.maxMessageBytes}`);
      }
      const bytes = message instanceof Uint8Array ? message : new Uint8Array(message);
      if (nestsDeeperThan(bytes, this.host.limits.maxJsonDepth)) {
        throw new ProtocolError('InvalidMessage', `the frame nests deeper than ${this.host.limits.maxJsonDepth} levels`);
      }
      frame = decodeClientFrame(utf8.decode(bytes));
      this.handle(frame);
    } catch (error) {
      this.report(error, frame);
    }
  }

  /** Any sign of life from the client: a message, or a pong to our ping. */
  markAlive(): void {
    this.lastActivityMs = this.host.now();
    this.pingSentAtMs = undefined;
  }

  /**
   * Periodic health check, run by the node's sweep for every session.
   *
   * Slow consumers: a connection whose send buffer reaches maxBackpressureBytes is evicted: it leaves
   * every channel at once, so its buffer stops growing, and once the buffer has drained it gets the
   * 4101 error and close frame (uWS discards a socket's buffer when it is ended, so ending earlier
   * would lose the close code). A client that still reads nothing after pongTimeout is dropped.
   *
   * Liveness: a connection silent for activity_timeout gets an RFC 6455 ping; if still silent
   * pongTimeout later, it is closed with 4201.
   */
  sweep(nowMs: number): void {
    if (this.closed) return;
    const buffered = this.connection.bufferedAmount();
    if (this.evictedAtMs !== undefined) {
      if (buffered === 0) this.fail(new ProtocolError('SlowConsumer', `over ${this.host.limits.maxBackpressureBytes} bytes were queued`));
      else if (nowMs - this.evictedAtMs >= this.host.limits.pongTimeoutMs) this.connection.terminate();
    } else if (buffered >= this.host.limits.maxBackpressureBytes) {
      this.evictedAtMs = nowMs;
      this.host.metrics.evicted(this.app.id);
      this.leaveAllChannels();
    } else if (this.pingSentAtMs === undefined) {
      if (nowMs - this.lastActivityMs >= this.host.limits.activityTimeoutMs) {
        this.pingSentAtMs = nowMs;
        this.connection.ping();
      }
    } else if (nowMs - this.pingSentAtMs >= this.host.limits.pongTimeoutMs) {
      this.fail(new ProtocolError('PongNotReceived'));
    }
  }

  /** Sends the error frame; a fatal error then closes the connection with the same code (D6). */
  fail(error: ProtocolError): void {
    if (this.closed) return;
    this.send(encodeFrame(this.names().error, errorData(error)));
    if (error.fatal) this.connection.close(error.code, error.message);
  }

  /** The connection is gone (with the close code the transport saw): leave every channel. Idempotent. */
  close(code = NO_CLOSE_CODE): void {
    if (this.closed) return;
    this.closed = true;
    this.leaveAllChannels();
    for (const id of this.ownBroadcasts ?? []) this.host.broadcasts.cancel(id);
    this.ownBroadcasts = undefined;
    this.host.closed(this, code);
  }

  private leaveAllChannels(): void {
    const channels = this.joined;
    this.joined = NO_CHANNELS;
    this.joining = undefined;
    this.held = undefined;
    for (const channel of channels) this.leave(channel);
  }

  private handle(frame: ClientFrame): void {
    switch (frame.kind) {
      case 'subscribe':
        return this.subscribe(frame.data);
      case 'unsubscribe':
        return this.unsubscribe(frame.data);
      case 'ping':
        return this.send(encodeFrame(this.names().pong));
      case 'pong':
        return;
      case 'client-event':
        return this.relayClientEvent(frame.event, frame.channel, frame.data);
      case 'signin':
        return this.signIn(frame.data);
      case 'broadcast':
        return this.broadcast(frame.data);
      case 'response':
        return this.respond(frame.data);
      default:
        return assertNever(frame);
    }
  }

  /**
   * User sign-in (Pusher's `signin`): `auth` signs "<socket_id>::user::<user_data>" and `user_data` is JSON
   * with a string `id`. A bad sign-in is fatal (4009), as in Pusher. The user id then names this socket for
   * `POST /users/:id/terminate_connections` and gives it its user channel; with the app's watchlistEvents, a
   * `watchlist` in user_data is watched. A watchlist over the limit is refused (4313) and the sign-in stands.
   */
  private signIn({ auth, user_data: userData }: SigninData): void {
    if (!isUserAuthValid(this.app, this.socketId, auth, userData)) throw new ProtocolError('Unauthorized', 'the sign-in signature is invalid');
    const user = parseUserData(userData, this.app);
    if (!user) throw new ProtocolError('Unauthorized', 'user_data must be a JSON object with a non-empty string "id"');
    const previous = this.host.userIdOf(this);
    if (previous !== undefined && previous !== user.id) this.leaveJoined(userChannelOf(previous));
    this.host.signedIn(this, user.id, user.watchlist);
    this.send(encodeFrame(this.names().signinSuccess, JSON.stringify({ user_data: userData })));
    if (user.watchlistProblem) throw new ProtocolError('WatchlistRejected', user.watchlistProblem);
  }

  /**
   * A client-* event goes to the channel's other subscribers (never back to the sender), as in Pusher:
   * only when the app allows it, only on private and presence channels the sender has joined, within the
   * per-connection rate and the app's data size limit. Presence events carry the sender's user_id.
   */
  private relayClientEvent(event: string, ref: ChannelName, data: unknown): void {
    const reject = (why: string) => new ProtocolError('ClientEventRejected', why);
    if (!this.app.clientEvents) throw reject(`client events are not enabled for app ${this.app.id}`);
    const target = resolveChannel(ref, this.app);
    checkMayPublish(this.role, target);
    const { type, wire: channel } = target;
    if (type !== 'private' && type !== 'presence') throw reject(`client events are only allowed on private- and presence- channels, not ${describe(target)}`);
    if (!this.joined.includes(channel)) throw reject(`subscribe to ${describe(target)} before sending client events on it`);
    this.clientEventBudget ??= new RateWindow(ONE_SECOND_MS, this.app.maxClientEventsPerSecond);
    if (!this.clientEventBudget.take(this.host.now())) {
      throw this.overLimit(Limit.ClientEvents, `${this.app.maxClientEventsPerSecond} client events per second on one connection`);
    }
    const text = dataAsJsonText(data);
    if (Buffer.byteLength(text) > this.app.maxEventDataBytes) throw reject(`data is over the limit of ${this.app.maxEventDataBytes} bytes`);
    const userId = this.presence?.get(channel);
    const frame = JSON.stringify(userId === undefined ? { event, channel, data: text } : { event, channel, data: text, user_id: userId });
    this.host.publish(this.app.id, channel, () => frame, this.socketId);
    this.host.webhooks?.clientEvent(this.app, channel, event, text, this.socketId, userId);
  }

  /**
   * Subscribes to a channel named by wire name, ID or name plus flags; every frame about it uses its
   * canonical wire name, and the auth signature covers that name.
   */
  private subscribe(request: SubscribeData): void {
    const { auth, channel_data: channelData, since } = request;
    const target = this.resolveSubscribed(request);
    const { type, wire: channel } = target;
    if (!mayUse(this.role, target)) throw new SubscriptionError('ConsumerChannelOnly', channel, `${describe(target)} is not a consumer channel`);
    const isPresence = type === 'presence';
    if (isPresence && channelData === undefined) {
      throw new SubscriptionError('InvalidChannelData', channel, 'presence channels need "channel_data"');
    }
    // Private and presence channels need the signature the app's auth endpoint gave this very socket; for
    // presence it covers the exact channel_data string, which is therefore checked before it is parsed. A user
    // channel needs the sign-in of its user instead.
    if (type === 'user') this.checkOwnUserChannel(channel);
    else if (type !== 'public' && !isChannelAuthValid(this.app, this.socketId, channel, auth, isPresence ? channelData : undefined)) {
      throw new SubscriptionError('AuthError', channel, auth ? `invalid signature for ${channel}` : `${channel} needs "auth"`);
    }
    const rule = this.host.history.ruleFor(this.app.id, channel);
    const history = rule && { rule, since };
    if (isPresence) return this.joinPresence(channel, parsePresenceMember(channel, channelData ?? '', this.app), history);
    if (this.joined.includes(channel)) {
      // Answered again: the connection has had every event since it joined. While its first answer is being
      // prepared, that answer is the one it gets.
      if (this.held?.has(channel)) return;
      this.send(encodeFrame(this.names().subscriptionSucceeded, undefined, channel));
      if (isCacheChannel(channel)) this.host.cache.replay(this.app, channel, this);
      return;
    }
    this.checkRoomForChannel(channel);
    this.joined = this.joined.concat(channel);
    const routed = this.host.join(this.app.id, channel, this, history !== undefined);
    let answered: Promise<void> | undefined;
    if (history === undefined && routed === undefined) this.send(encodeFrame(this.names().subscriptionSucceeded, undefined, channel));
    else {
      const recovery = history && (() => this.host.history.recover(this.app, channel, history.rule, history.since));
      answered = this.answerWhenReady(channel, this.startHolding(channel), routed, undefined, recovery);
    }
    // A cache channel's last event follows the answer (and on a history channel what it recovered).
    if (isCacheChannel(channel)) this.replayCache(channel, routed, answered);
  }

  /** A user channel is joined only by connections signed in as its user (pusher-js joins its own after signin). */
  private checkOwnUserChannel(channel: ChannelName): void {
    const userId = this.host.userIdOf(this);
    if (userId === undefined) throw new SubscriptionError('NotThisUsersChannel', channel, 'this connection is not signed in; sign in first');
    if (channel !== userChannelOf(userId)) throw new SubscriptionError('NotThisUsersChannel', channel, 'this connection is signed in as another user');
  }

  /** The channel a subscribe names; a name it cannot be is refused for that name, as the client wrote it. */
  private resolveSubscribed(request: SubscribeData): Channel {
    try {
      return resolveChannel(channelRefOf(request), this.app);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      throw new SubscriptionError('InvalidChannel', echoedChannel(request.channel), error.detail);
    }
  }

  /**
   * Room for one more channel on this connection, and, when the channel is new to this node, for one more
   * channel of the app (this node's share of maxChannels). Over either limit the client gets the 4301 that names
   * it, and the channel's subscription_error, which is what settles a pusher-js channel.
   */
  private checkRoomForChannel(channel: ChannelName): void {
    if (this.joined.length + (this.joining?.size ?? 0) >= this.app.maxChannelsPerConnection) {
      const why = `at most ${this.app.maxChannelsPerConnection} per connection`;
      this.sendError(this.overLimit(Limit.ChannelsPerConnection, `${this.app.maxChannelsPerConnection} channels per connection`, channel));
      throw new SubscriptionError('TooManyChannels', channel, why);
    }
    if (this.host.isChannelOverLimit(this.app, channel)) {
      this.sendError(this.overLimit(Limit.Channels, `${this.app.maxChannels} occupied channels of the app`, channel));
      throw new SubscriptionError('OverLimit', channel, `the app is at its limit of ${this.app.maxChannels} channels`);
    }
  }

  /** A non-fatal error frame beside another answer (the subscription_error that follows a 4301). */
  private sendError(error: ProtocolError): void {
    this.send(encodeFrame(this.names().error, errorData(error, error.context)));
  }

  /** The 4301 for one of the app's limits, named by its config key, and counted. */
  private overLimit(limit: LimitName, what: string, channel?: ChannelName): ProtocolError {
    this.host.metrics.rateLimited(this.app.id, limit);
    return new ProtocolError('OverLimit', `${limit}: at most ${what}`, channel === undefined ? {} : { channel });
  }

  /**
   * A presence subscription completes once the cluster has admitted the user (PresenceChannels.join): only
   * then does the socket join the channel, so it never sees its own member_added. The roster is read after it
   * has joined, and the member events that arrive meanwhile are held and sent after the roster: a member who
   * joins or leaves at the same moment, on any node, is never missed. On a history channel the stream is read
   * beside the roster and the answer carries both. A repeated subscribe is answered with the roster again, or
   * ignored while the first one waits.
   */
  private joinPresence(channel: ChannelName, member: PresenceMember, history?: { rule: HistoryRule; since: StreamPosition | undefined }): void {
    if (this.joining?.has(channel)) return;
    const { presence } = this.host;
    if (this.joined.includes(channel)) {
      if (this.held?.has(channel)) return;
      const sent = presence.snapshot(this.app.id, channel).then((roster) => this.sendRoster(channel, roster));
      if (isCacheChannel(channel)) this.host.cache.replay(this.app, channel, this, sent);
      return;
    }
    this.checkRoomForChannel(channel);
    const attempt = {};
    (this.joining ??= new Map()).set(channel, attempt);
    void presence.join(this.app, channel, member).then((admitted) => {
      const isWanted = this.joining?.get(channel) === attempt;
      if (isWanted) this.joining?.delete(channel);
      if (!admitted) {
        if (isWanted) this.report(new SubscriptionError('MemberLimitReached', channel, `at most ${this.app.maxPresenceMembers} members`));
        return;
      }
      // Unsubscribed, evicted or closed while waiting: the admission is undone.
      if (!isWanted) return presence.leave(this.app.id, channel, member.userId);
      const routed = this.host.join(this.app.id, channel, this, history !== undefined);
      this.joined = this.joined.concat(channel);
      (this.presence ??= new Map()).set(channel, member.userId);
      const held = this.startHolding(channel);
      const recovery = history && (() => this.host.history.recover(this.app, channel, history.rule, history.since));
      const answered = this.answerWhenReady(channel, held, routed, () => presence.snapshot(this.app.id, channel), recovery);
      // Read from the join on, so no cached event delivered meanwhile is overtaken; sent after the answer.
      if (isCacheChannel(channel)) this.replayCache(channel, routed, answered);
    });
  }

  /**
   * A cache channel's last event, read once this node receives the channel (`routed`), so that no newer event
   * published elsewhere meanwhile is missed, and sent after `answered`.
   */
  private replayCache(channel: ChannelName, routed: Promise<void> | undefined, answered: Promise<void> | undefined): void {
    const replay = () => this.host.cache.replay(this.app, channel, this, answered);
    if (routed) void routed.then(replay);
    else replay();
  }

  private startHolding(channel: ChannelName): HeldFrames {
    const held = new HeldFrames(this.host.limits.maxBackpressureBytes);
    (this.held ??= new Map()).set(channel, held);
    return held;
  }

  /**
   * Sends a held channel's subscription_succeeded once the node receives the channel's messages (`routed`, in a
   * cluster routed by channel: the reads start only then, so that nothing they miss fails to reach this node)
   * and its roster and its history (each if it has one) are read: the roster, the stream's position and whether
   * the client's missed publications were recovered; then those publications, then what was held
   * (ChannelIndex.join) from after the answer's position; only then does the channel's FanOut reach the socket.
   * Nothing is sent if the channel was left meanwhile; a read that fails, or a hold that overflowed, refuses the
   * subscription (HistoryUnavailable) and leaves the channel.
   */
  private answerWhenReady(
    channel: ChannelName,
    held: HeldFrames,
    routed: Promise<void> | undefined,
    roster?: () => Promise<PresenceSnapshot>,
    recovery?: () => Promise<Recovery>,
  ): Promise<void> {
    const isWanted = () => this.held?.get(channel) === held && this.held.delete(channel);
    const read = () => Promise.all([roster?.(), recovery?.()]);
    return (routed ? routed.then(read) : read()).then(
      ([snapshot, answer]) => {
        if (!isWanted()) return;
        if (held.hasOverflowed) return this.refuseHeld(channel, `over ${this.host.limits.maxBackpressureBytes} bytes of events arrived while its answer was prepared`);
        this.send(encodeFrame(this.names().subscriptionSucceeded, subscriptionData(snapshot, answer), channel));
        for (const frame of answer?.frames ?? []) this.send(frame);
        held.release((frame) => this.send(frame), answer?.position);
        this.host.attach(this.app.id, channel, this);
      },
      (error: unknown) => {
        if (isWanted()) this.refuseHeld(channel, error instanceof Error ? error.message : String(error));
      },
    );
  }

  private refuseHeld(channel: ChannelName, why: string): void {
    this.joined = this.joined.filter((joined) => joined !== channel);
    this.leave(channel);
    this.report(new SubscriptionError('HistoryUnavailable', channel, why));
  }

  deliverMemberEvent(channel: ChannelName, frame: string): void {
    const held = this.held?.get(channel);
    if (held) held.hold(frame);
    else this.send(frame);
  }

  hold(channel: ChannelName, frame: string, position?: StreamPosition): void {
    this.held?.get(channel)?.hold(frame, position);
  }

  private sendRoster(channel: ChannelName, roster: PresenceSnapshot): void {
    this.send(encodeFrame(this.names().subscriptionSucceeded, JSON.stringify({ presence: roster }), channel));
  }

  private unsubscribe(data: UnsubscribeData): void {
    const { wire } = resolveChannel(channelRefOf(data), this.app);
    this.joining?.delete(wire);
    this.leaveJoined(wire);
  }

  private leaveJoined(wire: ChannelName): void {
    this.held?.delete(wire);
    const at = this.joined.indexOf(wire);
    if (at < 0) return;
    this.joined = this.joined.slice(0, at).concat(this.joined.slice(at + 1));
    this.leave(wire);
  }

  /**
   * A broadcast that collects responses (D9). Every subscriber gets the event with the broadcast's id, this
   * connection included; after the timeout this connection gets the responses. Refusals name the
   * request_id so the client can tell which broadcast failed.
   */
  private broadcast(data: BroadcastData): void {
    const target = resolveChannel(data.channel, this.app);
    checkMayPublish(this.role, target);
    this.checkJoinedIfGuarded(target, 'BroadcastRejected', 'broadcasting');
    checkMayBroadcast(this.app, target, this.joined.includes(target.wire));
    checkBroadcastName(data.name, this.app);
    const payload = payloadText(data.payload, this.app);
    this.broadcastBudget ??= new RateWindow(ONE_SECOND_MS, this.app.maxBroadcastsPerSecond);
    if (!this.broadcastBudget.take(this.host.now())) {
      throw new ProtocolError('BroadcastRejected', `over the limit of ${this.app.maxBroadcastsPerSecond} broadcasts per second`);
    }
    this.checkRoomForBroadcast();
    const timeoutMs = broadcastTimeoutMs(data.timeout, this.app);
    const id = this.host.broadcasts.open(this.app.id, target.wire, this.app, timeoutMs, (outcome) => this.deliverResponses(id, data.request_id, outcome), true);
    if (id === undefined) throw new ProtocolError('BroadcastRejected', `the clients of app ${this.app.id} already have ${this.app.maxPendingClientBroadcasts} broadcasts waiting for responses`);
    (this.ownBroadcasts ??= new Set()).add(id);
    this.host.publish(this.app.id, target.wire, () => encodeBroadcastEvent(data.name, target.wire, payload, id));
  }

  /** Budgets of waiting broadcasts: the connection's own, and the app's (which REST shares). */
  private checkRoomForBroadcast(): void {
    const { app } = this;
    if ((this.ownBroadcasts?.size ?? 0) >= app.maxPendingBroadcastsPerConnection) {
      throw new ProtocolError('BroadcastRejected', `this connection already has ${app.maxPendingBroadcastsPerConnection} broadcasts waiting for responses`);
    }
    if (this.host.broadcasts.pendingOf(app.id) >= app.maxPendingBroadcasts) {
      throw new ProtocolError('BroadcastRejected', `app ${app.id} already has ${app.maxPendingBroadcasts} broadcasts waiting for responses`);
    }
  }

  private deliverResponses(id: string | undefined, requestId: RequestId, outcome: BroadcastOutcome): void {
    if (id !== undefined) this.ownBroadcasts?.delete(id);
    const data = `{"request_id":${JSON.stringify(requestId)},"responses":${outcome.responses},"dropped":${outcome.dropped}}`;
    this.send(encodeFrame(this.names().broadcastResponses, data));
  }

  /** One answer to a broadcast; late ones and unknown ids are dropped without a reply. */
  private respond(data: ResponseData): void {
    const target = resolveChannel(data.channel, this.app);
    checkMayUse(this.role, target);
    this.checkJoinedIfGuarded(target, 'ResponseRejected', 'responding');
    this.responseBudget ??= new RateWindow(ONE_SECOND_MS, this.app.maxResponsesPerSecond);
    if (!this.responseBudget.take(this.host.now())) {
      throw new ProtocolError('ResponseRejected', `over the limit of ${this.app.maxResponsesPerSecond} responses per second`);
    }
    this.host.respond(this.app.id, data.id, target.wire, payloadText(data.payload, this.app));
  }

  /** Private and presence channels prove membership by their auth: only subscribers act on them. */
  private checkJoinedIfGuarded(target: Channel, kind: 'BroadcastRejected' | 'ResponseRejected', doing: string): void {
    if (target.type !== 'public' && !this.joined.includes(target.wire)) {
      throw new ProtocolError(kind, `subscribe to ${describe(target)} before ${doing} on it`);
    }
  }

  private leave(channel: ChannelName): void {
    this.host.leave(this.app.id, channel, this);
    const userId = this.presence?.get(channel);
    if (userId === undefined) return;
    this.presence?.delete(channel);
    this.host.presence.leave(this.app.id, channel, userId);
  }

  /**
   * Reports what went wrong with a frame: every refused subscribe as a subscription_error for its channel,
   * anything else as an error frame naming what the frame was about (its channel, a broadcast's request_id).
   * Unexpected errors are logged and reported as ServerError.
   */
  private report(error: unknown, frame?: ClientFrame): void {
    if (!(error instanceof ProtocolError) && !(error instanceof SubscriptionError)) {
      this.host.logUnexpected({ socketId: this.socketId, error: String(error) });
    }
    if (frame?.kind === 'subscribe' && !(error instanceof SubscriptionError)) {
      const refusal = error instanceof ProtocolError ? error : undefined;
      error = new SubscriptionError(refusal ? 'InvalidSubscription' : 'ServerError', echoedChannel(frame.data.channel), refusal?.message);
    }
    if (error instanceof SubscriptionError) {
      this.host.frameRefused(this, error);
      return this.send(encodeFrame(this.names().subscriptionError, error.toData(), error.channel));
    }
    const refusal = error instanceof ProtocolError ? error : new ProtocolError('ServerError');
    const context = frame === undefined ? {} : contextOfFrame(frame);
    this.host.frameRefused(this, refusal, context.channel ?? refusal.context.channel);
    if (refusal.fatal || frame === undefined) return this.fail(refusal);
    this.send(encodeFrame(this.names().error, errorData(refusal, context)));
  }
}

/**
 * `data` of a subscription_succeeded: "{}", or the presence roster and the history position (with whether
 * the missed publications were recovered, when the client asked).
 */
function subscriptionData(roster: PresenceSnapshot | undefined, recovery: Recovery | undefined): string | undefined {
  if (roster === undefined && recovery === undefined) return undefined;
  const history = recovery && { epoch: recovery.position.epoch, offset: recovery.position.offset, ...(recovery.recovered !== undefined && { recovered: recovery.recovered }) };
  return JSON.stringify({ ...(roster && { presence: roster }), ...history });
}

/** What a refusal of `frame` names: the channel as the client wrote it, and a broadcast's request_id. */
function contextOfFrame(frame: ClientFrame): ErrorContext {
  switch (frame.kind) {
    case 'unsubscribe':
    case 'subscribe':
      return { channel: echoedChannel(frame.data.channel) };
    case 'client-event':
      return { channel: echoedChannel(frame.channel) };
    case 'broadcast':
      return { requestId: frame.data.request_id, channel: echoedChannel(nameOf(frame.data.channel)) };
    case 'response':
      return { channel: echoedChannel(nameOf(frame.data.channel)) };
    default:
      return {};
  }
}

function nameOf(channel: ChannelRefData): string {
  return typeof channel === 'string' ? channel : channel.name;
}

/** `channel` is a name when the frame carries flags, else a wire name or ID. */
function channelRefOf(data: UnsubscribeData): ChannelRef {
  return data.system === undefined && data.consumer === undefined ? data.channel : { name: data.channel, system: data.system, consumer: data.consumer };
}

function assertNever(value: never): never {
  throw new Error(`unhandled frame ${JSON.stringify(value)}`);
}
