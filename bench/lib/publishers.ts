// How a scenario publishes: inside the server process (in-process API) or over HTTP the way a backend
// would. Both stamp each payload with its publish time for the latency figures.
import { Agent, request } from 'node:http';
import { signRequestQuery } from '../../src/http/request-signature.js';
import { stampedPayload } from '../load/protocol.js';
import { BENCH_APP, EVENT_NAME, EVENTS_PATH } from '../servers/control.js';
import type { ServerHandle } from './processes.js';

export interface Publisher {
  /** Publishes `count` events round-robin over `channels` and resolves once all are accepted. */
  publish(channels: string[], count: number, payloadBytes: number): Promise<void>;
  close(): void;
}

export function inProcess(server: ServerHandle): Publisher {
  return { publish: (channels, count, payloadBytes) => server.publish(channels, count, payloadBytes), close: () => {} };
}

/** Requests in flight at once, as a backend with a small connection pool would send them. */
const HTTP_CONCURRENCY = 8;

/** Signed Pusher-style triggers over keep-alive HTTP. Servers that do not check signatures ignore them. */
export function overHttp(port: number): Publisher {
  const agent = new Agent({ keepAlive: true, maxSockets: HTTP_CONCURRENCY });
  const send = (channel: string, payloadBytes: number) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify({ name: EVENT_NAME, channel, data: stampedPayload(payloadBytes) });
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: `${EVENTS_PATH}?${signRequestQuery(BENCH_APP, 'POST', EVENTS_PATH, body)}`, agent }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`publish answered ${res.statusCode}`))));
      });
      req.setHeader('content-type', 'application/json');
      req.on('error', reject);
      req.end(body);
    });
  return {
    async publish(channels, count, payloadBytes) {
      let next = 0;
      const worker = async () => {
        while (next < count) {
          const i = next++;
          await send(channels[i % channels.length] as string, payloadBytes);
        }
      };
      await Promise.all(Array.from({ length: Math.min(HTTP_CONCURRENCY, count) }, worker));
    },
    close: () => agent.destroy(),
  };
}
