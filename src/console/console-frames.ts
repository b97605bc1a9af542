import { ProtocolError } from '../errors.js';
import type { ChannelRef } from '../protocol/channel-name.js';
import { encodeFrame, nestsDeeperThan } from '../protocol/codec.js';
import type { ChannelName } from '../protocol/frames.js';
import { describeErrors, validators } from '../protocol/schemas.js';

/** The console socket's frames (protocol/console.schema.json, docs/console.md): its own small protocol. */
export const ConsoleEvents = {
  auth: 'console:auth',
  watch: 'console:watch',
  unwatch: 'console:unwatch',
  ping: 'console:ping',
  ready: 'console:ready',
  stats: 'console:stats',
  watching: 'console:watching',
  response: 'console:response',
  pong: 'console:pong',
  error: 'console:error',
} as const;

export type ConsoleClientFrame =
  | { readonly kind: 'auth'; readonly token: string }
  | { readonly kind: 'watch'; readonly channel: ChannelRef }
  | { readonly kind: 'unwatch' }
  | { readonly kind: 'ping' };

const CLIENT_EVENTS: ReadonlySet<unknown> = new Set([ConsoleEvents.auth, ConsoleEvents.watch, ConsoleEvents.unwatch, ConsoleEvents.ping]);

/** The console page sends a few small frames; anything bigger is not from it. */
export const MAX_CONSOLE_FRAME_BYTES = 4 * 1024;
const MAX_CONSOLE_FRAME_DEPTH = 4;

/** A console socket frame from its UTF-8 bytes, or the ProtocolError saying what is wrong with it. */
export function decodeConsoleFrame(bytes: Uint8Array): ConsoleClientFrame {
  if (bytes.byteLength > MAX_CONSOLE_FRAME_BYTES) throw new ProtocolError('MessageTooLarge', `over ${MAX_CONSOLE_FRAME_BYTES} bytes`);
  if (nestsDeeperThan(bytes, MAX_CONSOLE_FRAME_DEPTH)) throw new ProtocolError('InvalidMessage', `the frame nests deeper than ${MAX_CONSOLE_FRAME_DEPTH} levels`);
  let frame: unknown;
  try {
    frame = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new ProtocolError('InvalidMessage', 'the frame is not valid JSON');
  }
  const event = (frame as { event?: unknown } | null)?.event;
  if (!CLIENT_EVENTS.has(event)) {
    throw new ProtocolError('UnknownEvent', `${JSON.stringify(String(event).slice(0, 40))}; send console:auth, console:watch, console:unwatch or console:ping`);
  }
  if (!validators.consoleFrame(frame)) throw new ProtocolError('InvalidMessage', describeErrors(validators.consoleFrame.errors, 'frame'));
  const { data } = frame as { data?: { token?: string; channel?: ChannelRef } };
  switch (event) {
    case ConsoleEvents.auth:
      return { kind: 'auth', token: data?.token as string };
    case ConsoleEvents.watch:
      return { kind: 'watch', channel: data?.channel as ChannelRef };
    case ConsoleEvents.unwatch:
      return { kind: 'unwatch' };
    default:
      return { kind: 'ping' };
  }
}

/** A response to a broadcast on a watched channel (`payload` JSON text), which members never see. */
export function encodeConsoleResponse(channel: ChannelName, id: string, payload: string): string {
  return encodeFrame(ConsoleEvents.response, `{"id":${JSON.stringify(id)},"payload":${payload}}`, channel);
}

/** A console frame whose `data` is `value` as JSON text. */
export function encodeConsoleFrame(event: string, value: unknown, channel?: ChannelName): string {
  return encodeFrame(event, JSON.stringify(value), channel);
}
