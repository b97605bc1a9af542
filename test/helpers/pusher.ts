import { Agent } from 'node:http';
import Pusher from 'pusher';
import pusherJs, { type Options } from 'pusher-js';
import type { Test } from 'tap';
import { until } from './ws-client.js';
import { authenticateUser } from '../../src/protocol/channel-auth.js';
import { DEMO_APP, type Running } from './gateway.js';

// pusher-js is CommonJS exporting the class itself, while its typings declare an ES default export.
export const PusherClient = pusherJs as unknown as typeof pusherJs.default;
export type PusherClientInstance = InstanceType<typeof PusherClient>;

/** The published pusher-js (Node build) pointed at the running gateway, disconnected when the test ends. */
export function pusherClient(t: Test, running: Pick<Running, 'port'>, options: Partial<Options> = {}): PusherClientInstance {
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
export function signingPusherClient(t: Test, running: Pick<Running, 'port'>, sign: (socketId: string, channel: string) => { auth: string }): PusherClientInstance {
  return pusherClient(t, running, {
    channelAuthorization: {
      endpoint: '/unused',
      transport: 'ajax',
      customHandler: ({ socketId, channelName }, callback) => callback(null, sign(socketId, channelName)),
    },
  });
}

/** The published `pusher` server library pointed at the running gateway, one connection per request. */
export function pusherServer(running: Pick<Running, 'port'>): Pusher {
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

/**
 * pusher-js signed in as `user` (its user authentication computed in-process, as an app's endpoint would), once
 * the gateway has confirmed the sign-in and pusher-js has joined the user's channel (`#server-to-user-<id>`).
 */
export async function signedInPusherClient(t: Test, running: Pick<Running, 'port'>, user: { id: string; watchlist?: string[] }, beforeSignIn?: (client: PusherClientInstance) => void): Promise<PusherClientInstance> {
  const client = pusherClient(t, running, {
    userAuthentication: {
      endpoint: '/unused',
      transport: 'ajax',
      customHandler: ({ socketId }, callback) => callback(null, authenticateUser(DEMO_APP, socketId, user)),
    },
  });
  beforeSignIn?.(client);
  client.signin();
  await new Promise<void>((resolve) => client.bind('pusher:signin_success', () => resolve()));
  await until(() => client.user.serverToUserChannel?.subscribed === true, `${user.id}'s user channel`);
  return client;
}

/** The cluster node's (or gateway's) port, for the Pusher libraries. */
export function portOf(http: string): { port: number } {
  return { port: Number(new URL(http).port) };
}
