// The client SDK for Node: the same code as the browser build, with the `ws` package as its WebSocket.
import WebSocket from 'ws';
import { entryPoints } from './entry.js';
import type { WebSocketClass } from './options.js';

export * from './entry.js';
export const { start, createClient } = entryPoints(WebSocket as unknown as WebSocketClass);
