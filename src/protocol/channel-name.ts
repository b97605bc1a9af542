import { ProtocolError } from '../errors.js';
import { channelId, parseChannelId } from './channel-id.js';
import type { ChannelName } from './frames.js';
import { type ChannelType, classifyChannel, USER_CHANNEL_PREFIX } from './channel-type.js';
import { CHANNEL_NAME_RULE } from './schemas.js';

export { type ChannelType, classifyChannel };

/** A channel resolved from whatever the client or publisher wrote (D8). */
export interface Channel {
  /** The canonical wire name: the plain name when both flags are clear, else the canonical channel ID. */
  readonly wire: ChannelName;
  /** The name inside the ID; equals `wire` for flag-free channels. Its prefix decides the type. */
  readonly name: string;
  readonly system: boolean;
  readonly consumer: boolean;
  readonly type: ChannelType;
}

/** A wire name or channel ID, or a name with flags (`{name, system, consumer}`). */
export type ChannelRef = string | { readonly name: string; readonly system?: boolean; readonly consumer?: boolean };

const CHANNEL_CHARS = /^[-a-zA-Z0-9_=@,.;]+$/;
/** Names inside a channel ID may be any text (EXP names hold ':' and spaces) except control characters. */
const FLAGGED_NAME_CHARS = /^[^\p{Cc}]+$/u;

/** Throws InvalidChannel naming the rule broken; the charset is also in protocol/ schemas. */
export function checkChannelName(name: string, maxLength: number): void {
  checkLength(name, maxLength);
  if (!CHANNEL_CHARS.test(name)) {
    throw new ProtocolError('InvalidChannel', `"${name.slice(0, 40)}" ${CHANNEL_NAME_RULE}`);
  }
}

/**
 * Resolves a channel reference for an app, or throws InvalidChannel. A string that decodes as a channel ID
 * is one (any base64 alphabet, padded or not) and must belong to this app; any other string is a plain
 * name. Limits apply to the name, not to the (longer) ID.
 */
export function resolveChannel(ref: ChannelRef, app: { readonly id: string; readonly maxChannelNameLength: number }): Channel {
  if (typeof ref !== 'string') return channelOf(app.id, ref.name, ref.system === true, ref.consumer === true, app.maxChannelNameLength);
  const parsed = parseChannelId(ref);
  if (!parsed) return channelOf(app.id, ref, false, false, app.maxChannelNameLength);
  if (parsed.appId !== app.id) throw new ProtocolError('InvalidChannel', `"${ref.slice(0, 40)}…" is a channel ID of another app`);
  return channelOf(app.id, parsed.name, parsed.system, parsed.consumer, app.maxChannelNameLength);
}

function channelOf(appId: string, name: string, system: boolean, consumer: boolean, maxLength: number): Channel {
  const type = classifyChannel(name);
  if (type === 'user') return userChannelOf(name, system || consumer, maxLength);
  if (!system && !consumer) {
    checkChannelName(name, maxLength);
    return { wire: name, name, system, consumer, type };
  }
  checkLength(name, maxLength);
  if (!FLAGGED_NAME_CHARS.test(name)) {
    throw new ProtocolError('InvalidChannel', `${JSON.stringify(name.slice(0, 40))} must be non-empty text without control characters`);
  }
  return { wire: channelId(appId, name, { system, consumer }), name, system, consumer, type };
}

/**
 * A user channel, `#server-to-user-<user id>`: the id is the signed-in user's, any text without control
 * characters (ids such as `auth0|5f3a` or `ann@example.com` are common), and the whole name obeys the length
 * limit. User channels carry no EXP flags: each user has one.
 */
function userChannelOf(name: string, isFlagged: boolean, maxLength: number): Channel {
  if (isFlagged) throw new ProtocolError('InvalidChannel', 'user channels carry no system or consumer flag');
  checkLength(name, maxLength);
  if (!FLAGGED_NAME_CHARS.test(name.slice(USER_CHANNEL_PREFIX.length))) {
    throw new ProtocolError('InvalidChannel', `${JSON.stringify(name.slice(0, 40))} needs a user id without control characters after ${USER_CHANNEL_PREFIX}`);
  }
  return { wire: name, name, system: false, consumer: false, type: 'user' };
}

function checkLength(name: string, maxLength: number): void {
  if (name.length > maxLength) {
    throw new ProtocolError('InvalidChannel', `"${name.slice(0, 40)}…" is ${name.length} characters, over the limit of ${maxLength}`);
  }
}
