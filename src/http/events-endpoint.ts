import type { App } from '../apps/app-registry.js';
import { HttpError } from '../errors.js';
import { resolveChannel } from '../protocol/channel-name.js';
import { asJsonText } from '../protocol/codec.js';
import { describeErrors, validators } from '../protocol/schemas.js';
import { asHttp, isObject, parseJson } from './request-body.js';
import { type InfoRequest, parseInfo } from './trigger-info.js';

/** One event for one channel, checked and ready to deliver. */
export interface OutgoingEvent {
  readonly channel: string;
  readonly name: string;
  /** JSON text, delivered verbatim as the frame's `data`. */
  readonly data: string;
  readonly exceptSocketId: string | undefined;
  /** What the publisher asked to be told about the channel (Pusher's `info`); absent unless asked. */
  readonly info: InfoRequest | undefined;
}

interface TriggerBody {
  name: string;
  data: string;
  channels?: string[];
  channel?: string;
  socket_id?: string;
  info?: string;
}
type BatchItem = Omit<TriggerBody, 'channels'> & { channel: string };

/**
 * The publishing endpoints. Each turns a raw body into the list of events to deliver, or throws an
 * HttpError naming the problem; nothing is delivered unless the whole request is valid.
 *
 * POST /event is the broadcastt single trigger, POST /batch_events the Pusher batch, and POST /events
 * is both: a bare array or an object with `batch` is a broadcastt batch, anything else a Pusher trigger.
 */
export function parseTrigger(body: Buffer, app: App): OutgoingEvent[] {
  return triggerEvents(parseJson(body), app);
}

export function parseBatch(body: Buffer, app: App): OutgoingEvent[] {
  return batchEvents(parseJson(body), app);
}

/** POST /events: broadcastt batch or Pusher single trigger, told apart by the body's shape. */
export function parseEvents(body: Buffer, app: App): OutgoingEvent[] {
  const value = parseJson(body);
  const isBatch = Array.isArray(value) || (isObject(value) && 'batch' in value);
  return isBatch ? batchEvents(value, app) : triggerEvents(value, app);
}

function triggerEvents(value: unknown, app: App): OutgoingEvent[] {
  if (!isObject(value)) throw new HttpError('BadRequest', 'body must be a JSON object');
  if ('channel' in value && 'channels' in value) throw new HttpError('BadRequest', 'body has both channel and channels; send one');
  if (!('channel' in value) && !('channels' in value)) throw new HttpError('BadRequest', 'body.channels is required');
  if (!validators.trigger(value)) throw new HttpError('BadRequest', describeErrors(validators.trigger.errors, 'body'));
  const trigger = value as unknown as TriggerBody;
  const channels = trigger.channels ?? [trigger.channel as string];
  if (channels.length > app.maxChannelsPerTrigger) {
    throw new HttpError('BadRequest', `body.channels has ${channels.length} entries, over the limit of ${app.maxChannelsPerTrigger}`);
  }
  const wires = channels.map((channel, i) => wireName(channel, () => (trigger.channels ? `body.channels[${i}]` : 'body.channel'), app));
  checkEvent(trigger, () => 'body', app);
  const info = trigger.info === undefined ? undefined : parseInfo(trigger.info, 'body.info', false);
  const data = asJsonText(trigger.data);
  const unique = wires.length === 1 ? wires : [...new Set(wires)];
  return unique.map((channel) => ({ channel, name: trigger.name, data, exceptSocketId: trigger.socket_id, info }));
}

function batchEvents(value: unknown, app: App): OutgoingEvent[] {
  const [items, root] = Array.isArray(value)
    ? [value, 'body']
    : isObject(value) && Array.isArray(value.batch)
      ? [value.batch as unknown[], 'body.batch']
      : [undefined, 'body'];
  if (!items) throw new HttpError('BadRequest', 'body must be an array of events or {"batch": [...]}');
  if (items.length > app.maxBatchEvents) {
    throw new HttpError('BadRequest', `${root} has ${items.length} events, over the limit of ${app.maxBatchEvents}`);
  }
  return items.map((item, i) => {
    // Named only when something is wrong: a batch's events are checked one by one on the publish path.
    const at = () => `${root}[${i}]`;
    if (!validators.batchItem(item)) throw new HttpError('BadRequest', describeErrors(validators.batchItem.errors, at()));
    const event = item as BatchItem;
    checkEvent(event, at, app);
    const channel = wireName(event.channel, () => `${at()}.channel`, app);
    const info = event.info === undefined ? undefined : parseInfo(event.info, `${at()}.info`, true);
    return { channel, name: event.name, data: asJsonText(event.data), exceptSocketId: event.socket_id, info };
  });
}

function checkEvent(event: { name: string; data: string }, at: () => string, app: App): void {
  if (event.name.length > app.maxEventNameLength) {
    throw new HttpError('BadRequest', `${at()}.name is ${event.name.length} characters, over the limit of ${app.maxEventNameLength}`);
  }
  const bytes = Buffer.byteLength(event.data);
  if (bytes > app.maxEventDataBytes) {
    throw new HttpError('PayloadTooLarge', `${at()}.data is ${bytes} bytes, over the limit of ${app.maxEventDataBytes}`);
  }
}

/** The channel's canonical wire name; IDs in any base64 form are accepted (D8). `at` names it in a refusal. */
function wireName(channel: string, at: () => string, app: App): string {
  try {
    return resolveChannel(channel, app).wire;
  } catch (error) {
    return asHttp(at(), () => {
      throw error;
    });
  }
}
