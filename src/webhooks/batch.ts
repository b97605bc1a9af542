import { nanoid } from 'nanoid';
import type { App, WebhookTarget } from '../apps/app-registry.js';
import { type Delivery, signedDelivery } from './delivery.js';
import type { WebhookEvent } from './webhook-event.js';

/**
 * The events waiting to share one request to one URL (Pusher batches at most 20 events or 250 ms): the batch
 * closes when it holds webhookBatchEvents events or its first event has waited webhookBatchDelayMs, and is then
 * signed and handed to the queue. So it holds at most webhookBatchEvents events, and a node that dies loses
 * at most webhookBatchDelayMs of them.
 */
export class Batch {
  private events: WebhookEvent[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly app: App,
    private readonly target: WebhookTarget,
    private readonly send: (delivery: Delivery) => void,
    private readonly now: () => number,
  ) {}

  add(event: WebhookEvent): void {
    this.events.push(event);
    if (this.events.length >= this.app.webhookBatchEvents) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.app.webhookBatchDelayMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.events.length === 0) return;
    const events = this.events;
    this.events = [];
    this.send(signedDelivery(this.app, this.target, events, nanoid(), this.now()));
  }
}
