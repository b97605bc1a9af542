/**
 * A channel's type, by the prefix of its name (for flagged channels, the name inside the ID). Kept free of
 * other imports so the client SDK's browser bundle can use the same rule.
 */
export type ChannelType = 'public' | 'private' | 'private-encrypted' | 'presence' | 'user';

/**
 * The prefix of a user channel, `#server-to-user-<user id>`: Pusher's channel of one signed-in user, which only
 * that user's sockets may join and the REST API (`sendToUser`) publishes on. No other channel name holds `#`.
 */
export const USER_CHANNEL_PREFIX = '#server-to-user-';

/** Prefixes include the dash: "privatex" is a public channel. Longest prefix first. */
const PREFIXES: ReadonlyArray<readonly [string, ChannelType]> = [
  ['private-encrypted-', 'private-encrypted'],
  ['private-', 'private'],
  ['presence-', 'presence'],
  [USER_CHANNEL_PREFIX, 'user'],
];

export function classifyChannel(name: string): ChannelType {
  for (const [prefix, type] of PREFIXES) if (name.startsWith(prefix)) return type;
  return 'public';
}

/** The user channel of `userId`. */
export function userChannelOf(userId: string): string {
  return USER_CHANNEL_PREFIX + userId;
}

/**
 * Whether a channel keeps its last event for new subscribers (Pusher's cache channels): `cache-`, `private-cache-`,
 * `private-encrypted-cache-` or `presence-cache-`, by wire name, so a channel with EXP flags (named by its ID) never
 * is one. It runs on every REST publish: one or two prefix checks for any other channel.
 */
export function isCacheChannel(wire: string): boolean {
  if (wire.startsWith('cache-')) return true;
  if (!wire.startsWith('p')) return false;
  return wire.startsWith('private-cache-') || wire.startsWith('presence-cache-') || wire.startsWith('private-encrypted-cache-');
}
