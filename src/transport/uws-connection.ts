import type { WebSocket } from 'uWebSockets.js';
import type { Connection } from '../protocol/connection.js';

/** WebSocket close reasons may hold at most 123 bytes (RFC 6455 §5.5). */
const MAX_CLOSE_REASON_BYTES = 123;

/**
 * A uWS socket behind the protocol's Connection port. uWS throws on any use of a socket after its
 * close handler ran, so every call checks `isOpen`, which the server clears in that handler.
 */
export class UwsConnection<UserData = unknown> implements Connection {
  isOpen = true;

  constructor(readonly ws: WebSocket<UserData>) {}

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
