import type { App } from '../apps/app-registry.js';
import type { Logger } from '../log.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { Delivery } from './delivery.js';
import { type AttemptObserver, CONCURRENT_DELIVERIES, type DeliveryQueue, DeliveryOutcomes, type WebhookStats } from './delivery-queue.js';
import { retryDelayMs } from './retry-policy.js';

interface Entry {
  readonly app: App;
  readonly delivery: Delivery;
  failures: number;
}

interface AppQueue {
  /** Every delivery held: ready, in flight and waiting for a retry. At most webhookMaxQueued. */
  size: number;
  inFlight: number;
  readonly ready: Entry[];
}

/**
 * A single node's deliveries, in this process's memory: a crash (or a stop that outlasts close's time) loses
 * what is queued (README). Bounded per app by webhookMaxQueued entries of at most webhookBatchEvents events each.
 */
export class MemoryDeliveryQueue implements DeliveryQueue {
  private readonly apps = new Map<string, AppQueue>();
  private readonly retries = new Set<NodeJS.Timeout>();
  private readonly outcomes: DeliveryOutcomes;
  private closed = false;
  private idle: (() => void) | undefined;

  constructor(
    log: Logger,
    metrics: GatewayMetrics,
    observe?: AttemptObserver,
    private readonly now: () => number = Date.now,
  ) {
    this.outcomes = new DeliveryOutcomes(log, metrics, observe);
  }

  add(app: App, delivery: Delivery): void {
    let queue = this.apps.get(app.id);
    if (!queue) this.apps.set(app.id, (queue = { size: 0, inFlight: 0, ready: [] }));
    if (this.closed || queue.size >= app.webhookMaxQueued) return this.outcomes.overflow(app, delivery);
    queue.size++;
    queue.ready.push({ app, delivery, failures: 0 });
    this.pump(queue);
  }

  stats(): WebhookStats {
    let queued = 0;
    for (const queue of this.apps.values()) queued += queue.size;
    const { delivered, dropped, failed } = this.outcomes;
    return { queued, delivered, dropped, failed };
  }

  queuedByApp(): ReadonlyMap<string, number> {
    return new Map([...this.apps].map(([appId, queue]) => [appId, queue.size]));
  }

  async close(withinMs: number): Promise<void> {
    this.closed = true;
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
    if (this.inFlight() === 0) return;
    let deadline: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.idle = resolve;
      deadline = setTimeout(resolve, withinMs);
    });
    clearTimeout(deadline);
  }

  private inFlight(): number {
    let count = 0;
    for (const queue of this.apps.values()) count += queue.inFlight + queue.ready.length;
    return count;
  }

  private pump(queue: AppQueue): void {
    while (queue.inFlight < CONCURRENT_DELIVERIES && queue.ready.length > 0) {
      const entry = queue.ready.shift() as Entry;
      queue.inFlight++;
      void this.attempt(queue, entry);
    }
  }

  private async attempt(queue: AppQueue, entry: Entry): Promise<void> {
    const { app, delivery } = entry;
    const failure = await this.outcomes.attempt(app, delivery);
    queue.inFlight--;
    if (failure === undefined) {
      queue.size--;
    } else {
      entry.failures++;
      const delay = this.closed ? undefined : retryDelayMs(entry.failures, delivery.createdAtMs, this.now(), app);
      if (delay === undefined) {
        queue.size--;
        this.outcomes.gaveUp(app, delivery, failure);
      } else {
        const timer = setTimeout(() => {
          this.retries.delete(timer);
          queue.ready.push(entry);
          this.pump(queue);
        }, delay);
        this.retries.add(timer);
      }
    }
    this.pump(queue);
    if (this.closed && this.inFlight() === 0) this.idle?.();
  }
}
