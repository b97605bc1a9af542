// A webhook receiver on loopback for the scenarios that run with webhooks configured: it answers 200 to every
// request at once and counts the events it got, so the report shows the webhooks really flowed.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BenchWebhookReceiver {
  readonly url: string;
  /** Events received since it started. */
  readonly events: number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<BenchWebhookReceiver> {
  let events = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      events += (JSON.parse(Buffer.concat(chunks).toString()) as { events: unknown[] }).events.length;
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`,
    get events() {
      return events;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
