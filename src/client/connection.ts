import { reconnectAfterClose } from '../protocol/close-codes.js';
import { ServerEvents, type ServerEventNames } from '../protocol/frames.js';
import { ServerError } from './errors.js';
import type { ResolvedOptions, WebSocketLike } from './options.js';

/** A server frame with `data` decoded. */
export interface InboundFrame {
  readonly event: string;
  readonly channel?: string;
  readonly data: unknown;
  readonly id?: string;
  readonly user_id?: string;
  /** On history channels: the event's offset in the channel's stream. */
  readonly offset?: number;
}

export interface ConnectionEvents {
  /** connection_established arrived: the socket is usable. */
  online(socketId: string): void;
  /** The socket was lost; `willReconnect` tells whether the manager will try again. */
  offline(willReconnect: boolean): void;
  frame(frame: InboundFrame): void;
  /** A fatal condition: a 4000-range close, or the server's error before it. */
  error(error: ServerError): void;
}

const SOCKET_OPEN = 1;

/**
 * Keeps one WebSocket to the gateway: connects, pings after activity_timeout and treats a missing pong as a
 * lost connection, and on close decides by the code's class (protocol/errors.json): 4000–4099 stop,
 * 4100–4199 back off with jitter, 4200–4299 reconnect at once, anything else (network loss) back off.
 */
export class ConnectionManager {
  private socket: WebSocketLike | undefined;
  private socketId: string | undefined;
  private activityTimeoutMs = 0;
  private lastFatal: ServerError | undefined;
  private attempts = 0;
  private stopped = true;
  private pingTimer: ReturnType<typeof setTimeout> | undefined;
  private pongTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly names: ServerEventNames;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly events: ConnectionEvents,
  ) {
    this.names = ServerEvents[options.dialect];
  }

  get online(): boolean {
    return this.socketId !== undefined;
  }

  get id(): string | undefined {
    return this.socketId;
  }

  /** The dialect's prefix for client events, e.g. `broadcastt`. */
  get prefix(): string {
    return this.options.dialect;
  }

  start(): void {
    if (!this.stopped || !this.options.enableNetwork) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = undefined;
    const wasOnline = this.online;
    this.socketId = undefined;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      // Closing a socket that is still connecting reports an error; it is expected here.
      socket.onerror = () => {};
      socket.close();
    }
    if (wasOnline) this.events.offline(false);
  }

  /** Sends a frame if the connection is up; returns whether it was sent. */
  send(frame: unknown): boolean {
    if (!this.socket || this.socket.readyState !== SOCKET_OPEN || !this.online) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private connect(): void {
    const socket = new this.options.WebSocket(this.options.url);
    this.socket = socket;
    this.lastFatal = undefined;
    socket.onmessage = (event) => this.receive(String(event.data));
    socket.onerror = () => {}; // a close event always follows; decisions are made there
    socket.onclose = (event) => this.closed(event.code);
  }

  private receive(text: string): void {
    this.schedulePing();
    let frame: InboundFrame;
    try {
      const raw = JSON.parse(text) as { event: string; channel?: string; data?: unknown; id?: string; user_id?: string; offset?: number };
      frame = { ...raw, data: typeof raw.data === 'string' ? parseData(raw.data) : raw.data };
    } catch {
      return; // not a frame of this protocol; nothing to do with it
    }
    if (frame.event === this.names.connectionEstablished) {
      const data = frame.data as { socket_id: string; activity_timeout: number };
      this.socketId = data.socket_id;
      this.activityTimeoutMs = data.activity_timeout * 1000;
      this.attempts = 0;
      this.schedulePing();
      this.events.online(data.socket_id);
      return;
    }
    if (frame.event === this.names.pong) return;
    if (frame.event === this.names.error) {
      const { code, message } = frame.data as { code: number; message: string };
      // A fatal error frame is followed by a close with the same code; keep it to report with that close.
      if (reconnectAfterClose(code) !== 'none') this.lastFatal = new ServerError(message, code);
    }
    this.events.frame(frame);
  }

  /** Any traffic proves the connection alive; after activity_timeout of silence, ping and expect a pong. */
  private schedulePing(): void {
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
    if (this.pingTimer) clearTimeout(this.pingTimer);
    if (this.activityTimeoutMs === 0) return;
    this.pingTimer = setTimeout(() => {
      this.send({ event: `${this.prefix}:ping`, data: {} });
      this.pongTimer = setTimeout(() => this.socket?.close(), this.options.pongTimeoutMs);
    }, this.activityTimeoutMs);
  }

  private closed(code: number): void {
    this.clearTimers();
    const wasOnline = this.online;
    this.socket = undefined;
    this.socketId = undefined;
    if (this.stopped) return;
    const kind = reconnectAfterClose(code);
    if (kind === 'never') {
      this.stopped = true;
      if (wasOnline) this.events.offline(false);
      this.events.error(this.lastFatal ?? new ServerError(`closed by the server with ${code}`, code));
      return;
    }
    if (wasOnline) this.events.offline(true);
    const delay = kind === 'immediately' ? 0 : this.backoffMs();
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** Doubling from minBackoffMs to maxBackoffMs, with full jitter over the upper half. */
  private backoffMs(): number {
    const { minBackoffMs, maxBackoffMs } = this.options;
    const ceiling = Math.min(maxBackoffMs, minBackoffMs * 2 ** this.attempts++);
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  private clearTimers(): void {
    for (const timer of [this.pingTimer, this.pongTimer, this.retryTimer]) if (timer) clearTimeout(timer);
    this.pingTimer = this.pongTimer = this.retryTimer = undefined;
  }
}

function parseData(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
