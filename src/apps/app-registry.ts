/** An app as configured (protocol/config.schema.json#/$defs/app, defaults applied). */
export interface App {
  readonly id: string;
  readonly key: string;
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
}

/** Finds apps by the key clients connect with and by the id REST paths use. */
export class AppRegistry {
  private readonly byKey = new Map<string, App>();
  private readonly byId = new Map<string, App>();

  constructor(apps: readonly App[]) {
    for (const app of apps) {
      if (this.byKey.has(app.key)) throw new Error(`two apps share the key "${app.key}"`);
      if (this.byId.has(app.id)) throw new Error(`two apps share the id "${app.id}"`);
      this.byKey.set(app.key, app);
      this.byId.set(app.id, app);
    }
  }

  findByKey(key: string): App | undefined {
    return this.byKey.get(key);
  }

  findById(id: string): App | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<App> {
    return this.byId.values();
  }
}
