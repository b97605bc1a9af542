/**
 * A channel's type, by the prefix of its name (for flagged channels, the name inside the ID). Kept free of
 * other imports so the client SDK's browser bundle can use the same rule.
 */
export type ChannelType = 'public' | 'private' | 'private-encrypted' | 'presence';

/** Prefixes include the dash: "privatex" is a public channel. Longest prefix first. */
const PREFIXES: ReadonlyArray<readonly [string, ChannelType]> = [
  ['private-encrypted-', 'private-encrypted'],
  ['private-', 'private'],
  ['presence-', 'presence'],
];

export function classifyChannel(name: string): ChannelType {
  for (const [prefix, type] of PREFIXES) if (name.startsWith(prefix)) return type;
  return 'public';
}
