import type { AttemptReport } from '../webhooks/delivery-queue.js';

/** How many refusals each app keeps for the console; older ones are forgotten. */
export const REFUSALS_KEPT = 100;

/** How many webhook attempts each app keeps for the console; older ones are forgotten. */
export const WEBHOOK_ATTEMPTS_KEPT = 50;

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

/** A webhook request's attempt or fate on this node, as the console lists it. */
export interface WebhookAttempt extends AttemptReport {
  readonly seq: number;
  /** Milliseconds since the epoch. */
  readonly time: number;
}

interface Activity {
  published: number;
  refusals: Refusal[];
  nextSeq: number;
  webhooks: WebhookAttempt[];
  nextWebhookSeq: number;
}

/**
 * What each app has been doing on this node, for the console: how many events were published on its
 * channels, its latest refusals and its latest webhook attempts. Counting a publish is one map lookup and an increment (the publish
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
    else this.of(appId).published = 1;
  }

  /** Events published on the app's channels that this node has seen since it started. */
  publishedCount(appId: string): number {
    return this.byApp.get(appId)?.published ?? 0;
  }

  refused(appId: string, fields: RefusalFields): void {
    const activity = this.of(appId);
    const refusal = { ...fields, seq: activity.nextSeq++, time: this.now() };
    if (activity.refusals.length >= REFUSALS_KEPT) activity.refusals.shift();
    activity.refusals.push(refusal);
  }

  /** The app's kept refusals after `afterSeq` (all kept ones for 0), oldest first. */
  refusalsSince(appId: string, afterSeq = 0): Refusal[] {
    return (this.byApp.get(appId)?.refusals ?? []).filter((refusal) => refusal.seq > afterSeq);
  }

  /** A webhook request's attempt or fate (webhooks/delivery-queue.ts), kept in a ring of WEBHOOK_ATTEMPTS_KEPT. */
  webhookAttempted(appId: string, fields: AttemptReport): void {
    const activity = this.of(appId);
    if (activity.webhooks.length >= WEBHOOK_ATTEMPTS_KEPT) activity.webhooks.shift();
    activity.webhooks.push({ ...fields, seq: activity.nextWebhookSeq++, time: this.now() });
  }

  /** The app's kept webhook attempts after `afterSeq` (all kept ones for 0), oldest first. */
  webhooksSince(appId: string, afterSeq = 0): WebhookAttempt[] {
    return (this.byApp.get(appId)?.webhooks ?? []).filter((attempt) => attempt.seq > afterSeq);
  }

  private of(appId: string): Activity {
    let activity = this.byApp.get(appId);
    if (!activity) this.byApp.set(appId, (activity = { published: 0, refusals: [], nextSeq: 1, webhooks: [], nextWebhookSeq: 1 }));
    return activity;
  }
}
