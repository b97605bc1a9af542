import { type ChannelFlags, channelId } from '../protocol/channel-id.js';
import { ClientStateError, OptionsError } from './errors.js';
import type { ListenCallback, Listener } from './listener.js';
import { type ClientOptions, resolveOptions, type WebSocketClass } from './options.js';
import { type ClientEvent, Runtime, type StreamPosition } from './runtime.js';

/** The context of a client that was not cloned. */
const ROOT_CONTEXT = '';

/**
 * The EXP-style SDK on the broadcastt protocol. A client is unstarted until `start(options)`; `clone(context)`
 * gives another view of the same started client whose registrations carry that context; `fork()` gives an
 * independent, unstarted client.
 *
 * Contexts are scoped to one started client and its clones, not global across clients as in the EXP SDK
 * (where `sdk2.clear('A')` also cleared `sdk1`'s 'A'): clearing a context never reaches another client.
 */
export class Client {
  private runtime: Runtime | undefined;
  private stopped = false;

  /** @param defaultWebSocket supplied by the Node or browser entry point. */
  constructor(
    private readonly defaultWebSocket?: WebSocketClass,
    readonly context: string = ROOT_CONTEXT,
    shared?: Runtime,
  ) {
    this.runtime = shared;
  }

  /** Validates the options (throwing OptionsError), then connects in the background. Returns this client. */
  start(options: ClientOptions): this {
    if (this.stopped) throw new ClientStateError('this client was stopped; fork() gives a new one');
    if (this.runtime) throw new ClientStateError('this client is already started');
    this.runtime = new Runtime(resolveOptions(options, this.defaultWebSocket));
    this.runtime.connection.start();
    return this;
  }

  /** Closes the connection and every listener of this client and all its clones; releases all timers. */
  stop(): void {
    this.stopped = true;
    this.runtime?.stop();
  }

  get isOnline(): boolean {
    return this.started().connection.online;
  }

  /**
   * `online` (connected, channels resubscribed), `offline`, `error` (a fatal refusal: no reconnect), `subscribed`
   * (a channel's subscription was answered; its detail, a Subscribed, says whether missed events were recovered).
   */
  on(event: ClientEvent, callback: (detail?: unknown) => void): { cancel(): void } {
    return this.started().on(event, callback, this.context);
  }

  /**
   * A channel by name and flags. Flagged channels are named on the wire by their channel ID, which needs
   * the app id (`appId` in the options).
   */
  getChannel(name: string, flags: ChannelFlags = {}): Channel {
    const runtime = this.started();
    const { appId } = runtime.options;
    if ((flags.system || flags.consumer) && appId === undefined) {
      throw new OptionsError('appId', 'system and consumer channels are named by an ID that includes the app id; pass appId to start()');
    }
    const wire = flags.system || flags.consumer ? channelId(appId as string, name, flags) : name;
    return new Channel(runtime, name, wire, this.context);
  }

  /** Another view of this client; everything registered through it carries `context`. */
  clone(context: string = Math.random().toString(36).slice(2)): Client {
    return new Client(this.defaultWebSocket, context, this.started());
  }

  /** Removes every listener and event handler registered with `context` (default: this client's own). */
  clear(context: string = this.context): void {
    this.started().clear(context);
  }

  /** An independent, unstarted client. */
  fork(): Client {
    return new Client(this.defaultWebSocket);
  }

  private started(): Runtime {
    if (this.stopped || this.runtime?.stopped) throw new ClientStateError('this client was stopped');
    if (!this.runtime) throw new ClientStateError('start() the client first');
    return this.runtime;
  }
}

/** A channel as seen from one client (view). */
export class Channel {
  constructor(
    private readonly runtime: Runtime,
    readonly name: string,
    /** The name the server uses for this channel: its plain name, or its channel ID when flagged. */
    readonly wire: string,
    private readonly context: string,
  ) {}

  /**
   * Sends `name` with `payload` to every listener of the channel (this client's too) and resolves, after
   * `timeoutMs`, to their responses. Without a timeout the server's default applies (the app's
   * broadcastTimeoutMs, 1 s unless configured).
   */
  broadcast(name: string, payload?: unknown, timeoutMs?: number): Promise<unknown[]> {
    this.ensureRunning();
    return this.runtime.broadcast(this.wire, name, payload, timeoutMs);
  }

  /** `listen(name, cb)` for one event, `listen(cb)` for every event; resolves once subscribed. */
  listen(name: string | ListenCallback, callback?: ListenCallback): Promise<Listener> {
    this.ensureRunning();
    return typeof name === 'function'
      ? this.runtime.listen(this.wire, undefined, name, this.context)
      : this.runtime.listen(this.wire, name, callback, this.context);
  }

  /** A client event (`client-…`) to the other subscribers; private and presence channels only. */
  trigger(event: string, data: unknown): boolean {
    this.ensureRunning();
    return this.runtime.trigger(this.wire, event, data);
  }

  /**
   * History channels: where this client is in the channel's stream (the epoch and the offset of the last event
   * received), once subscribed. After a reconnect the SDK asks for what it missed from there.
   */
  get position(): StreamPosition | undefined {
    return this.runtime.position(this.wire);
  }

  /** Presence channels: the members by user id, with their user_info. */
  get members(): ReadonlyMap<string, unknown> {
    return this.runtime.members(this.wire);
  }

  private ensureRunning(): void {
    if (this.runtime.stopped) throw new ClientStateError('this client was stopped');
  }
}
