import { nanoid } from 'nanoid';
import type { ChannelName } from '../protocol/frames.js';

/** What a broadcast collected by the end of its timeout. */
export interface BroadcastOutcome {
  /** JSON text of the array of response payloads, in arrival order. */
  readonly responses: string;
  readonly count: number;
  /** Responses discarded because the broadcast was over its count or byte limit. */
  readonly dropped: number;
}

export interface BroadcastLimits {
  readonly maxResponsesPerBroadcast: number;
  readonly maxBroadcastResponseBytes: number;
  readonly maxPendingBroadcasts: number;
  readonly maxPendingClientBroadcasts: number;
}

interface Pending {
  readonly appId: string;
  /** Sent by a WebSocket client (counted against the app's client share), not by REST or the embedder. */
  readonly fromClient: boolean;
  readonly channel: ChannelName;
  readonly limits: BroadcastLimits;
  readonly payloads: string[];
  bytes: number;
  dropped: number;
  readonly timer: NodeJS.Timeout;
  readonly done: (outcome: BroadcastOutcome) => void;
}

/**
 * The broadcasts of this node that are collecting responses (D9), by their server-assigned id. Memory is
 * bounded three ways: per app at most maxPendingBroadcasts at once, per broadcast at most
 * maxResponsesPerBroadcast payloads and maxBroadcastResponseBytes bytes, and everything is released when
 * the broadcast's timer fires or it is cancelled. Payloads are kept as JSON text and joined once at the end.
 */
export class PendingBroadcasts {
  private readonly byId = new Map<string, Pending>();
  private readonly perApp = new Map<string, number>();
  private readonly perAppFromClients = new Map<string, number>();

  constructor(private readonly newId: () => string = nanoid) {}

  get size(): number {
    return this.byId.size;
  }

  /**
   * Starts collecting responses for a broadcast on `channel`; `done` runs once, after `timeoutMs` (or at
   * finishAll). Returns the broadcast id, or undefined when the app already has maxPendingBroadcasts, or (for
   * a client's broadcast) its clients already hold maxPendingClientBroadcasts of them.
   */
  open(appId: string, channel: ChannelName, limits: BroadcastLimits, timeoutMs: number, done: (outcome: BroadcastOutcome) => void, fromClient = false): string | undefined {
    if (this.pendingOf(appId) >= limits.maxPendingBroadcasts) return undefined;
    if (fromClient && this.pendingOf(appId, true) >= limits.maxPendingClientBroadcasts) return undefined;
    const id = this.newId();
    const timer = setTimeout(() => this.finish(id), timeoutMs);
    this.byId.set(id, { appId, fromClient, channel, limits, payloads: [], bytes: 0, dropped: 0, timer, done });
    count(this.perApp, appId, 1);
    if (fromClient) count(this.perAppFromClients, appId, 1);
    return id;
  }

  /** Broadcasts of the app collecting responses now; only its clients' with `fromClients`. */
  pendingOf(appId: string, fromClients = false): number {
    return (fromClients ? this.perAppFromClients : this.perApp).get(appId) ?? 0;
  }

  /**
   * One response (JSON text). It counts only if broadcast `id` of this app on this very channel is still
   * collecting and within its limits; anything else (late, unknown, another channel) is dropped.
   */
  respond(appId: string, id: string, channel: ChannelName, payload: string): boolean {
    const pending = this.byId.get(id);
    if (!pending || pending.appId !== appId || pending.channel !== channel) return false;
    const bytes = Buffer.byteLength(payload);
    const { limits } = pending;
    if (pending.payloads.length >= limits.maxResponsesPerBroadcast || pending.bytes + bytes > limits.maxBroadcastResponseBytes) {
      pending.dropped++;
      return false;
    }
    pending.payloads.push(payload);
    pending.bytes += bytes;
    return true;
  }

  /** Forgets a broadcast without reporting it (its broadcaster is gone). */
  cancel(id: string): void {
    const pending = this.release(id);
    if (pending) clearTimeout(pending.timer);
  }

  /** Ends every broadcast now with what it has collected (the gateway is shutting down). */
  finishAll(): void {
    for (const id of [...this.byId.keys()]) this.finish(id);
  }

  private finish(id: string): void {
    const pending = this.release(id);
    if (!pending) return;
    clearTimeout(pending.timer);
    pending.done({ responses: `[${pending.payloads.join(',')}]`, count: pending.payloads.length, dropped: pending.dropped });
  }

  private release(id: string): Pending | undefined {
    const pending = this.byId.get(id);
    if (!pending) return undefined;
    this.byId.delete(id);
    count(this.perApp, pending.appId, -1);
    if (pending.fromClient) count(this.perAppFromClients, pending.appId, -1);
    return pending;
  }
}

/** Adds `by` to the app's count, forgetting apps that reach 0. */
function count(counts: Map<string, number>, appId: string, by: number): void {
  const value = (counts.get(appId) ?? 0) + by;
  if (value === 0) counts.delete(appId);
  else counts.set(appId, value);
}
