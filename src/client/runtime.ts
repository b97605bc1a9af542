import { parseChannelId } from '../protocol/channel-id.js';
import { type ChannelType, classifyChannel } from '../protocol/channel-type.js';
import { ServerEvents, type ServerEventNames } from '../protocol/frames.js';
import { ConnectionManager, type InboundFrame } from './connection.js';
import { ClientStateError, ConnectionError, ServerError, TimeoutError } from './errors.js';
import { type Delivery, type ListenCallback, Listener, type Message } from './listener.js';
import type { ResolvedOptions } from './options.js';

export type ClientEvent = 'online' | 'offline' | 'error' | 'subscribed';

/** A channel's place in its history stream (PROTOCOL.md §9): the stream's epoch and the last offset received. */
export interface StreamPosition {
  readonly epoch: string;
  readonly offset: number;
}

/**
 * The detail of a `subscribed` event, emitted at every subscription_succeeded (the first and each one after a
 * reconnect). `wasRecovering`: the SDK asked for what it missed (a history channel it had a position in);
 * then `recovered` says whether it got exactly that (true) or nothing (false: reload the channel's state).
 */
export interface Subscribed {
  readonly channel: string;
  readonly wasRecovering: boolean;
  readonly recovered: boolean;
  /**
   * On history channels: the client's place in the stream as the answer arrives. When recovered, the missed
   * events follow the answer and move it on; otherwise it is the stream's last offset, where the client resumes.
   */
  readonly position?: StreamPosition;
}
type Handler = { readonly callback: (detail?: unknown) => void; readonly context: string };

/** The refusal type (protocol/errors.json) of a subscription that may be made again later. */
const HISTORY_UNAVAILABLE = 'HistoryUnavailable';

/** A request waiting for the server, settled exactly once: by the answer, a refusal, the connection, or its deadline. */
interface Pending<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: Error) => void;
  readonly deadline: ReturnType<typeof setTimeout>;
}

/** What the runtime knows about one channel: its listeners, subscription and presence members. */
interface ChannelState {
  readonly wire: string;
  readonly type: ChannelType;
  readonly listeners: Set<Listener>;
  subscribed: boolean;
  /** listen() calls waiting for the subscription to be confirmed or refused. */
  readonly confirmations: Set<Pending<void>>;
  readonly members: Map<string, unknown>;
  /** On history channels: the epoch of the last answer and the offset of the last event received. */
  position: StreamPosition | undefined;
  /** Whether the subscribe in flight asked to recover from `position`. */
  recovering: boolean;
  /** A subscribe refused for now (HistoryUnavailable, 503) is made again after a backoff. */
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  retries: number;
}

/**
 * The shared state behind a client and all its clones: one connection, the channels with their listeners,
 * the broadcasts waiting for responses, and the online/offline/error handlers. Everything registered
 * carries a context, so clear(context) can remove it.
 */
export class Runtime {
  readonly connection: ConnectionManager;
  private readonly channels = new Map<string, ChannelState>();
  private readonly handlers: Record<ClientEvent, Set<Handler>> = { online: new Set(), offline: new Set(), error: new Set(), subscribed: new Set() };
  private readonly broadcasts = new Map<string, Pending<unknown[]>>();
  /** Sends waiting for the connection (broadcasts made while offline). */
  private readonly whenOnline: Array<() => void> = [];
  private readonly names: ServerEventNames;
  private nextRequest = 0;
  stopped = false;

  constructor(readonly options: ResolvedOptions) {
    this.names = ServerEvents[options.dialect];
    this.connection = new ConnectionManager(options, {
      online: (socketId) => this.online(socketId),
      offline: (willReconnect) => this.offline(willReconnect),
      frame: (frame) => this.receive(frame),
      error: (error) => this.failed(error),
    });
  }

  on(event: ClientEvent, callback: (detail?: unknown) => void, context: string): { cancel(): void } {
    const handler = { callback, context };
    this.handlers[event].add(handler);
    return { cancel: () => this.handlers[event].delete(handler) };
  }

  /** Registers a listener at once; resolves when the channel's subscription is confirmed. */
  listen(wire: string, name: string | undefined, callback: ListenCallback | undefined, context: string): Promise<Listener> {
    const state = this.channelState(wire);
    const { queueMaxAgeMs: maxAgeMs, queueLimit: limit, now } = this.options;
    const listener = new Listener(
      wire,
      name,
      context,
      callback,
      { maxAgeMs, limit, now },
      (l) => this.removeListener(l),
      (error) => this.emit('error', error),
    );
    state.listeners.add(listener);
    if (state.subscribed) return Promise.resolve(listener);
    const confirmed = this.request(state.confirmations, () => new TimeoutError(`${wire} was not confirmed within ${this.options.requestTimeoutMs} ms`), this.options.requestTimeoutMs);
    if (state.listeners.size === 1 && this.connection.online) void this.subscribe(state);
    return confirmed.then(
      () => listener,
      (error: unknown) => {
        listener.cancel();
        throw error;
      },
    );
  }

