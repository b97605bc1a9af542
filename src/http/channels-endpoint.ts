import type { App } from '../apps/app-registry.js';
import { HttpError } from '../errors.js';
import { type Channel, resolveChannel } from '../protocol/channel-name.js';
import { type ApiResponse, json } from './api-types.js';
import { asHttp } from './request-body.js';
import { parseInfo } from './trigger-info.js';

/** What the channel queries read: the whole cluster's channels and presence members. */
export interface ChannelQueries {
  /** Occupied channels of the app with their subscription counts. */
  channelCounts(appId: string): Promise<Iterable<[channel: string, subscriptions: number]>>;
  subscriptionCount(appId: string, channel: string): Promise<number>;
  /** Distinct users of a presence channel. */
  userIds(appId: string, channel: string): Promise<string[]>;
}

/** `info=a,b` as a set, refusing attributes the API does not know. */
function infoOf(query: URLSearchParams): Set<string> {
  return new Set(parseInfo(query.get('info') ?? '', 'info', false).attributes);
}

/**
 * GET /channels: occupied channels, optionally filtered by prefix. `info=user_count` only makes sense for
 * presence channels, so (as in Pusher) it requires `filter_by_prefix` to start with `presence-`.
 */
export async function listChannels(queries: ChannelQueries, app: App, query: URLSearchParams): Promise<ApiResponse> {
  const prefix = query.get('filter_by_prefix') ?? '';
  const info = infoOf(query);
  if (info.has('user_count') && !prefix.startsWith('presence-')) {
    throw new HttpError('BadRequest', 'info=user_count needs filter_by_prefix=presence-');
  }
  const listed = [...(await queries.channelCounts(app.id))].filter(([channel]) => channel.startsWith(prefix));
  const entries = await Promise.all(
    listed.map(async ([channel, subscriptions]) => {
      const attributes: Record<string, number> = {};
      if (info.has('user_count')) attributes.user_count = (await queries.userIds(app.id, channel)).length;
      if (info.has('subscription_count')) attributes.subscription_count = subscriptions;
      return [channel, attributes] as const;
    }),
  );
  return json(200, { channels: Object.fromEntries(entries) });
}

/**
 * The channel named in a path: a plain name, a channel ID (URL-safe, as `/` cannot appear in a path segment) or a
 * user channel, whose `#` is sent as `%23` (percent-encoding is read; plain names and IDs hold no `%`).
 */
function channelInPath(app: App, name: string): Channel {
  let decoded = name;
  try {
    if (name.includes('%')) decoded = decodeURIComponent(name);
  } catch {
    throw new HttpError('BadRequest', 'the channel in the path is not valid percent-encoding');
  }
  return asHttp('channel', () => resolveChannel(decoded, app));
}

/** GET /channels/:name and /channel/:name: `{occupied}` plus the requested counts. */
export async function channelInfo(queries: ChannelQueries, app: App, name: string, query: URLSearchParams): Promise<ApiResponse> {
  const info = infoOf(query);
  const { wire: channel, type } = channelInPath(app, name);
  const isPresence = type === 'presence';
  if (info.has('user_count') && !isPresence) throw new HttpError('BadRequest', 'info=user_count is only for presence channels');
  const subscriptions = await queries.subscriptionCount(app.id, channel);
  const body: Record<string, unknown> = { occupied: subscriptions > 0 };
  if (info.has('user_count')) body.user_count = (await queries.userIds(app.id, channel)).length;
  if (info.has('subscription_count')) body.subscription_count = subscriptions;
  return json(200, body);
}

/** GET /channels/:name/users: the presence channel's users. */
export async function channelUsers(queries: ChannelQueries, app: App, name: string): Promise<ApiResponse> {
  const { wire: channel, type } = channelInPath(app, name);
  if (type !== 'presence') throw new HttpError('BadRequest', 'users are only listed for presence channels');
  return json(200, { users: (await queries.userIds(app.id, channel)).map((id) => ({ id })) });
}
