/** An app as configured (protocol/config.schema.json#/$defs/app, defaults applied). */
export interface App {
  readonly id: string;
  readonly key: string;
  readonly consumerKeys: readonly string[];
  readonly secret: string;
  readonly enabled: boolean;
  readonly clientEvents: boolean;
  readonly maxClientEventsPerSecond: number;
  readonly maxConnections: number;
  readonly maxChannelsPerConnection: number;
  /** Occupied channels over the whole cluster (each node holds its share). */
  readonly maxChannels: number;
  /** REST publishes per second over the whole cluster; an event to N channels counts N. */
  readonly maxBackendEventsPerSecond: number;
  /** REST reads per second over the whole cluster. */
  readonly maxReadRequestsPerSecond: number;
  readonly maxPresenceMembers: number;
  readonly maxPresenceUserInfoBytes: number;
  readonly maxChannelNameLength: number;
  readonly maxEventNameLength: number;
  readonly maxEventDataBytes: number;
  readonly maxChannelsPerTrigger: number;
  readonly maxBatchEvents: number;
  readonly maxBroadcastsPerSecond: number;
  readonly broadcastTimeoutMs: number;
  readonly maxBroadcastTimeoutMs: number;
  readonly maxResponsesPerBroadcast: number;
  readonly maxBroadcastResponseBytes: number;
  readonly maxPendingBroadcasts: number;
  readonly clientBroadcasts: 'authorized' | 'all' | 'off';
  readonly maxPendingClientBroadcasts: number;
  readonly maxPendingBroadcastsPerConnection: number;
  readonly maxResponsesPerSecond: number;
  readonly maxPresenceUserIdLength: number;
  readonly subscriptionCount: boolean;
  readonly subscriptionCountThreshold: number;
  readonly subscriptionCountIntervalMs: number;
  readonly cacheTtlMs: number;
  readonly maxCachedChannels: number;
  readonly watchlistEvents: boolean;
  readonly maxWatchlistSize: number;
  readonly webhooks: readonly WebhookTarget[];
  readonly webhookGraceMs: number;
  readonly webhookBatchEvents: number;
  readonly webhookBatchDelayMs: number;
  readonly webhookTimeoutMs: number;
  readonly webhookRetryBaseMs: number;
  readonly webhookRetryForMs: number;
  readonly webhookMaxQueued: number;
  /** Channels whose recent events are kept (PROTOCOL.md §9), tried in order. */
  readonly history: readonly HistoryRule[];
  readonly maxRecoveredEvents: number;
}

/** Which channels keep how much history (protocol/config.schema.json#/$defs/historyRule). */
export interface HistoryRule {
  /** Channels whose name (for EXP channels with flags, the name inside the ID) starts with this. */
  readonly prefix: string;
  /** How many of a channel's latest events are kept. */
  readonly size: number;
  /** How long they are kept after the channel's last event. */
  readonly ttlSeconds: number;
}

/** The webhook events this gateway sends, by Pusher's names. */
export const WEBHOOK_EVENTS = ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event', 'cache_miss'] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

/** One URL of an app's webhooks (protocol/config.schema.json#/$defs/webhook, defaults applied). */
export interface WebhookTarget {
  readonly url: string;
  readonly events: readonly WebhookEventName[];
  readonly filter?: { readonly channelPrefix?: string; readonly channelSuffix?: string };
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * What a connection's key entitles it to (D8): the app's key is `trusted`; a consumer key may only use
 * consumer channels.
 */
export type Role = 'trusted' | 'consumer';

export interface Credential {
  readonly app: App;
  readonly role: Role;
}

/**
 * Finds apps by the keys clients connect with and by the id REST paths use. Ids and keys are unique:
 * resolveConfig refuses a configuration that repeats one.
 */
export class AppRegistry {
  private readonly byKey = new Map<string, Credential>();
  private readonly byId = new Map<string, App>();

  constructor(apps: readonly App[]) {
    for (const app of apps) {
      this.byId.set(app.id, app);
      this.byKey.set(app.key, { app, role: 'trusted' });
      for (const key of app.consumerKeys) this.byKey.set(key, { app, role: 'consumer' });
    }
  }

  findByKey(key: string): Credential | undefined {
    return this.byKey.get(key);
  }

  findById(id: string): App | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<App> {
    return this.byId.values();
  }
}
