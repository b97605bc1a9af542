/** How many refusals each app keeps for the console; older ones are forgotten. */
export const REFUSALS_KEPT = 100;

/** Where a refusal happened. */
export type RefusalSource = 'connect' | 'frame' | 'subscribe' | 'rest';

/** One refused request of an app's client or backend, as the console lists it. */
export interface Refusal {
  /** Increases by one per refusal of the app on this node, so a reader can ask for what is new. */
  readonly seq: number;
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly source: RefusalSource;
  /** The catalogue name: a WebSocket error, a subscription refusal type or a REST error. */
  readonly name: string;
  /** The WebSocket error code (connect, frame), the subscription refusal's status, or the HTTP status (rest). */
  readonly code: number;
  readonly message: string;
  readonly channel?: string;
  readonly socketId?: string;
  /** REST: method and path (the query, which holds the signature, is never kept). */
  readonly request?: string;
}

export type RefusalFields = Omit<Refusal, 'seq' | 'time'>;

interface Activity {
  published: number;
  refusals: Refusal[];
  nextSeq: number;
}

/**
 * What each app has been doing on this node, for the console: how many events were published on its
 * channels, and its latest refusals. Counting a publish is one map lookup and an increment (the publish
 * path is hot); refusals are kept in a ring of REFUSALS_KEPT per app, so memory stays bounded whatever
 * clients send.
 */
export class AppActivity {
  private readonly byApp = new Map<string, Activity>();

  constructor(private readonly now: () => number = Date.now) {}

  /** One event published on one of the app's channels (from here, or received from another node). */
  published(appId: string): void {
    const activity = this.byApp.get(appId);
    if (activity) activity.published++;
    else this.byApp.set(appId, { published: 1, refusals: [], nextSeq: 1 });
  }

  /** Events published on the app's channels that this node has seen since it started. */
  publishedCount(appId: string): number {
    return this.byApp.get(appId)?.published ?? 0;
  }

  refused(appId: string, fields: RefusalFields): void {
    let activity = this.byApp.get(appId);
    if (!activity) this.byApp.set(appId, (activity = { published: 0, refusals: [], nextSeq: 1 }));
    const refusal = { ...fields, seq: activity.nextSeq++, time: this.now() };
    if (activity.refusals.length >= REFUSALS_KEPT) activity.refusals.shift();
    activity.refusals.push(refusal);
  }

  /** The app's kept refusals after `afterSeq` (all kept ones for 0), oldest first. */
  refusalsSince(appId: string, afterSeq = 0): Refusal[] {
    return (this.byApp.get(appId)?.refusals ?? []).filter((refusal) => refusal.seq > afterSeq);
  }
}
