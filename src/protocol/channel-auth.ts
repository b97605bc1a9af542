import { createHmac, timingSafeEqual } from 'node:crypto';
import type { App } from '../apps/app-registry.js';
import type { ChannelName, SocketId } from './frames.js';

/**
 * Channel authorization as the broadcastt and Pusher libraries compute it (research §2.4):
 * `auth = "<app key>:" + hex(HMAC-SHA256(secret, "<socket_id>:<channel>[:<channel_data>]"))`.
 * `channel_data` is signed as the exact string the client sends, so it is verified before it is parsed.
 */
export interface ChannelAuthorization {
  readonly auth: string;
  readonly channel_data?: string;
}

function signature(secret: string, socketId: SocketId, channel: ChannelName, channelData?: string): Buffer {
  const toSign = channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
  return createHmac('sha256', secret).update(toSign).digest();
}

/** What an app's auth endpoint returns to its client for this socket and channel. */
export function authorizeChannel(
  app: Pick<App, 'key' | 'secret'>,
  socketId: SocketId,
  channel: ChannelName,
  channelData?: string,
): ChannelAuthorization {
  const auth = `${app.key}:${signature(app.secret, socketId, channel, channelData).toString('hex')}`;
  return channelData === undefined ? { auth } : { auth, channel_data: channelData };
}

const AUTH_FORMAT = /^([^:]+):([0-9a-f]{64})$/i;

/** Whether `auth` was issued for this socket and channel by the holder of the app's secret. */
export function isChannelAuthValid(
  app: Pick<App, 'key' | 'secret'>,
  socketId: SocketId,
  channel: ChannelName,
  auth: string | undefined,
  channelData?: string,
): boolean {
  const match = AUTH_FORMAT.exec(auth ?? '');
  if (!match || match[1] !== app.key) return false;
  return timingSafeEqual(Buffer.from(match[2] ?? '', 'hex'), signature(app.secret, socketId, channel, channelData));
}

/** What a backend's user-authentication endpoint returns: the signed `user_data` for `<prefix>:signin`. */
export interface UserAuthentication {
  readonly auth: string;
  readonly user_data: string;
}

function userSignature(secret: string, socketId: SocketId, userData: string): Buffer {
  return createHmac('sha256', secret).update(`${socketId}::user::${userData}`).digest();
}

/** Signs `user_data` (an object with a string `id`, or its JSON text) for this socket, as Pusher does. */
export function authenticateUser(app: Pick<App, 'key' | 'secret'>, socketId: SocketId, userData: string | { id: string }): UserAuthentication {
  const text = typeof userData === 'string' ? userData : JSON.stringify(userData);
  return { auth: `${app.key}:${userSignature(app.secret, socketId, text).toString('hex')}`, user_data: text };
}

export function isUserAuthValid(app: Pick<App, 'key' | 'secret'>, socketId: SocketId, auth: string, userData: string): boolean {
  const match = AUTH_FORMAT.exec(auth);
  if (!match || match[1] !== app.key) return false;
  return timingSafeEqual(Buffer.from(match[2] ?? '', 'hex'), userSignature(app.secret, socketId, userData));
}
