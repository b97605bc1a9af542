import type { App, AppRegistry } from '../apps/app-registry.js';
import type { Watcher } from '../channels/channel-index.js';
import { HttpError, ProtocolError } from '../errors.js';
import { type Channel, resolveChannel } from '../protocol/channel-name.js';
import type { Connection } from '../protocol/connection.js';
import { type ConsoleClientFrame, ConsoleEvents, decodeConsoleFrame, encodeConsoleFrame } from './console-frames.js';
import type { ConsoleNode } from './console-node.js';
import { verifyToken } from './console-token.js';

/** A console socket must show its token this soon after opening. */
export const AUTH_TIMEOUT_MS = 10_000;
/** How often a signed-in console socket gets the app's counts and new refusals. */
export const STATS_INTERVAL_MS = 1000;
/**
 * How often the occupied channels are counted again: in a cluster that reads the app's whole channel map from
 * the store, so not every second.
 */
export const CHANNELS_INTERVAL_MS = 2000;
/**
 * A page that cannot keep up with the channel it watches (its send buffer reached this) is closed with 4101
 * and reconnects, rather than silently missing frames the transport would drop.
 */
export const MAX_CONSOLE_BUFFER_BYTES = 1024 * 1024;
/** A console page pings every 25 s; one silent for this long is gone. */
export const SILENCE_TIMEOUT_MS = 90_000;

export interface ConsoleSocketHost {
  readonly apps: AppRegistry;
  readonly node: ConsoleNode;
  readonly nowMs: () => number;
  readonly logUnexpected: (fields: Record<string, unknown>) => void;
  /** The socket has closed (called once). */
  closed(socket: ConsoleSocket): void;
}

/**
 * One console page's socket on /console/socket (docs/console.md). It is not a Session: it is in no
 * connection count or quota, no channel's members and no presence roster. Its first frame must be
 * console:auth with a console token; it then gets the app's counts every second and, for the channel it
 * watches, every frame delivered there, every response to a broadcast there and the member events, until
 * the token expires (then it is closed with 4009, and the page signs in again).
 */
