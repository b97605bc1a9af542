import catalogue from '../protocol/errors.json' with { type: 'json' };
import { closeCodeClassOf, type ReconnectClass } from './protocol/close-codes.js';

/**
 * Typed access to protocol/errors.json, the one catalogue of error codes. Nothing else in the code base
 * holds an error code or HTTP error status as a literal: it names an entry here.
 */
export type WsErrorName = keyof typeof catalogue.websocket;
export type HttpErrorName = keyof typeof catalogue.http;
export type { ReconnectClass };

export const WsErrors = catalogue.websocket;
export const SubscriptionErrors = catalogue.subscription;
export type SubscriptionErrorName = Exclude<keyof typeof catalogue.subscription, '$comment'>;
export const HttpErrors = catalogue.http;

/** The reconnect class of a catalogue code; throws for a code outside every class. */
export function reconnectClassOf(code: number): ReconnectClass {
  const found = closeCodeClassOf(code);
  if (!found) throw new RangeError(`code ${code} is outside every class in protocol/errors.json`);
  return found;
}

/** What an error frame says it is about, so a client can tell which of its requests failed. */
export interface ErrorContext {
  /** The request_id of the broadcast the error refuses. */
  readonly requestId?: string | number;
  /** The channel the refused frame named (a client event, broadcast, response or unsubscribe). */
  readonly channel?: string;
}

/**
 * An error to report to one WebSocket client. `detail` says what exactly was wrong with this input;
 * the catalogue message says which kind of error it is. A fatal error closes the connection with `code`
 * after the error frame is sent.
 */
export class ProtocolError extends Error {
  readonly code: number;
  readonly fatal: boolean;

  constructor(
    readonly kind: WsErrorName,
    readonly detail?: string,
    readonly context: ErrorContext = {},
  ) {
    const entry = WsErrors[kind];
    super(detail ? `${entry.message}: ${detail}` : entry.message);
    this.name = 'ProtocolError';
    this.code = entry.code;
    this.fatal = entry.fatal;
  }
}

/**
 * A refused subscription to one channel, reported as `<prefix>:subscription_error` for that channel;
 * the connection and its other channels are unaffected.
 */
export class SubscriptionError extends Error {
  readonly status: number;

  constructor(readonly kind: SubscriptionErrorName, readonly channel: string, detail?: string) {
    const entry = SubscriptionErrors[kind];
    super(detail ? `${entry.message}: ${detail}` : entry.message);
    this.name = 'SubscriptionError';
    this.status = entry.status;
  }

  /** The frame's `data`: Pusher's `{type, error, status}`. */
  toData(): string {
    return JSON.stringify({ type: this.kind, error: this.message, status: this.status });
  }
}

/**
 * An error answer of the REST API: HTTP status plus a JSON body `{"error": message}`, a `Retry-After`
 * header when the client may try again after `retryAfterSeconds`, and any other `headers` it names (a rate
 * limit's `X-RateLimit-Limit` / `X-RateLimit-Remaining`).
 */
export class HttpError extends Error {
  readonly status: number;

  constructor(
    readonly kind: HttpErrorName,
    detail?: string,
    readonly retryAfterSeconds?: number,
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    const entry = HttpErrors[kind];
    super(detail ? `${entry.message}: ${detail}` : entry.message);
    this.name = 'HttpError';
    this.status = entry.status;
  }
}
