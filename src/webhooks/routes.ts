import type { App, WebhookEventName, WebhookTarget } from '../apps/app-registry.js';
import { Batch } from './batch.js';
import type { Delivery } from './delivery.js';
import type { WebhookEvent } from './webhook-event.js';

interface Route {
  readonly target: WebhookTarget;
  readonly events: ReadonlySet<WebhookEventName>;
  readonly batch: Batch;
}

/**
 * Which URL gets which event: each of an app's webhooks has its own event list, channel filter and batch,
 * so a URL's requests hold exactly the events it asked for (its filter filters the signed body, not just
 * whether a request is sent). Apps without webhooks are not here: asking about them is one Map lookup.
 */
export class WebhookRoutes {
  private readonly byApp = new Map<string, { readonly app: App; readonly routes: readonly Route[] }>();

  constructor(apps: Iterable<App>, send: (app: App, delivery: Delivery) => void, now: () => number) {
    for (const app of apps) {
      if (app.webhooks.length === 0) continue;
      const routes = app.webhooks.map((target) => ({ target, events: new Set(target.events), batch: new Batch(app, target, (delivery) => send(app, delivery), now) }));
      this.byApp.set(app.id, { app, routes });
    }
  }

  /** The apps that have webhooks. */
  apps(): App[] {
    return [...this.byApp.values()].map(({ app }) => app);
  }

  /** The app, if it has webhooks. */
  appOf(appId: string): App | undefined {
    return this.byApp.get(appId)?.app;
  }

  /** Whether some webhook of the app takes one of these events on this channel. */
  wants(appId: string, names: readonly WebhookEventName[], channel: string): boolean {
    return this.byApp.get(appId)?.routes.some((route) => names.some((name) => route.events.has(name)) && matches(route.target, channel)) ?? false;
  }

  /** Adds the event to the batch of every webhook of the app that takes it. */
  emit(appId: string, event: WebhookEvent): void {
    for (const route of this.byApp.get(appId)?.routes ?? []) {
      if (route.events.has(event.name) && matches(route.target, event.channel)) route.batch.add(event);
    }
  }

  /** Closes every batch now. */
  flush(): void {
    for (const { routes } of this.byApp.values()) for (const route of routes) route.batch.flush();
  }
}

function matches({ filter }: WebhookTarget, channel: string): boolean {
  if (!filter) return true;
  return (filter.channelPrefix === undefined || channel.startsWith(filter.channelPrefix)) && (filter.channelSuffix === undefined || channel.endsWith(filter.channelSuffix));
}
