import { ProtocolError } from '../errors.js';
import type { ChannelName } from './frames.js';
import { CHANNEL_NAME_RULE } from './schemas.js';

export type ChannelType = 'public' | 'private' | 'private-encrypted' | 'presence';

/** Prefixes include the dash: "privatex" is a public channel. Longest prefix first. */
const PREFIXES: ReadonlyArray<readonly [string, ChannelType]> = [
  ['private-encrypted-', 'private-encrypted'],
  ['private-', 'private'],
  ['presence-', 'presence'],
];

export function classifyChannel(name: ChannelName): ChannelType {
  for (const [prefix, type] of PREFIXES) if (name.startsWith(prefix)) return type;
  return 'public';
}

const CHANNEL_CHARS = /^[-a-zA-Z0-9_=@,.;]+$/;

/** Throws InvalidChannel naming the rule broken; the charset is also in protocol/ schemas. */
export function checkChannelName(name: string, maxLength: number): void {
  if (name.length > maxLength) {
    throw new ProtocolError('InvalidChannel', `"${name.slice(0, 40)}…" is ${name.length} characters, over the limit of ${maxLength}`);
  }
  if (!CHANNEL_CHARS.test(name)) {
    throw new ProtocolError('InvalidChannel', `"${name.slice(0, 40)}" ${CHANNEL_NAME_RULE}`);
  }
}
