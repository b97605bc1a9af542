import type { Dialect } from '../protocol/frames.js';
import { OptionsError } from './errors.js';

/** What a private or presence subscription needs: the signature from the app's auth endpoint. */
export interface Authorization {
  readonly auth: string;
  readonly channel_data?: string;
}

/** Returns the authorization for this socket and channel (the wire name), e.g. by asking the app's backend. */
export type Authorizer = (socketId: string, channel: string) => Promise<Authorization> | Authorization;

/** The WebSocket class to use: the browser's, or the `ws` package's on Node. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketClass = new (url: string) => WebSocketLike;

export interface ClientOptions {
  /** The full WebSocket URL, e.g. `wss://eu.example.com/app/KEY`. Or give `host` (and `cluster`). */
  readonly url?: string;
  /** With `host`, the URL is `wss://<cluster>.<host>/app/<key>`. */
  readonly cluster?: string;
  readonly host?: string;
  /** `wss` unless false. Only with `host`. */
  readonly secure?: boolean;
  readonly key: string;
  /** The app's id: system and consumer channels are named by an ID that contains it. */
  readonly appId?: string;
  readonly dialect?: Dialect;
  /** For private and presence channels: a function, or a URL the SDK POSTs `socket_id` and `channel_name` to. */
  readonly authorizer?: Authorizer | string;
  /** false: never connect (listeners register, nothing is delivered). Default true. */
  readonly enableNetwork?: boolean;
  /** How long broadcasts wait in a listener's queue for `wait()` (default 60 s). */
  readonly queueMaxAgeMs?: number;
  /** At most this many broadcasts wait in one listener's queue; the oldest go first (default 1000). */
  readonly queueLimit?: number;
  /** How long to wait for a pong before treating the connection as lost (default 10 s). */
  readonly pongTimeoutMs?: number;
  /**
   * How long a request waits for the server: a listen() for its subscription to be confirmed, from the call
   * (offline time included), and a broadcast for its responses beyond its own timeout (default 10 s).
   */
  readonly requestTimeoutMs?: number;
  /** Backoff after network loss and 4100-range closes: doubles from `minBackoffMs` up to `maxBackoffMs`, with jitter. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Injected clock (ms), for queue expiry in tests. */
  readonly now?: () => number;
  /** The WebSocket implementation; the Node and browser entries supply one. */
  readonly WebSocket?: WebSocketClass;
}

export interface ResolvedOptions {
  readonly url: string;
  readonly key: string;
  readonly appId: string | undefined;
  readonly dialect: Dialect;
  readonly authorizer: Authorizer | undefined;
  readonly enableNetwork: boolean;
  readonly queueMaxAgeMs: number;
  readonly queueLimit: number;
  readonly pongTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly now: () => number;
  readonly WebSocket: WebSocketClass;
}

const DEFAULTS = { queueMaxAgeMs: 60_000, queueLimit: 1000, pongTimeoutMs: 10_000, requestTimeoutMs: 10_000, minBackoffMs: 1000, maxBackoffMs: 30_000 };

/** Checks every option synchronously and throws an OptionsError naming the first bad one. */
export function resolveOptions(options: ClientOptions | undefined, fallbackWebSocket: WebSocketClass | undefined): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new OptionsError('options', 'pass an object');
  const { key, appId, url, host, cluster, dialect = 'broadcastt', authorizer } = options;
  if (typeof key !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(key)) throw new OptionsError('key', 'give the app key (letters, digits, - and _)');
  if (appId !== undefined && (typeof appId !== 'string' || appId === '')) throw new OptionsError('appId', 'must be the app id');
  if (url !== undefined && host !== undefined) throw new OptionsError('url', 'give url or host, not both');
  if (url === undefined && host === undefined) throw new OptionsError('url', 'give url, or host (and cluster)');
  if (url !== undefined && !/^wss?:\/\//.test(url)) throw new OptionsError('url', 'must start with ws:// or wss://');
  if (host !== undefined && (typeof host !== 'string' || host === '')) throw new OptionsError('host', 'must be a host name');
  if (cluster !== undefined && (typeof cluster !== 'string' || !/^[A-Za-z0-9-]+$/.test(cluster))) throw new OptionsError('cluster', 'must be a name like eu');
  if (dialect !== 'broadcastt' && dialect !== 'pusher') throw new OptionsError('dialect', 'must be broadcastt or pusher');
  if (authorizer !== undefined && typeof authorizer !== 'function' && typeof authorizer !== 'string') {
    throw new OptionsError('authorizer', 'must be a function or a URL');
  }
  const numbers = { ...DEFAULTS };
  for (const name of Object.keys(DEFAULTS) as Array<keyof typeof DEFAULTS>) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new OptionsError(name, 'must be a number ≥ 0');
    numbers[name] = value;
  }
  const WebSocket = options.WebSocket ?? fallbackWebSocket;
  if (typeof WebSocket !== 'function') throw new OptionsError('WebSocket', 'no WebSocket implementation available');
  const base = url ?? `${options.secure === false ? 'ws' : 'wss'}://${cluster ? `${cluster}.` : ''}${host}/app/${key}`;
  const query = dialect === 'pusher' ? `${base.includes('?') ? '&' : '?'}protocol=7` : '';
  return {
    ...numbers,
    url: `${base}${query}`,
    key,
    appId,
    dialect,
    authorizer: typeof authorizer === 'string' ? urlAuthorizer(authorizer) : authorizer,
    enableNetwork: options.enableNetwork !== false,
    now: options.now ?? Date.now,
    WebSocket,
  };
}

/** pusher-js style: POST form-encoded socket_id and channel_name, expect JSON {auth, channel_data?}. */
function urlAuthorizer(endpoint: string): Authorizer {
  return async (socketId, channel) => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ socket_id: socketId, channel_name: channel }).toString(),
    });
    if (!response.ok) throw new Error(`authorizer ${endpoint} answered ${response.status}`);
    return (await response.json()) as Authorization;
  };
}
