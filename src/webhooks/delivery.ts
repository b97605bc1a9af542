import { createHmac } from 'node:crypto';
import type { App, WebhookTarget } from '../apps/app-registry.js';
import type { WebhookEvent } from './webhook-event.js';

/**
 * The header naming a delivery: the same on every attempt, so a receiver that saw it already can drop the
 * repeat (delivery is at least once). The name is the Standard Webhooks one (standardwebhooks.com).
 */
export const WEBHOOK_ID_HEADER = 'Webhook-Id';

/**
 * One webhook request, signed when its batch closed and sent as it is on every attempt: the body (and so its
 * `time_ms` and signature) never changes. Plain data, so a cluster's queue can keep it in Redis; it holds the
 * signature, never the secret.
 */
export interface Delivery {
  readonly id: string;
  readonly appId: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** When the batch closed: `time_ms`, and where the retry window starts. */
  readonly createdAtMs: number;
}

/**
 * The request Pusher sends: `{"time_ms", "events"}`, `Content-Type: application/json` exactly (the pusher
 * library compares it with ===), `X-Pusher-Key` and `X-Pusher-Signature` = hex HMAC-SHA256 of the raw body
 * with the app's secret. The configured headers come first; the configuration refuses any that would
 * replace these.
 */
export function signedDelivery(app: App, target: WebhookTarget, events: readonly WebhookEvent[], id: string, nowMs: number): Delivery {
  const body = JSON.stringify({ time_ms: nowMs, events });
  const headers = {
    ...target.headers,
    'Content-Type': 'application/json',
    'X-Pusher-Key': app.key,
    'X-Pusher-Signature': createHmac('sha256', app.secret).update(body).digest('hex'),
    [WEBHOOK_ID_HEADER]: id,
  };
  return { id, appId: app.id, url: target.url, headers, body, createdAtMs: nowMs };
}
