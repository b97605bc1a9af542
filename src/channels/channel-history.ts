import type { App, HistoryRule } from '../apps/app-registry.js';
import type { HistoryStore, StoredPublication, StreamPosition, StreamRead } from '../cluster/history-store.js';
import { parseChannelId } from '../protocol/channel-id.js';
import type { ChannelName } from '../protocol/frames.js';

/** What a subscription to a history channel answers (PROTOCOL.md §9), and the publications it replays. */
export interface Recovery {
  /** The stream's position when it was read: the client's position once the replay is through. */
  readonly position: StreamPosition;
  /** Present when the client asked to recover (`since`): whether `frames` are exactly what it missed. */
  readonly recovered?: boolean;
  /** The publications after the client's position, oldest first; none unless recovered. */
  readonly frames: readonly string[];
}

/** A page of a channel's history for REST (GET /apps/:id/channels/:name/history). */
export interface HistoryPage {
  readonly position: StreamPosition;
  /** Present when the page was asked for after a position: whether nothing between it and `frames` was lost. */
  readonly recovered?: boolean;
  readonly frames: readonly string[];
}

/**
 * Which channels keep history (the apps' rules) and what a subscription or a REST read gets from their streams.
 * Channels no rule matches cost a boolean check when no app has rules, and a map lookup and a prefix test per
 * rule otherwise.
 */
export class ChannelHistory {
  private readonly rules = new Map<string, readonly HistoryRule[]>();

  constructor(
    apps: Iterable<App>,
    private readonly store: HistoryStore | undefined,
  ) {
    for (const app of apps) if (app.history.length > 0) this.rules.set(app.id, app.history);
  }

  /** Whether any app keeps history (a cluster without a history store cannot). */
  get isUsed(): boolean {
    return this.rules.size > 0;
  }

  /**
   * The rule of the channel (a wire name): the first whose prefix starts its name, which for an EXP channel
   * with flags is the name inside its ID.
   */
  ruleFor(appId: string, channel: ChannelName): HistoryRule | undefined {
    if (this.rules.size === 0) return undefined;
    const rules = this.rules.get(appId);
    if (rules === undefined) return undefined;
    const name = parseChannelId(channel)?.name ?? channel;
    for (const rule of rules) if (name.startsWith(rule.prefix)) return rule;
    return undefined;
  }

  /** HistoryStore.append: a publication to deliver (one node), or a promise of Redis having published it (a cluster). */
  append(appId: string, channel: ChannelName, rule: HistoryRule, frame: string, exceptSocketId: string | undefined): StoredPublication | Promise<void> {
    return this.requireStore().append(appId, channel, rule, frame, exceptSocketId);
  }

  /**
   * The answer to a subscription: the stream's position, and when `since` is given, the publications after
   * it, if and only if they are all still kept, belong to the same epoch and number at most the app's
   * maxRecoveredEvents. Never a partial recovery called complete.
   */
  async recover(app: App, channel: ChannelName, rule: HistoryRule, since?: StreamPosition): Promise<Recovery> {
    const limit = since === undefined ? 0 : Math.min(app.maxRecoveredEvents, rule.size);
    const read = await this.requireStore().read(app.id, channel, rule, since?.offset ?? 0, limit, true);
    const position = { epoch: read.epoch, offset: read.offset };
    if (since === undefined) return { position, frames: [] };
    const missed = read.offset - since.offset;
    const recovered = missed >= 0 && missed <= limit && read.events.length === missed && isContinuous(since, read);
    return { position, recovered, frames: recovered ? read.events.map((e) => e.frame) : [] };
  }

  /**
   * A page for REST: the kept publications after `since` (all kept ones without it), oldest first, at most
   * `limit`. With `since`, `recovered` says whether nothing between it and the page was lost; an `epoch`
   * other than the stream's makes `since` meaningless, so the page starts at the oldest kept publication.
   */
  async page(appId: string, channel: ChannelName, rule: HistoryRule, limit: number, since?: number, epoch?: string): Promise<HistoryPage> {
    const store = this.requireStore();
    let read = await store.read(appId, channel, rule, since ?? 0, limit);
    if (since === undefined) return { position: read, frames: read.events.map((e) => e.frame) };
    const isSameEpoch = epoch === undefined || epoch === read.epoch;
    if (!isSameEpoch && since > 0) read = await store.read(appId, channel, rule, 0, limit);
    const recovered = isSameEpoch && since <= read.offset && isContinuous({ epoch: read.epoch, offset: since }, read);
    return { position: { epoch: read.epoch, offset: read.offset }, recovered, frames: read.events.map((e) => e.frame) };
  }

  private requireStore(): HistoryStore {
    // GatewayNode refuses to start with history rules and no store; reaching this is a bug.
    if (!this.store) throw new Error('history rules need a history store');
    return this.store;
  }
}

/**
 * Whether `read` goes on right after `since`, in its epoch: nothing was published since, or the first
 * publication read is the next one (kept publications have consecutive offsets, so none is missing after it).
 */
function isContinuous(since: StreamPosition, read: StreamRead): boolean {
  if (since.epoch !== read.epoch || since.offset > read.offset) return false;
  return since.offset === read.offset || read.events[0]?.offset === since.offset + 1;
}
