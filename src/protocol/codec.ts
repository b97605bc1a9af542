import type { ErrorObject, ValidateFunction } from 'ajv';
import { type ErrorContext, ProtocolError, SubscriptionError } from '../errors.js';
import { type ChannelName, type ClientFrame, EMPTY_DATA, type RequestId, type SubscribeData } from './frames.js';
import { describeErrors, MAX_ECHOED_CHANNEL_LENGTH, MAX_REQUEST_ID_LENGTH, validators } from './schemas.js';

/**
 * Text in, typed frame out, or a ProtocolError saying what was wrong. Accepts either dialect prefix and
 * `data` as an object or as a string holding JSON (D4). Size limits are the caller's job: the caller
 * knows the configured limit and rejects before paying for a parse.
 */
export function decodeClientFrame(text: string): ClientFrame {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    throw new ProtocolError('InvalidMessage', 'the frame is not valid JSON');
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
    throw new ProtocolError('InvalidMessage', 'the frame must be a JSON object');
  }
  const { event } = frame as { event?: unknown };
  if (typeof event !== 'string') throw new ProtocolError('InvalidMessage', 'the frame needs a string "event"');

  if (event.startsWith('client-')) {
    if (!validators.clientEvent(frame)) {
      throw new ProtocolError('InvalidMessage', describeErrors(validators.clientEvent.errors, 'frame'), contextOf(frame));
    }
    const { channel, data } = frame as { channel: ChannelName; data?: unknown };
    return { kind: 'client-event', event, channel, data };
  }

  switch (verbOf(event)) {
    case 'subscribe':
      return { kind: 'subscribe', data: validSubscribeData(frame) };
    case 'unsubscribe':
      return { kind: 'unsubscribe', data: validData(frame, validators.unsubscribeData) };
    case 'ping':
      return { kind: 'ping' };
    case 'pong':
      return { kind: 'pong' };
    case 'broadcast':
      return { kind: 'broadcast', data: validData(frame, validators.broadcastData) };
    case 'response':
      return { kind: 'response', data: validData(frame, validators.responseData) };
    case 'signin':
      return { kind: 'signin', data: validData(frame, validators.signinData) };
    default:
      throw new ProtocolError('UnknownEvent', `"${event.slice(0, 100)}"`);
  }
}

/** The frame's `data` (object or JSON text) if it passes `validate`; otherwise the error naming the problem. */
function validData<T>(frame: object, validate: ValidateFunction<T>): T {
  const data = objectData(frame);
  if (!validate(data)) throw new ProtocolError(isChannelNameError(validate.errors) ? 'InvalidChannel' : 'InvalidMessage', describeErrors(validate.errors, 'data'), contextOf(data));
  return data;
}

/**
 * A subscribe's data, or its refusal: a subscription_error for the channel it names (so the client can tell
 * which subscription failed), or a plain error when it names none.
 */
function validSubscribeData(frame: object): SubscribeData {
  const data = objectData(frame);
  const validate = validators.subscribeData;
  if (validate(data)) return data;
  const problem = describeErrors(validate.errors, 'data');
  const channel = (data as { channel?: unknown } | null)?.channel;
  if (typeof channel !== 'string' || channel === '') throw new ProtocolError(isChannelNameError(validate.errors) ? 'InvalidChannel' : 'InvalidMessage', problem);
  throw new SubscriptionError(isChannelNameError(validate.errors) ? 'InvalidChannel' : 'InvalidSubscription', echoedChannel(channel), problem);
}

/** A channel name with characters outside the allowed set is an InvalidChannel, like an over-long one. */
function isChannelNameError(errors: ErrorObject[] | null | undefined): boolean {
  const first = errors?.[0];
  return first?.instancePath === '/channel' && first.keyword === 'pattern';
}

/** What a refused frame named, as far as it can be read: the broadcast's request_id and the channel. */
function contextOf(value: unknown): ErrorContext {
  const { request_id: id, channel } = (value ?? {}) as { request_id?: unknown; channel?: unknown };
  const requestId = (typeof id === 'string' && id.length <= MAX_REQUEST_ID_LENGTH) || Number.isInteger(id) ? (id as RequestId) : undefined;
  const name = typeof channel === 'string' ? channel : (channel as { name?: unknown } | null)?.name;
  return {
    ...(requestId === undefined ? {} : { requestId }),
    ...(typeof name === 'string' && name !== '' ? { channel: echoedChannel(name) } : {}),
  };
}

