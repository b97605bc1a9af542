import type { App } from '../apps/app-registry.js';

export type RetrySettings = Pick<App, 'webhookRetryBaseMs' | 'webhookRetryForMs'>;

/**
 * Exponential backoff within a window, as Pusher retries webhooks for 5 minutes: after the n-th failed
 * attempt, wait base × 2^(n-1). Undefined when that next attempt would start more than webhookRetryForMs after
 * the delivery was made: it is given up then. (pusher-http-python refuses a `time_ms` older than 300 s, so a
 * longer window would only deliver what some receivers reject.)
 */
export function retryDelayMs(failures: number, createdAtMs: number, nowMs: number, settings: RetrySettings): number | undefined {
  const delay = settings.webhookRetryBaseMs * 2 ** (failures - 1);
  return nowMs + delay - createdAtMs <= settings.webhookRetryForMs ? delay : undefined;
}