export class ConsoleSocket implements Watcher {
  private app: App | undefined;
  private watched: Channel | undefined;
  private lastRefusal = 0;
  private lastWebhook = 0;
  /** The app's occupied channels when last counted (null: the cluster store could not be read), and when. */
  private channels: { count: number | null; atMs: number } | undefined;
  private lastSeenMs: number;
  private isSendingStats = false;
  private isClosed = false;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    readonly connection: Connection,
    private readonly host: ConsoleSocketHost,
  ) {
    this.lastSeenMs = host.nowMs();
    this.after(AUTH_TIMEOUT_MS, () => {
      if (!this.app) this.fail(new ProtocolError('Unauthorized', `no console:auth within ${AUTH_TIMEOUT_MS / 1000} s`));
    });
  }

  receive(message: ArrayBuffer | Uint8Array, isBinary: boolean): void {
    this.markAlive();
    try {
      if (isBinary) throw new ProtocolError('BinaryNotSupported');
      this.handle(decodeConsoleFrame(message instanceof Uint8Array ? message : new Uint8Array(message)));
    } catch (error) {
      if (!(error instanceof ProtocolError)) this.host.logUnexpected({ error: String(error) });
      this.fail(error instanceof ProtocolError ? error : new ProtocolError('ServerError'));
    }
  }

  markAlive(): void {
    this.lastSeenMs = this.host.nowMs();
  }

  /** A frame delivered on the watched channel, as its members got it. */
  observe(frame: string): void {
    this.connection.send(frame);
  }

  /** Sends the error; a fatal one closes the socket with its code. */
  fail(error: ProtocolError): void {
    if (this.isClosed) return;
    this.connection.send(encodeConsoleFrame(ConsoleEvents.error, { code: error.code, message: error.message }));
    if (error.fatal) this.connection.close(error.code, error.message);
  }

  /** The socket is gone: stop watching and stop every timer. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.unwatch();
    this.host.closed(this);
  }

  private handle(frame: ConsoleClientFrame): void {
    if (!this.app) {
      if (frame.kind !== 'auth') throw new ProtocolError('Unauthorized', 'send console:auth first');
      return this.authenticate(frame.token);
    }
    switch (frame.kind) {
      case 'auth':
        throw new ProtocolError('InvalidMessage', 'already signed in');
      case 'watch':
        return this.watch(this.app, frame.channel);
      case 'unwatch':
        this.unwatch();
        return this.connection.send(encodeConsoleFrame(ConsoleEvents.watching, null));
      case 'ping':
        return this.connection.send(encodeConsoleFrame(ConsoleEvents.pong, {}));
    }
  }

  private authenticate(token: string): void {
    const nowMs = this.host.nowMs();
    let grant: ReturnType<typeof verifyToken>;
    try {
      grant = verifyToken(token, this.host.apps, Math.floor(nowMs / 1000));
    } catch (error) {
      throw new ProtocolError('Unauthorized', error instanceof HttpError ? error.message : String(error));
    }
    const { app, expiresAt } = grant;
    this.app = app;
    this.after(expiresAt * 1000 - nowMs, () => this.fail(new ProtocolError('Unauthorized', 'the console sign-in has expired; sign in again')));
    this.every(STATS_INTERVAL_MS, () => this.tick());
    this.connection.send(encodeConsoleFrame(ConsoleEvents.ready, { appId: app.id, key: app.key, expiresAt }));
    void this.sendStats(app);
  }

  private watch(app: App, ref: Parameters<typeof resolveChannel>[0]): void {
    const channel = resolveChannel(ref, app);
    this.unwatch();
    this.watched = channel;
    this.host.node.watch(app.id, channel.wire, this);
    const { name, system, consumer, type } = channel;
    this.connection.send(encodeConsoleFrame(ConsoleEvents.watching, { name, system, consumer, type }, channel.wire));
  }

  private unwatch(): void {
    if (this.app && this.watched) this.host.node.unwatch(this.app.id, this.watched.wire, this);
    this.watched = undefined;
  }

  private tick(): void {
    if (this.host.nowMs() - this.lastSeenMs >= SILENCE_TIMEOUT_MS) return this.fail(new ProtocolError('PongNotReceived', 'the console page stopped pinging'));
    if (this.connection.bufferedAmount() >= MAX_CONSOLE_BUFFER_BYTES) return this.fail(new ProtocolError('SlowConsumer', `over ${MAX_CONSOLE_BUFFER_BYTES} bytes were queued`));
    if (this.app) void this.sendStats(this.app);
  }

  /**
   * The app's counts, cluster-wide, and the refusals and webhook attempts kept on this node since the last
   * ones sent. `channels` is null while the cluster store cannot be read; `webhooks` is null for an app that
   * has none configured.
   */
  private async sendStats(app: App): Promise<void> {
    if (this.isSendingStats) return;
    this.isSendingStats = true;
    const { node } = this.host;
    try {
      const channels = await this.channelCount(app);
      const refusals = node.activity.refusalsSince(app.id, this.lastRefusal);
      this.lastRefusal = refusals.at(-1)?.seq ?? this.lastRefusal;
      const webhooks = app.webhooks.length === 0 ? null : node.activity.webhooksSince(app.id, this.lastWebhook);
      this.lastWebhook = webhooks?.at(-1)?.seq ?? this.lastWebhook;
      const stats = { time: this.host.nowMs(), connections: node.connectionCount(app.id), channels, published: node.activity.publishedCount(app.id), refusals, webhooks };
      this.connection.send(encodeConsoleFrame(ConsoleEvents.stats, stats));
    } finally {
      this.isSendingStats = false;
    }
  }

  /** The app's occupied channels, counted again every CHANNELS_INTERVAL_MS; null while the store is away. */
  private async channelCount(app: App): Promise<number | null> {
    const nowMs = this.host.nowMs();
    if (this.channels && nowMs - this.channels.atMs < CHANNELS_INTERVAL_MS) return this.channels.count;
    let count: number | null = null;
    try {
      count = [...(await this.host.node.channelCounts(app.id))].length;
    } catch {
      // The cluster store cannot be read: the page shows the count as unknown.
    }
    this.channels = { count, atMs: nowMs };
    return count;
  }

  private after(ms: number, run: () => void): void {
    this.timers.push(setTimeout(run, Math.max(0, ms)).unref());
  }

  private every(ms: number, run: () => void): void {
    this.timers.push(setInterval(run, ms).unref());
  }
}
