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
