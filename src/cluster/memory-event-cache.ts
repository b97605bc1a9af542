import type { CachedEvent, CacheLimits } from './cluster-store.js';

interface Entry {
  readonly frame: string;
  readonly expiresAtMs: number;
}

const NOT_CACHED: CachedEvent = Object.freeze({ isFirstMiss: false });
const FIRST_MISS: CachedEvent = Object.freeze({ isFirstMiss: true });

/**
 * The last event of each cache channel, in memory: a single node's cache, and the shared cache of an in-process
 * cluster (MemoryStoreHub). Per app, a Map in write order (a write moves its channel to the end), so the entry
 * written longest ago is first: it is the next to expire (one TTL per app) and the one forgotten when the app is
 * at maxChannels. Expired entries go when the app writes or when they are read; no timer runs. The misses noted
 * for cache_miss webhooks are kept the same way and bounded the same way.
 */
export class MemoryEventCache {
  private readonly events = new Map<string, Map<string, Entry>>();
  private readonly misses = new Map<string, Map<string, Entry>>();

  constructor(private readonly now: () => number = Date.now) {}

  put(appId: string, channel: string, frame: string, limits: CacheLimits): void {
    const now = this.now();
    const events = this.appMap(this.events, appId);
    events.delete(channel);
    events.set(channel, { frame, expiresAtMs: now + limits.ttlMs });
    trim(events, now, limits.maxChannels);
    this.misses.get(appId)?.delete(channel);
  }

  get(appId: string, channel: string, limits: CacheLimits, noteMiss: boolean): CachedEvent {
    const now = this.now();
    const entry = this.events.get(appId)?.get(channel);
    if (entry && entry.expiresAtMs > now) return { frame: entry.frame, isFirstMiss: false };
    if (entry) this.events.get(appId)?.delete(channel);
    if (!noteMiss) return NOT_CACHED;
    const misses = this.appMap(this.misses, appId);
    trim(misses, now, limits.maxChannels);
    const noted = misses.get(channel);
    if (noted && noted.expiresAtMs > now) return NOT_CACHED;
    misses.delete(channel);
    misses.set(channel, { frame: '', expiresAtMs: now + limits.ttlMs });
    trim(misses, now, limits.maxChannels);
    return FIRST_MISS;
  }

  private appMap(maps: Map<string, Map<string, Entry>>, appId: string): Map<string, Entry> {
    let map = maps.get(appId);
    if (!map) maps.set(appId, (map = new Map()));
    return map;
  }
}

/** Drops the expired entries at the front, then the oldest ones beyond `max`. */
function trim(entries: Map<string, Entry>, now: number, max: number): void {
  for (const [channel, entry] of entries) {
    if (entry.expiresAtMs > now && entries.size <= max) return;
    entries.delete(channel);
  }
}
