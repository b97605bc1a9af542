import type { App } from '../apps/app-registry.js';
import { broadcastTimeoutMs, checkBroadcastName, payloadText } from '../broadcasts/broadcast-event.js';
import { HttpError } from '../errors.js';
import { type Channel, type ChannelRef, resolveChannel } from '../protocol/channel-name.js';
import { describeErrors, validators } from '../protocol/schemas.js';
import { asHttp, parseJson } from './request-body.js';

/** A checked `POST /apps/:appId/broadcasts?timeout=MS`, ready to send. */
export interface BroadcastRequest {
  readonly channel: Channel;
  readonly name: string;
  /** The payload as JSON text: the event's `data`. */
  readonly data: string;
  readonly timeoutMs: number;
}

/** A checked `POST /apps/:appId/responses`. */
export interface ResponseRequest {
  readonly id: string;
  readonly channel: Channel;
  /** The payload as JSON text. */
  readonly data: string;
}

/**
 * The REST side of broadcasts that collect responses (D9). The signed API is trusted: it may broadcast on
 * system channels, which no client may. `channel` is a wire name or ID, or `{name, system, consumer}`.
 */
export function parseBroadcast(body: Buffer, app: App, query: URLSearchParams): BroadcastRequest {
  const value = parseJson(body);
  if (!validators.restBroadcast(value)) throw new HttpError('BadRequest', describeErrors(validators.restBroadcast.errors, 'body'));
  const { name, channel, payload } = value as { name: string; channel: ChannelRef; payload?: unknown };
  return {
    channel: asHttp('body.channel', () => resolveChannel(channel, app)),
    name: asHttp('body.name', () => {
      checkBroadcastName(name, app);
      return name;
    }),
    data: asHttp('body.payload', () => payloadText(payload, app)),
    timeoutMs: broadcastTimeoutMs(query.get('timeout') ?? undefined, app),
  };
}

export function parseResponse(body: Buffer, app: App): ResponseRequest {
  const value = parseJson(body);
  if (!validators.restResponse(value)) throw new HttpError('BadRequest', describeErrors(validators.restResponse.errors, 'body'));
  const { id, channel, payload } = value as { id: string; channel: ChannelRef; payload?: unknown };
  return {
    id,
    channel: asHttp('body.channel', () => resolveChannel(channel, app)),
    data: asHttp('body.payload', () => payloadText(payload, app)),
  };
}
