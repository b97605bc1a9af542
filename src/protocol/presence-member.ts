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
export interface PresenceLimits {
  readonly maxPresenceUserIdLength: number;
  readonly maxPresenceUserInfoBytes: number;
}

export function parsePresenceMember(channel: ChannelName, channelData: string, limits: PresenceLimits): PresenceMember {
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
  const userId = String(rawId);
  if (userId.length > limits.maxPresenceUserIdLength) throw invalid(`channel_data.user_id is ${userId.length} characters, over the limit of ${limits.maxPresenceUserIdLength}`);
  const infoBytes = userInfo === undefined ? 0 : Buffer.byteLength(JSON.stringify(userInfo));
  if (infoBytes > limits.maxPresenceUserInfoBytes) {
    throw new SubscriptionError('UserInfoTooLarge', channel, `user_info is ${infoBytes} bytes, over the limit of ${limits.maxPresenceUserInfoBytes}`);
  }
  return { userId, userInfo: userInfo ?? {} };
}

/**
 * The roster of `members` as subscription_succeeded carries it. The hash is built from entries, so a user id
 * such as "__proto__" is an ordinary key (an assignment would set the object's prototype instead).
 */
export function snapshotOf(members: readonly PresenceMember[]): PresenceSnapshot {
  const hash: Record<string, unknown> = Object.fromEntries(members.map(({ userId, userInfo }) => [userId, userInfo]));
  return { ids: members.map((m) => m.userId), hash, count: members.length };
}
