import { Agent } from 'node:http';
import Pusher from 'pusher';
import pusherJs, { type Options } from 'pusher-js';
import type { Test } from 'tap';
import { DEMO_APP, type Running } from './gateway.js';

// pusher-js is CommonJS exporting the class itself, while its typings declare an ES default export.
export const PusherClient = pusherJs as unknown as typeof pusherJs.default;
export type PusherClientInstance = InstanceType<typeof PusherClient>;

/** The published pusher-js (Node build) pointed at the running gateway, disconnected when the test ends. */
export function pusherClient(t: Test, running: Running, options: Partial<Options> = {}): PusherClientInstance {
  const client = new PusherClient(DEMO_APP.key, {
    cluster: 'local',
    wsHost: '127.0.0.1',
    wsPort: running.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    ...options,
  });
  t.teardown(() => client.disconnect());
  return client;
}

/**
 * pusher-js whose channel authorization is computed in-process by `sign`, as an app's auth endpoint would
 * compute it for that socket and channel.
 */
export function signingPusherClient(t: Test, running: Running, sign: (socketId: string, channel: string) => { auth: string }): PusherClientInstance {
  return pusherClient(t, running, {
    channelAuthorization: {
      endpoint: '/unused',
      transport: 'ajax',
      customHandler: ({ socketId, channelName }, callback) => callback(null, sign(socketId, channelName)),
    },
  });
}

/** The published `pusher` server library pointed at the running gateway, one connection per request. */
export function pusherServer(running: Running): Pusher {
  return new Pusher({
    appId: DEMO_APP.id,
    key: DEMO_APP.key,
    secret: DEMO_APP.secret,
    host: '127.0.0.1',
    port: String(running.port),
    useTLS: false,
    agent: new Agent({ keepAlive: false }),
  });
}
