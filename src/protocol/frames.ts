/**
 * Frame names and shapes. A connection speaks one dialect (D2): the same protocol with `broadcastt:` or
 * `pusher:` event prefixes. Names are computed once per dialect, never per frame.
 */
export type Dialect = 'broadcastt' | 'pusher';

export type SocketId = string;
export type ChannelName = string;

/**
 * The key of an app's channel in this node's maps and uWS topics. App ids cannot contain ':', so keys never
 * collide, and the app id is everything before the first ':'.
 */
export function topicOf(appId: string, channel: ChannelName): string {
  return `${appId}:${channel}`;
}

function serverEventNames(prefix: Dialect) {
  return {
    connectionEstablished: `${prefix}:connection_established`,
    error: `${prefix}:error`,
    pong: `${prefix}:pong`,
    subscriptionSucceeded: `${prefix}_internal:subscription_succeeded`,
    subscriptionError: `${prefix}:subscription_error`,
    signinSuccess: `${prefix}:signin_success`,
    memberAdded: `${prefix}_internal:member_added`,
    memberRemoved: `${prefix}_internal:member_removed`,
    broadcastResponses: `${prefix}:broadcast_responses`,
    subscriptionCount: `${prefix}_internal:subscription_count`,
    cacheMiss: `${prefix}:cache_miss`,
    watchlistEvents: `${prefix}_internal:watchlist_events`,
  } as const;
}

export type ServerEventNames = ReturnType<typeof serverEventNames>;

export const ServerEvents: Readonly<Record<Dialect, ServerEventNames>> = {
  broadcastt: serverEventNames('broadcastt'),
  pusher: serverEventNames('pusher'),
};

/** Client frames after decoding and validation; `kind` is the event without its dialect prefix. */
export type ClientFrame =
  | { kind: 'subscribe'; data: SubscribeData }
  | { kind: 'unsubscribe'; data: UnsubscribeData }
  | { kind: 'ping' }
  | { kind: 'pong' }
  | { kind: 'signin'; data: SigninData }
  | { kind: 'broadcast'; data: BroadcastData }
  | { kind: 'response'; data: ResponseData }
  | { kind: 'client-event'; event: string; channel: ChannelName; data: unknown };

export type SigninData = { auth: string; user_data: string };
/** With `system` or `consumer` present, `channel` is the channel's name; otherwise its wire name or ID. */
export type SubscribeData = { channel: string; auth?: string; channel_data?: string; system?: boolean; consumer?: boolean; since?: { epoch: string; offset: number } };
export type UnsubscribeData = { channel: string; system?: boolean; consumer?: boolean };
/** A wire name or channel ID, or a name with flags (protocol/client-frames.schema.json#/$defs/channelRef). */
export type ChannelRefData = string | { name: string; system?: boolean; consumer?: boolean };
export type RequestId = string | number;
export type BroadcastData = { request_id: RequestId; channel: ChannelRefData; name: string; payload?: unknown; timeout?: unknown };
export type ResponseData = { id: string; channel: ChannelRefData; payload?: unknown };

/** `data` of a server frame is JSON text; an empty object is sent as "{}", never omitted (D4). */
export const EMPTY_DATA = '{}';
