/**
 * What the protocol needs from a client connection, and nothing more. The transport implements it
 * (src/transport/); tests implement it with a recording fake. Sends never throw: a connection that is
 * already closed ignores them.
 */
export interface Connection {
  /** Queues an already-encoded text frame. */
  send(frame: string): void;
  /** Sends a close frame with `code` and ends the connection; the session's close() follows. */
  close(code: number, reason: string): void;
  /** Drops the connection at once, without a close handshake: for peers that stopped answering. */
  terminate(): void;
  /** Sends an RFC 6455 ping; any answer counts as activity. */
  ping(): void;
  /** Bytes queued but not yet written to the socket. */
  bufferedAmount(): number;
}

/** What the transport copies out of an upgrade request before it goes away. */
export interface UpgradeRequest {
  /** Path without the query, e.g. `/app/app-key`. */
  readonly path: string;
  /** Raw query string without `?`, e.g. `protocol=7&client=js`. */
  readonly query: string;
}