/**
 * A channel name as a refusal echoes it, so the client can tell which request failed: cut to
 * MAX_ECHOED_CHANNEL_LENGTH characters, enough for any real name, little for a client that sends megabytes.
 */
export function echoedChannel(name: string): string {
  return name.length > MAX_ECHOED_CHANNEL_LENGTH ? name.slice(0, MAX_ECHOED_CHANNEL_LENGTH) : name;
}

const DIALECT_PREFIX = /^(?:broadcastt|pusher):/;

function verbOf(event: string): string | undefined {
  const match = DIALECT_PREFIX.exec(event);
  return match ? event.slice(match[0].length) : undefined;
}

/** `data` may arrive as an object or as a string holding the JSON object (both appear in the wild). */
function objectData(frame: object): unknown {
  const { data } = frame as { data?: unknown };
  if (typeof data !== 'string') return data ?? {};
  try {
    return JSON.parse(data);
  } catch {
    throw new ProtocolError('InvalidMessage', 'data is a string but not valid JSON');
  }
}

const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const QUOTE = 0x22;
const OPENING_BRACKETS = [OPEN_OBJECT, OPEN_ARRAY] as const;
const BACKSLASH = 0x5c;

/**
 * Whether JSON text (UTF-8 bytes) nests arrays and objects deeper than `maxDepth`. One pass over the bytes,
 * skipping strings, that stops as soon as the depth is passed: cheap for any input, so deeply nested frames
 * are refused before JSON.parse or JSON.stringify spend time (or stack) on them. UTF-8 continuation bytes are
 * all ≥ 0x80, so no multi-byte character is mistaken for a bracket or a quote.
 */
export function nestsDeeperThan(bytes: Uint8Array, maxDepth: number): boolean {
  if (!opensMoreThan(bytes, maxDepth)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > maxDepth) return true;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) depth--;
  }
  return false;
}

/**
 * Whether the bytes hold more than `max` opening brackets, strings included: with no more than that they
 * cannot nest deeper, and most frames and bodies hold a few. Counted by indexOf, a native search several times
 * faster per byte than nestsDeeperThan's loop (bench/README.md, "A signed REST request").
 */
function opensMoreThan(bytes: Uint8Array, max: number): boolean {
  let count = 0;
  for (const bracket of OPENING_BRACKETS) {
    for (let i = bytes.indexOf(bracket); i >= 0; i = bytes.indexOf(bracket, i + 1)) if (++count > max) return true;
  }
  return false;
}

/** Encodes a server frame. Channel-less frames omit `channel`; `data` must already be JSON text. */
export function encodeFrame(event: string, data: string = EMPTY_DATA, channel?: ChannelName): string {
  return JSON.stringify(channel === undefined ? { event, data } : { event, channel, data });
}

/**
 * `data` of an error frame: `{code, message}`, plus the `request_id` of the broadcast it refuses and the
 * `channel` the refused frame named, when known (`context` adds to what the error carries).
 */
export function errorData(error: ProtocolError, context: ErrorContext = {}): string {
  const { requestId, channel } = { ...error.context, ...context };
  return JSON.stringify({
    code: error.code,
    message: error.message,
    ...(requestId === undefined ? {} : { request_id: requestId }),
    ...(channel === undefined ? {} : { channel }),
  });
}

/** Publisher or client data as JSON text: strings via asJsonText, any other value JSON-encoded. */
export function dataAsJsonText(data: unknown): string {
  return typeof data === 'string' ? asJsonText(data) : JSON.stringify(data ?? {});
}

/**
 * Clients parse `data` as JSON unconditionally (D4), so publisher data that is not JSON text (a Pusher
 * library sending a bare string) is delivered as a JSON string: clients then see that same string.
 * Costs one parse per publish, never per recipient.
 */
export function asJsonText(data: string): string {
  try {
    JSON.parse(data);
    return data;
  } catch {
    return JSON.stringify(data);
  }
}
