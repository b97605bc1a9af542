// The client SDK for browsers: the same code as the Node entry, with the browser's own WebSocket.
// Bundled to dist/browser/client.js by `npm run build` (esbuild).
import { Client } from './client.js';
import type { ClientOptions, WebSocketClass } from './options.js';

export { Channel, Client } from './client.js';
export { ClientStateError, OptionsError, ServerError } from './errors.js';
export type { Delivery, ListenCallback, Listener, Message, Respond } from './listener.js';
export type { Authorization, Authorizer, ClientOptions } from './options.js';
export { channelId } from '../protocol/channel-id.js';

const BrowserWebSocket = globalThis.WebSocket as unknown as WebSocketClass | undefined;

/** Starts a new client (connecting in the background) and returns it. */
export function start(options: ClientOptions): Client {
  return new Client(BrowserWebSocket).start(options);
}

/** A new, unstarted client, to start later with `client.start(options)`. */
export function createClient(): Client {
  return new Client(BrowserWebSocket);
}
