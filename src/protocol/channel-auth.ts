import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ChannelName, SocketId } from './frames.js';

/**
 * Client authorization as the broadcastt and Pusher libraries compute it (research §2.4):
 * `auth = "<app key>:" + hex(HMAC-SHA256(secret, <string to sign>))`, where the string to sign is
 * `"<socket_id>:<channel>[:<channel_data>]"` for a subscription and `"<socket_id>::user::<user_data>"` for a
 * sign-in. The data parts are signed as the exact strings the client sends, so they are verified before
 * they are parsed.
 */
interface Credentials {
  readonly key: string;
  readonly secret: string;
}

const AUTH_FORMAT = /^([^:]+):([0-9a-f]{64})$/i;

function sign(app: Credentials, toSign: string): string {
  return `${app.key}:${createHmac('sha256', app.secret).update(toSign).digest('hex')}`;
}

/** Whether `auth` is the app key plus the HMAC of `toSign`, compared in constant time. */
function isSignedBy(app: Credentials, auth: string | undefined, toSign: string): boolean {
  const match = AUTH_FORMAT.exec(auth ?? '');
  if (!match || match[1] !== app.key) return false;
  const expected = createHmac('sha256', app.secret).update(toSign).digest();
  return timingSafeEqual(Buffer.from(match[2] ?? '', 'hex'), expected);
}

const channelString = (socketId: SocketId, channel: ChannelName, channelData?: string) =>
  channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;

const userString = (socketId: SocketId, userData: string) => `${socketId}::user::${userData}`;

export interface ChannelAuthorization {
  readonly auth: string;
  readonly channel_data?: string;
}

/** What an app's auth endpoint returns to its client for this socket and channel. */
export function authorizeChannel(app: Credentials, socketId: SocketId, channel: ChannelName, channelData?: string): ChannelAuthorization {
  const auth = sign(app, channelString(socketId, channel, channelData));
  return channelData === undefined ? { auth } : { auth, channel_data: channelData };
}

/** Whether `auth` was issued for this socket and channel by the holder of the app's secret. */
export function isChannelAuthValid(
  app: Credentials,
  socketId: SocketId,
  channel: ChannelName,
  auth: string | undefined,
  channelData?: string,
): boolean {
  return isSignedBy(app, auth, channelString(socketId, channel, channelData));
}

/** What a backend's user-authentication endpoint returns: the signed `user_data` for `<prefix>:signin`. */
export interface UserAuthentication {
  readonly auth: string;
  readonly user_data: string;
}

/** Signs `user_data` (an object with a string `id`, or its JSON text) for this socket, as Pusher does. */
export function authenticateUser(app: Credentials, socketId: SocketId, userData: string | { id: string }): UserAuthentication {
  const text = typeof userData === 'string' ? userData : JSON.stringify(userData);
  return { auth: sign(app, userString(socketId, text)), user_data: text };
}

export function isUserAuthValid(app: Credentials, socketId: SocketId, auth: string, userData: string): boolean {
  return isSignedBy(app, auth, userString(socketId, userData));
}
