/** Errors the client SDK throws or rejects with. */

/** An option given to `start` is missing or invalid; `option` names it. */
export class OptionsError extends Error {
  override name = 'OptionsError';

  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`);
  }
}

/** The client was used after `stop()`, or before `start()`. */
export class ClientStateError extends Error {
  override name = 'ClientStateError';
}

/** A request got no answer in time: a subscription was not confirmed, or a broadcast's responses did not come. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** The connection was lost (or closed for good) before the answer came. */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
}

/** The server refused something this client asked for: a broadcast, a subscription, or the connection. */
export class ServerError extends Error {
  override name = 'ServerError';

  constructor(
    message: string,
    /** The WebSocket error code (4000–4399), when the server sent one. */
    readonly code?: number,
    /** For refused subscriptions: the HTTP-like status and type (e.g. 401 AuthError). */
    readonly status?: number,
    readonly type?: string,
  ) {
    super(message);
  }
}
