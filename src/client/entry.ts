// What both SDK entry points (index.ts for Node, browser.ts for browsers) export: the same API over the
// WebSocket class each one supplies.
import { Client } from './client.js';
import type { ClientOptions, WebSocketClass } from './options.js';

export { Channel, Client } from './client.js';
export { ClientStateError, ConnectionError, OptionsError, ServerError, TimeoutError } from './errors.js';
export type { Delivery, ListenCallback, Listener, Message, Respond } from './listener.js';
export type { Authorization, Authorizer, ClientOptions } from './options.js';
export type { ClientEvent, StreamPosition, Subscribed } from './runtime.js';
export { channelId } from '../protocol/channel-id.js';

/** `start` and `createClient` for one WebSocket implementation. */
export function entryPoints(WebSocket: WebSocketClass | undefined) {
  return {
    /** Starts a new client (connecting in the background) and returns it. */
    start: (options: ClientOptions): Client => new Client(WebSocket).start(options),
    /** A new, unstarted client, to start later with `client.start(options)`. */
    createClient: (): Client => new Client(WebSocket),
  };
}
