// The client SDK for Node: the same code as the browser build, with the `ws` package as its WebSocket.
import WebSocket from 'ws';
import { Client } from './client.js';
import type { ClientOptions, WebSocketClass } from './options.js';

export { Channel, Client } from './client.js';
export { ClientStateError, OptionsError, ServerError } from './errors.js';
export type { Delivery, ListenCallback, Listener, Message, Respond } from './listener.js';
export type { Authorization, Authorizer, ClientOptions } from './options.js';
export { channelId } from '../protocol/channel-id.js';

/** Starts a new client (connecting in the background) and returns it. */
export function start(options: ClientOptions): Client {
  return new Client(WebSocket as unknown as WebSocketClass).start(options);
}

/** A new, unstarted client, to start later with `client.start(options)`. */
export function createClient(): Client {
  return new Client(WebSocket as unknown as WebSocketClass);
}
