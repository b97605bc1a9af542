// The client SDK for browsers: the same code as the Node entry, with the browser's own WebSocket.
// Bundled to dist/browser/client.js by `npm run build` (esbuild).
import { entryPoints } from './entry.js';
import type { WebSocketClass } from './options.js';

export * from './entry.js';
export const { start, createClient } = entryPoints(globalThis.WebSocket as unknown as WebSocketClass | undefined);
