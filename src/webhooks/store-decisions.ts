import type { Logger } from '../log.js';

/**
 * The webhooks' questions to the cluster store (is this the cluster-wide first? is this departure still
 * due?), tracked so a node that drains can wait for the answers. While the store cannot be reached, the node
 * decides alone, as presence does (src/channels/presence-channels.ts): an event may then be sent twice
 * (once per node), never lost, which is what at-least-once delivery promises anyway. Said once in the log.
 */
export class StoreDecisions {
  private readonly pending = new Set<Promise<unknown>>();
  private failing = false;

  constructor(private readonly log: Logger) {}

  /** The store's answer, or `alone` while it cannot be reached. */
  async orAlone<T>(answer: Promise<T>, alone: T): Promise<T> {
    try {
      const value = await answer;
      if (this.failing) this.log.info('cluster store reachable again; webhook events are decided cluster-wide again');
      this.failing = false;
      return value;
    } catch (error) {
      if (!this.failing) this.log.warn('cluster store unreachable; webhook events are decided on this node alone', { error: String(error) });
      this.failing = true;
      return alone;
    }
  }

  /** Runs `decision` as one of those a draining node waits for. */
  track(decision: Promise<unknown>): void {
    const tracked = decision.catch((error: unknown) => this.log.error('webhook decision failed', { error: String(error) }));
    this.pending.add(tracked);
    void tracked.then(() => this.pending.delete(tracked));
  }

  /** Resolves once every decision under way (and any it started) has been made. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
