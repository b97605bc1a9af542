/** Small helpers for showing what the gateway sends. */

/** 12:34:56.789 in local time. */
export function clock(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** JSON text shown compactly; anything that is not JSON as it is. */
export function compactJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}

/** What the user typed as a JSON value: parsed when it is JSON, else the text itself as a string. */
export function jsonValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface DecodedChannel {
  readonly name: string;
  readonly system: boolean;
  readonly consumer: boolean;
}

/**
 * A channel ID (base64 of [appId, name, system, consumer], PROTOCOL.md §7.1) as its name and flags; a plain
 * wire name as itself.
 */
export function decodeChannel(wire: string, appId: string): DecodedChannel {
  try {
    const text = atob(wire.replace(/-/g, '+').replace(/_/g, '/'));
    const value = JSON.parse(new TextDecoder().decode(Uint8Array.from(text, (c) => c.charCodeAt(0)))) as unknown;
    if (Array.isArray(value) && value.length === 4 && value[0] === appId && typeof value[1] === 'string') {
      return { name: value[1], system: value[2] === 1, consumer: value[3] === 1 };
    }
  } catch {
    // A plain name.
  }
  return { name: wire, system: false, consumer: false };
}

/** "lobby" or "lobby (system, consumer)". */
export function describeChannel(channel: DecodedChannel): string {
  const flags = [channel.system ? 'system' : '', channel.consumer ? 'consumer' : ''].filter(Boolean);
  return flags.length === 0 ? channel.name : `${channel.name} (${flags.join(', ')})`;
}
