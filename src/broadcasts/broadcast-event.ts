import type { App } from '../apps/app-registry.js';
import { ProtocolError } from '../errors.js';
import { EMPTY_DATA, type ChannelName } from '../protocol/frames.js';

/**
 * The rules a broadcast and a response share, whether they come over WebSocket or REST (D9). Failures are
 * ProtocolErrors; the REST endpoints turn them into HTTP answers.
 */

/** The collection time of a broadcast: a missing or non-numeric timeout means the app's default. */
export function broadcastTimeoutMs(requested: unknown, app: App): number {
  const value = typeof requested === 'string' && requested.trim() !== '' ? Number(requested) : requested;
  if (typeof value !== 'number' || !Number.isFinite(value)) return Math.min(app.broadcastTimeoutMs, app.maxBroadcastTimeoutMs);
  return Math.min(Math.max(0, Math.round(value)), app.maxBroadcastTimeoutMs);
}

/** A broadcast or response payload as JSON text, within the app's event size limit. Absent means {} (D4). */
export function payloadText(payload: unknown, app: App): string {
  const text = payload === undefined ? EMPTY_DATA : JSON.stringify(payload);
  const bytes = Buffer.byteLength(text);
  if (bytes > app.maxEventDataBytes) throw new ProtocolError('MessageTooLarge', `payload is ${bytes} bytes, over the limit of ${app.maxEventDataBytes}`);
  return text;
}

export function checkBroadcastName(name: string, app: App): void {
  if (name.length > app.maxEventNameLength) {
    throw new ProtocolError('BroadcastRejected', `name is ${name.length} characters, over the limit of ${app.maxEventNameLength}`);
  }
}

/** The event listeners receive: a channel event with the broadcast's `id` at the top level. */
export function encodeBroadcastEvent(name: string, channel: ChannelName, data: string, id: string): string {
  return JSON.stringify({ event: name, channel, data, id });
}
