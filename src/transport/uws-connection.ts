import type { WebSocket } from 'uWebSockets.js';
import type { Connection, UpgradeRequest } from '../protocol/connection.js';

/** What the server needs from whoever handles an accepted socket (a Session). */
export interface SocketHandler {
  receive(message: ArrayBuffer, isBinary: boolean): void;
  markAlive(): void;
  /** The socket closed, with the close code uWS reports (the peer's, ours, or 1006 when dropped). */
  close(code: number): void;
}

/** WebSocket close reasons may hold at most 123 bytes (RFC 6455 §5.5). */
const MAX_CLOSE_REASON_BYTES = 123;

/**
 * A uWS socket behind the protocol's Connection port, created at upgrade with every field declared up
 * front (idle connections are what a node holds most of). uWS throws on any use of a socket after its
 * close handler ran, so every call checks `isOpen`, which the server sets on open and clears in that handler.
 */
export class UwsConnection implements Connection {
  isOpen = false;
  /** Set on open, before isOpen: the socket does not exist yet at upgrade. Use only while isOpen. */
  ws!: WebSocket<unknown>;
  /** Only until the socket opens: the copied upgrade request, dropped then. */
  request: UpgradeRequest | undefined;
  handler: SocketHandler | undefined = undefined;

  constructor(request: UpgradeRequest) {
    this.request = request;
  }

  send(frame: string): void {
    if (this.isOpen) this.ws.send(frame, false, false);
  }

  close(code: number, reason: string): void {
    if (!this.isOpen) return;
    this.ws.end(code, truncateUtf8(reason, MAX_CLOSE_REASON_BYTES));
  }

  terminate(): void {
    if (this.isOpen) this.ws.close();
  }

  ping(): void {
    if (this.isOpen) this.ws.ping();
  }

  bufferedAmount(): number {
    return this.isOpen ? this.ws.getBufferedAmount() : 0;
  }
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  // Step back to a UTF-8 boundary: continuation bytes look like 0b10xxxxxx.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString();
}
