import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Pusher from 'pusher';
import type { Test } from 'tap';
import { DEMO_APP } from './gateway.js';
import { WAIT_MS } from './ws-client.js';

/** A webhook event as a receiver reads it. */
export type ReceivedEvent = { name: string; channel: string } & Record<string, unknown>;

/** One request the receiver got, as the `pusher` library judged it. */
export interface ReceivedRequest {
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: string;
  /** `pusher.webhook(request).isValid()`: Content-Type exactly application/json, key, HMAC of the raw body. */
  readonly valid: boolean;
  readonly id: string;
  readonly timeMs: number;
  readonly events: ReceivedEvent[];
}

/** What the receiver answers a request: a status, or nothing at all (the connection is held open). */
export type Answer = number | 'never';

export interface WebhookReceiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Every event received so far, in order, once per delivery id (repeats of a retried delivery are left out). */
  events(): ReceivedEvent[];
  /** Resolves with the first event (from now on, or already received) matching, or rejects after `timeoutMs`. */
  waitFor(match: (event: ReceivedEvent) => boolean, what: string, timeoutMs?: number): Promise<ReceivedEvent>;
  /** Resolves once `count` requests have come. */
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
}

/**
 * A real HTTP server on port 0 that receives webhooks as an app's backend does: it validates each request
 * with the published `pusher` library, and answers as `answer` says for the n-th request (0-based), 200 by
 * default. Closed when the test ends, held requests included.
 */
export async function startReceiver(t: Test, answer: (n: number) => Answer = () => 200, app: { key: string; secret: string; id?: string } = DEMO_APP): Promise<WebhookReceiver> {
  const pusher = new Pusher({ appId: app.id ?? DEMO_APP.id, key: app.key, secret: app.secret, cluster: 'local' });
  const requests: ReceivedRequest[] = [];
  const waiters = new Set<() => void>();
  const held = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString();
      const valid = pusher.webhook({ headers: request.headers as Record<string, string>, rawBody }).isValid();
      const body = JSON.parse(rawBody) as { time_ms: number; events: ReceivedEvent[] };
      const status = answer(requests.length);
      requests.push({ headers: request.headers, rawBody, valid, id: String(request.headers['webhook-id']), timeMs: body.time_ms, events: body.events });
      for (const wake of waiters) wake();
      if (status === 'never') held.add(response);
      else response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const response of held) response.destroy();
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const events = () => {
    const seen = new Set<string>();
    return requests.filter((r) => !seen.has(r.id) && seen.add(r.id)).flatMap((r) => r.events);
  };
  const until = (done: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no webhook ${what} within ${timeoutMs} ms; got ${JSON.stringify(events())}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`,
    requests,
    events,
    async waitFor(match, what, timeoutMs = WAIT_MS) {
      await until(() => events().some(match), what, timeoutMs);
      return events().find(match) as ReceivedEvent;
    },
    waitForRequests: (count, timeoutMs = WAIT_MS) => until(() => requests.length >= count, `request #${count}`, timeoutMs),
  };
}
