import { SubscriptionError } from '../errors.js';
import type { ChannelName } from './frames.js';

/** A presence member as the protocol shows it: `user_id` always a string, `user_info` any JSON value. */
export interface PresenceMember {
  readonly userId: string;
  readonly userInfo: unknown;
}

/** The roster as `subscription_succeeded` carries it: `{ids, hash, count}`. */
export interface PresenceSnapshot {
  readonly ids: string[];
  readonly hash: Record<string, unknown>;
  readonly count: number;
}

/**
 * Reads a presence subscription's `channel_data` (already verified against its signature as the exact
 * string sent): `{user_id, user_info?}`. `user_id` may arrive as a number (Laravel passes integer ids)
 * and is normalised to a string, as Pusher does.
 */
export function parsePresenceMember(channel: ChannelName, channelData: string, maxUserInfoBytes: number): PresenceMember {
  const invalid = (why: string) => new SubscriptionError('InvalidChannelData', channel, why);
  let value: unknown;
  try {
    value = JSON.parse(channelData);
  } catch {
    throw invalid('channel_data is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('channel_data must be a JSON object');
  const { user_id: rawId, user_info: userInfo } = value as { user_id?: unknown; user_info?: unknown };
  const isId = (typeof rawId === 'string' && rawId !== '') || (typeof rawId === 'number' && Number.isFinite(rawId));
  if (!isId) throw invalid('channel_data.user_id must be a non-empty string or a number');
  const infoBytes = userInfo === undefined ? 0 : Buffer.byteLength(JSON.stringify(userInfo));
  if (infoBytes > maxUserInfoBytes) {
    throw new SubscriptionError('UserInfoTooLarge', channel, `user_info is ${infoBytes} bytes, over the limit of ${maxUserInfoBytes}`);
  }
  return { userId: String(rawId), userInfo: userInfo ?? {} };
}

/** The roster of `members` as subscription_succeeded carries it. */
export function snapshotOf(members: readonly PresenceMember[]): PresenceSnapshot {
  const hash: Record<string, unknown> = {};
  for (const { userId, userInfo } of members) hash[userId] = userInfo;
  return { ids: members.map((m) => m.userId), hash, count: members.length };
}
