import { type ClusterStore, type Departure, departureKey } from '../cluster/cluster-store.js';
import type { StoreDecisions } from './store-decisions.js';

/**
 * The grace periods this node started: one timer per pending departure, which settles it in the store when
 * the grace passes and reports it if it was still pending (nobody came back, nobody else took it). A later
 * departure of the same channel or member replaces the timer, so churn never piles timers up. Departures
 * whose node died before its timer fired are taken by the sweep of any node (ClusterStore.dueDepartures).
 */
export class DepartureTimers {
  private readonly timers = new Map<string, { readonly departure: Departure; readonly timer: NodeJS.Timeout }>();

  constructor(
    private readonly store: ClusterStore,
    private readonly decisions: StoreDecisions,
    private readonly due: (departure: Departure) => void,
  ) {}

  start(departure: Departure, graceMs: number): void {
    this.cancel(departure);
    const key = keyOf(departure);
    this.timers.set(key, { departure, timer: setTimeout(() => this.settle(key, departure), graceMs) });
  }

  /** The channel or member came back here: its timer would find nothing to settle. */
  cancel(departure: Departure): void {
    const key = keyOf(departure);
    clearTimeout(this.timers.get(key)?.timer);
    this.timers.delete(key);
  }

  /** Takes the apps' departures that are overdue (their node died), reporting each. */
  sweep(appIds: readonly string[], lateMs: number): void {
    this.decisions.track(this.decisions.orAlone(this.store.dueDepartures(appIds, lateMs), []).then((due) => due.forEach(this.due)));
  }

  /**
   * Stops every timer. `settleNow` (a single node, whose pending departures nobody else will take) settles them
   * at once instead, so the receiver hears of them before the node exits; resolves once they are reported.
   */
  async close(settleNow: boolean): Promise<void> {
    const pending = [...this.timers];
    for (const [key, { departure, timer }] of pending) {
      clearTimeout(timer);
      if (settleNow) this.settle(key, departure);
    }
    this.timers.clear();
    await this.decisions.settled();
  }

  private settle(key: string, departure: Departure): void {
    this.timers.delete(key);
    this.decisions.track(
      this.decisions.orAlone(this.store.settle(departure), true).then((isDue) => {
        if (isDue) this.due(departure);
      }),
    );
  }
}

function keyOf(departure: Departure): string {
  return `${departure.appId}\n${departureKey(departure)}`;
}
