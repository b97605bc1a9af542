import type { ErrorObject, ValidateFunction } from 'ajv';
import { ProtocolError } from '../errors.js';
import { type ChannelName, type ClientFrame, EMPTY_DATA, type RequestId } from './frames.js';
import { describeErrors, MAX_REQUEST_ID_LENGTH, validators } from './schemas.js';

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
      throw new ProtocolError('InvalidMessage', describeErrors(validators.clientEvent.errors, 'frame'));
    }
    const { channel, data } = frame as { channel: ChannelName; data?: unknown };
    return { kind: 'client-event', event, channel, data };
  }

  switch (verbOf(event)) {
    case 'subscribe':
      return { kind: 'subscribe', data: validData(frame, validators.subscribeData) };
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
  if (!validate(data)) throw invalidData(validate.errors, requestIdOf(data));
  return data;
}

/** A channel name with characters outside the allowed set is an InvalidChannel, like an over-long one. */
function invalidData(errors: ErrorObject[] | null | undefined, requestId?: RequestId): ProtocolError {
  const first = errors?.[0];
  const isChannelName = first?.instancePath === '/channel' && first.keyword === 'pattern';
  return new ProtocolError(isChannelName ? 'InvalidChannel' : 'InvalidMessage', describeErrors(errors, 'data'), requestId);
}

/** A usable request_id of a broadcast that failed validation, so the refusal can name it. */
function requestIdOf(data: unknown): RequestId | undefined {
  const id = (data as { request_id?: unknown } | null)?.request_id;
  return (typeof id === 'string' && id.length <= MAX_REQUEST_ID_LENGTH) || Number.isInteger(id) ? (id as RequestId) : undefined;
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

/** Encodes a server frame. Channel-less frames omit `channel`; `data` must already be JSON text. */
export function encodeFrame(event: string, data: string = EMPTY_DATA, channel?: ChannelName): string {
  return JSON.stringify(channel === undefined ? { event, data } : { event, channel, data });
}

/** `data` of an error frame; errors refusing a broadcast carry its request_id. */
export function errorData(error: ProtocolError, requestId = error.requestId): string {
  return JSON.stringify(requestId === undefined ? { code: error.code, message: error.message } : { code: error.code, message: error.message, request_id: requestId });
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
