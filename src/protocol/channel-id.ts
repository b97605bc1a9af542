/**
 * EXP channel IDs (D8). A channel is (app, name, system, consumer); its ID is the URL-safe base64, with `=`
 * padding, of the compact JSON `[appId, name, system?1:0, consumer?1:0]` (UTF-8). Example: app `app-id`,
 * name `lobby`, consumer → `["app-id","lobby",0,1]` → `WyJhcHAtaWQiLCJsb2JieSIsMCwxXQ==`.
 *
 * IDs are accepted in the standard alphabet (`+`, `/`, as the EXP SDKs emit them) and without padding;
 * `channelId` always gives the canonical form, so comparing canonical IDs compares channels. Plain
 * JavaScript (TextEncoder, btoa, atob), so the client SDK computes IDs with this very code in browsers.
 */
export interface ChannelFlags {
  readonly system?: boolean;
  readonly consumer?: boolean;
}

export interface ParsedChannelId {
  readonly appId: string;
  readonly name: string;
  readonly system: boolean;
  readonly consumer: boolean;
}

/** Any base64 alphabet, optional padding. */
const ID_CHARS = /^[A-Za-z0-9+/_-]+={0,2}$/;
/** base64 of `["` is `WyI` or `WyJ`: a cheap test that spares plain names a decode. */
const ID_PREFIX = 'Wy';

export function channelId(appId: string, name: string, flags: ChannelFlags = {}): string {
  const bytes = new TextEncoder().encode(JSON.stringify([appId, name, flags.system ? 1 : 0, flags.consumer ? 1 : 0]));
  // Standard base64 keeps the padding; swapping the two letters that differ gives the URL-safe alphabet.
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
}

/**
 * The channel an ID names, or undefined when `id` is not a channel ID (a plain channel name, say).
 * The decoded JSON must be exactly `[string, string, 0|1, 0|1]`.
 */
export function parseChannelId(id: string): ParsedChannelId | undefined {
  if (!id.startsWith(ID_PREFIX) || !ID_CHARS.test(id) || id.length % 4 === 1) return undefined;
  let value: unknown;
  try {
    const standard = id.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(standard.padEnd(Math.ceil(standard.length / 4) * 4, '='));
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 4) return undefined;
  const [appId, name, system, consumer] = value as unknown[];
  if (typeof appId !== 'string' || typeof name !== 'string' || !isBit(system) || !isBit(consumer)) return undefined;
  return { appId, name, system: system === 1, consumer: consumer === 1 };
}

/** How the channel is named in frames: its plain name when both flags are clear, else its ID. */
export function wireChannelName(appId: string, name: string, flags: ChannelFlags = {}): string {
  return flags.system || flags.consumer ? channelId(appId, name, flags) : name;
}

function isBit(value: unknown): value is 0 | 1 {
  return value === 0 || value === 1;
}
