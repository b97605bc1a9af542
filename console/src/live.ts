/**
 * The page's socket on /console/socket (docs/console.md): it signs in with the token, then receives the
 * app's counts every second and every frame of the channel it watches. It is not one of the app's clients:
 * the gateway counts it nowhere. It reconnects (and watches again) until the token is refused.
 */

// The server's own type: the page shows refusals exactly as src/console/app-activity.ts keeps them.
import type { Refusal, WebhookAttempt } from '../../src/console/app-activity.js';

export type { Refusal, WebhookAttempt };

export interface Stats {
  readonly time: number;
  readonly connections: number;
  /** Null while the cluster store cannot be read. */
  readonly channels: number | null;
  readonly published: number;
  readonly refusals: readonly Refusal[];
  /** The webhook attempts made on this node since the last stats; null when the app has no webhooks. */
  readonly webhooks: null | readonly WebhookAttempt[];
}

export interface Watched {
  readonly wire: string;
  readonly name: string;
  readonly system: boolean;
  readonly consumer: boolean;
  readonly type: string;
}

/** A frame seen on the watched channel, as the gateway sent it (`data` is JSON text). */
export interface ChannelFrame {
  readonly event: string;
  readonly channel: string;
  readonly data: string;
  readonly id?: string;
  readonly user_id?: string;
}

export type ChannelRef = string | { readonly name: string; readonly system: boolean; readonly consumer: boolean };

export interface LiveHandlers {
  state(state: 'connecting' | 'live' | 'closed', reason?: string): void;
  stats(stats: Stats): void;
  watching(watched: Watched | undefined): void;
  frame(frame: ChannelFrame): void;
  error(message: string): void;
  /** The gateway refused the token (it expired): the page must sign in again. */
  signedOut(reason: string): void;
}

const PING_MS = 25_000;
const RETRY_MS = [500, 1000, 2000, 5000];
/** Connection not authorized: the token is no good, so reconnecting would not help. */
const UNAUTHORIZED_CLOSE = 4009;

export class LiveSocket {
  private socket: WebSocket | undefined;
  private watched: ChannelRef | undefined;
  private retries = 0;
  private stopped = false;
  private pinger: number | undefined;

  constructor(
    private readonly token: string,
    private readonly on: LiveHandlers,
  ) {
    this.connect();
  }

  watch(channel: ChannelRef | undefined): void {
    this.watched = channel;
    this.send(channel === undefined ? { event: 'console:unwatch' } : { event: 'console:watch', data: { channel } });
  }

  stop(): void {
    this.stopped = true;
    window.clearInterval(this.pinger);
    this.socket?.close();
  }

  private connect(): void {
    this.on.state('connecting');
    const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/console/socket`);
    this.socket = socket;
    socket.onopen = () => {
      socket.send(JSON.stringify({ event: 'console:auth', data: { token: this.token } }));
      if (this.watched !== undefined) this.watch(this.watched);
    };
    socket.onmessage = (message) => this.receive(String(message.data));
    socket.onclose = (event) => {
      window.clearInterval(this.pinger);
      if (this.stopped) return;
      if (event.code === UNAUTHORIZED_CLOSE) return this.on.signedOut(event.reason || 'signed out');
      this.on.state('closed', event.reason || `closed (${event.code})`);
      window.setTimeout(() => this.connect(), RETRY_MS[Math.min(this.retries++, RETRY_MS.length - 1)]);
    };
  }

  private receive(text: string): void {
    const frame = JSON.parse(text) as { event: string; channel?: string; data: string };
    const data = JSON.parse(frame.data) as unknown;
    switch (frame.event) {
      case 'console:ready':
        this.retries = 0;
        this.pinger = window.setInterval(() => this.send({ event: 'console:ping' }), PING_MS);
        return this.on.state('live');
      case 'console:stats':
        return this.on.stats(data as Stats);
      case 'console:watching':
        return this.on.watching(data === null ? undefined : { ...(data as Omit<Watched, 'wire'>), wire: frame.channel ?? '' });
      case 'console:error':
        return this.on.error((data as { message: string }).message);
      case 'console:pong':
        return;
      default:
        return this.on.frame(frame as ChannelFrame);
    }
  }

  private send(frame: unknown): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }
}
