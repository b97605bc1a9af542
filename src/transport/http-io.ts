import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from 'uWebSockets.js';
import type { ApiResponse } from '../http/api-types.js';

/**
 * Reads a request body of at most `limitBytes`. uWS hands out chunks that are only valid during the
 * callback, so each is copied; they are joined once at the end. `onAborted` must already be attached.
 * Calls `onTooLarge` (once) as soon as the limit is passed and ignores the rest.
 */
export function readBody(
  res: HttpResponse,
  limitBytes: number,
  onBody: (body: Buffer) => void,
  onTooLarge: () => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  res.onData((chunk, isLast) => {
    if (tooLarge) return;
    size += chunk.byteLength;
    if (size > limitBytes) {
      tooLarge = true;
      onTooLarge();
      return;
    }
    chunks.push(Buffer.from(chunk.slice(0)));
    if (isLast) onBody(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  });
}

export function writeResponse(res: HttpResponse, response: ApiResponse, closeConnection = false): void {
  res.cork(() => {
    res.writeStatus(`${response.status} ${STATUS_CODES[response.status] ?? ''}`);
    res.writeHeader('content-type', 'application/json');
    res.end(response.body, closeConnection);
  });
}
