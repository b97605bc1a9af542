import type { Role } from '../apps/app-registry.js';
import { ProtocolError } from '../errors.js';
import type { Channel } from '../protocol/channel-name.js';

/**
 * Who may do what on a channel, by the connection's credential (D8). Consumer-key connections are confined
 * to consumer channels; nobody but the signed REST API publishes on system channels.
 */
export function mayUse(role: Role, channel: Channel): boolean {
  return role === 'trusted' || channel.consumer;
}

/** Subscribing and responding need only `mayUse`; this is for client events and broadcasts. */
export function checkMayPublish(role: Role, channel: Channel): void {
  if (channel.system) throw new ProtocolError('SystemChannelReadOnly', `${describe(channel)} is a system channel`);
  checkMayUse(role, channel);
}

export function checkMayUse(role: Role, channel: Channel): void {
  if (!mayUse(role, channel)) throw new ProtocolError('ConsumerChannelOnly', `${describe(channel)} is not a consumer channel`);
}

/** How errors name a channel: its wire name, plus the readable name when the wire name is an ID. */
export function describe(channel: Channel): string {
  return channel.wire === channel.name ? channel.wire : `${channel.wire} (${JSON.stringify(channel.name)})`;
}