  /**
   * Sends a broadcast (waiting for the connection if need be) and resolves to the responses. Gives up with a
   * TimeoutError when they have not come requestTimeoutMs after the broadcast's own timeout.
   */
  broadcast(channel: string, name: string, payload: unknown, timeoutMs: number | undefined): Promise<unknown[]> {
    const requestId = `r${++this.nextRequest}`;
    const waitMs = (timeoutMs ?? 0) + this.options.requestTimeoutMs;
    const responses = this.request(this.broadcasts, () => new TimeoutError(`no responses to broadcast ${name} within ${waitMs} ms`), waitMs, requestId);
    const send = () => {
      if (!this.broadcasts.has(requestId)) return;
      const frame = { event: `${this.connection.prefix}:broadcast`, data: { request_id: requestId, channel, name, payload, timeout: timeoutMs } };
      if (!this.connection.send(frame)) this.whenOnline.push(send);
    };
    send();
    return responses;
  }

  /** A request kept in `waiting` (under `key` for a map) until it is settled or `deadlineMs` passes. */
  private request<T>(waiting: Set<Pending<T>> | Map<string, Pending<T>>, timedOut: () => Error, deadlineMs: number, key = ''): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const forget = () => (waiting instanceof Set ? waiting.delete(pending) : waiting.delete(key));
      const pending: Pending<T> = {
        resolve: (value) => {
          clearTimeout(pending.deadline);
          forget();
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(pending.deadline);
          forget();
          reject(error);
        },
        deadline: setTimeout(() => pending.reject(timedOut()), deadlineMs),
      };
      if (waiting instanceof Set) waiting.add(pending);
      else waiting.set(key, pending);
    });
  }

  /** A client event to the channel's other subscribers (private and presence channels, if the app allows). */
  trigger(wire: string, event: string, data: unknown): boolean {
    return this.connection.send({ event, channel: wire, data });
  }

  /** The channel's place in its history stream, if it keeps history and has been subscribed. */
  position(wire: string): StreamPosition | undefined {
    return this.channels.get(wire)?.position;
  }

  members(wire: string): ReadonlyMap<string, unknown> {
    return this.channels.get(wire)?.members ?? new Map();
  }

  /** Removes every listener and handler registered with `context`. */
  clear(context: string): void {
    for (const state of [...this.channels.values()]) for (const listener of [...state.listeners]) if (listener.context === context) listener.cancel();
    for (const set of Object.values(this.handlers)) for (const handler of [...set]) if (handler.context === context) set.delete(handler);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.connection.stop();
    this.failAll(new ClientStateError('the client was stopped'));
    for (const state of this.channels.values()) for (const listener of [...state.listeners]) listener.cancel();
    this.whenOnline.length = 0;
  }

  private channelState(wire: string): ChannelState {
    let state = this.channels.get(wire);
    if (!state) {
      // The prefix that decides the type is on the name, which for flagged channels is inside the ID.
      const type = classifyChannel(parseChannelId(wire)?.name ?? wire);
      state = { wire, type, listeners: new Set(), subscribed: false, confirmations: new Set(), members: new Map(), position: undefined, recovering: false, retryTimer: undefined, retries: 0 };
      this.channels.set(wire, state);
    }
    return state;
  }

  private async subscribe(state: ChannelState): Promise<void> {
    const socketId = this.connection.id;
    if (socketId === undefined) return;
    let authorization = {};
    if (state.type !== 'public') {
      try {
        if (!this.options.authorizer) throw new ClientStateError(`${state.wire} needs an authorizer option`);
        authorization = await this.options.authorizer(socketId, state.wire);
      } catch (error) {
        return this.settle(state, error instanceof Error ? error : new Error(String(error)));
      }
    }
    // A position from an earlier subscription asks for what was missed since (PROTOCOL.md §9).
    state.recovering = state.position !== undefined;
    const since = state.position === undefined ? {} : { since: state.position };
    this.connection.send({ event: `${this.connection.prefix}:subscribe`, data: { channel: state.wire, ...authorization, ...since } });
  }

  private removeListener(listener: Listener): void {
    const state = this.channels.get(listener.channel);
    if (!state?.listeners.delete(listener) || state.listeners.size > 0) return;
    this.channels.delete(state.wire);
    if (state.retryTimer) clearTimeout(state.retryTimer);
    this.settle(state, new ClientStateError(`every listener of ${state.wire} was cancelled before its subscription was confirmed`));
    // Also while a subscription is still in flight, so the server does not keep one nobody listens to.
    this.connection.send({ event: `${this.connection.prefix}:unsubscribe`, data: { channel: state.wire } });
  }

  private online(_socketId: string): void {
    for (const state of this.channels.values()) {
      state.subscribed = false;
      void this.subscribe(state);
    }
    for (const send of this.whenOnline.splice(0)) send();
    this.emit('online');
  }

  private offline(willReconnect: boolean): void {
    for (const state of this.channels.values()) {
      state.subscribed = false;
      if (state.retryTimer) clearTimeout(state.retryTimer);
      state.retryTimer = undefined;
    }
    this.failBroadcasts(new ConnectionError('the connection was lost before the responses arrived'));
    this.emit('offline', { willReconnect });
  }

  /** The connection closed for good (a 4000–4099 refusal): nothing waiting will ever be answered. */
  private failed(error: ServerError): void {
    this.failAll(error);
    this.emit('error', error);
  }

  private failAll(error: Error): void {
    for (const state of this.channels.values()) this.settle(state, error);
    this.failBroadcasts(error);
  }

  private receive(frame: InboundFrame): void {
    const state = frame.channel === undefined ? undefined : this.channels.get(frame.channel);
    switch (frame.event) {
      case this.names.subscriptionSucceeded: {
        if (!state) return;
        state.subscribed = true;
        state.retries = 0;
        const presence = (frame.data as { presence?: { hash: Record<string, unknown> } }).presence;
        if (presence) state.members.clear();
        for (const [id, info] of Object.entries(presence?.hash ?? {})) state.members.set(id, info);
        const subscribed = this.positionAnswered(state, frame.data as { epoch?: unknown; offset?: unknown; recovered?: unknown });
        this.settle(state);
        return this.emit('subscribed', subscribed);
      }
      case this.names.subscriptionError: {
        const { type, error, status } = frame.data as { type: string; error: string; status: number };
        if (!state) return;
        if (type === HISTORY_UNAVAILABLE) return this.retrySubscribe(state);
        this.settle(state, new ServerError(error, undefined, status, type));
        return;
      }
      case this.names.memberAdded: {
        const { user_id: id, user_info: info } = frame.data as { user_id: string; user_info: unknown };
        state?.members.set(id, info);
        return;
      }
      case this.names.memberRemoved:
        state?.members.delete((frame.data as { user_id: string }).user_id);
        return;
      case this.names.broadcastResponses: {
        const { request_id: id, responses } = frame.data as { request_id: string; responses: unknown[] };
        this.broadcasts.get(id)?.resolve(responses);
        return;
      }
      case this.names.error: {
        const { code, message, request_id: id } = frame.data as { code: number; message: string; request_id?: string };
        if (id !== undefined) this.broadcasts.get(id)?.reject(new ServerError(message, code));
        return;
      }
      default:
        if (state) this.deliver(state, frame);
    }
  }

  /**
   * The position a subscription answer gives: the stream's epoch, and its offset unless the missed events follow
   * (recovered), which then move the position themselves. Channels without history answer no position.
   */
  private positionAnswered(state: ChannelState, data: { epoch?: unknown; offset?: unknown; recovered?: unknown }): Subscribed {
    const wasRecovering = state.recovering;
    state.recovering = false;
    const recovered = wasRecovering && data.recovered === true;
    if (typeof data.epoch === 'string' && typeof data.offset === 'number') {
      state.position = { epoch: data.epoch, offset: recovered && state.position ? state.position.offset : data.offset };
    }
    return { channel: state.wire, wasRecovering, recovered, ...(state.position && { position: state.position }) };
  }

  /** The server cannot read the channel's history now: subscribe again after a backoff, while someone listens. */
  private retrySubscribe(state: ChannelState): void {
    const { minBackoffMs, maxBackoffMs } = this.options;
    const ceiling = Math.min(maxBackoffMs, minBackoffMs * 2 ** state.retries++);
    if (state.retryTimer) clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(() => {
      state.retryTimer = undefined;
      if (this.channels.get(state.wire) === state && this.connection.online) void this.subscribe(state);
    }, ceiling / 2 + Math.random() * (ceiling / 2));
  }

  /** Each listener gets its own copy of the payload, so one listener's changes never reach another. */
  private deliver(state: ChannelState, frame: InboundFrame): void {
    if (typeof frame.offset === 'number' && state.position) state.position = { epoch: state.position.epoch, offset: frame.offset };
    const message: Message = { id: frame.id, name: frame.event, channel: state.wire, payload: frame.data, userId: frame.user_id, offset: frame.offset };
    const respond = (response: unknown) =>
      frame.id !== undefined && this.connection.send({ event: `${this.connection.prefix}:response`, data: { id: frame.id, channel: state.wire, payload: response } });
    for (const listener of [...state.listeners]) {
      if (listener.name !== undefined && listener.name !== frame.event) continue;
      const payload = structuredClone(frame.data);
      const delivery: Delivery = { payload, respond, message: { ...message, payload } };
      listener.deliver(delivery);
    }
  }

  private settle(state: ChannelState, error?: Error): void {
    for (const pending of [...state.confirmations]) {
      if (error) pending.reject(error);
      else pending.resolve();
    }
  }

  private failBroadcasts(error: Error): void {
    for (const pending of [...this.broadcasts.values()]) pending.reject(error);
  }

  private emit(event: ClientEvent, detail?: unknown): void {
    for (const handler of [...this.handlers[event]]) handler.callback(detail);
  }
}
