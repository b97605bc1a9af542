import type { Delivery } from './delivery.js';

/**
 * One attempt: POSTs the delivery and resolves to undefined when the receiver answered 2xx within
 * `timeoutMs`, else to why not (a timeout, a network error, another status). Never rejects. Redirects are
 * not followed: a 3xx is an answer that is not a 2xx. The answer's body is not read.
 */
export async function postDelivery(delivery: Delivery, timeoutMs: number): Promise<string | undefined> {
  try {
    const response = await fetch(delivery.url, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel().catch(() => {});
    return response.ok ? undefined : `answered ${response.status}`;
  } catch (error) {
    if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? String(error);
  }
}
