import type { App, Role } from '../apps/app-registry.js';
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

/**
 * Which channels a client may broadcast on (D9a), by the app's `clientBroadcasts`. A broadcast is delivered
 * as an event named by the broadcaster, so on a public channel anyone holding the (public) app key could make
 * other clients' handlers fire with a forged backend event: by default clients broadcast only where they
 * proved membership (private and presence channels they joined) and on consumer channels.
 */
export function checkMayBroadcast(app: App, channel: Channel, joined: boolean): void {
  if (app.clientBroadcasts === 'all') return;
  if (app.clientBroadcasts === 'off') throw new ProtocolError('BroadcastRejected', `client broadcasts are off for app ${app.id} (clientBroadcasts: off)`);
  if (channel.consumer || (channel.type !== 'public' && joined)) return;
  throw new ProtocolError(
    'BroadcastRejected',
    `clients may broadcast only on private and presence channels they joined and on consumer channels, not on ${describe(channel)} (clientBroadcasts: authorized)`,
  );
}

/** How errors name a channel: its wire name, plus the readable name when the wire name is an ID. */
export function describe(channel: Channel): string {
  return channel.wire === channel.name ? channel.wire : `${channel.wire} (${JSON.stringify(channel.name)})`;
}
