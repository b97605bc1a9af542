import { type IncomingHttpHeaders, request } from 'node:http';
import type { Test } from 'tap';
import { createGateway, type Gateway, type GatewayDependencies } from '../../src/gateway.js';
import type { GatewayOptions } from '../../src/config.js';
import { signRequestQuery } from '../../src/http/request-signature.js';
import { authorizeChannel } from '../../src/protocol/channel-auth.js';
import { createLogger } from '../../src/log.js';
import { TestClient } from './ws-client.js';

/**
 * A REST answer's JSON body as tests read it: its fields are unknown until a test narrows them. (The
 * broadcast endpoint answers an array; its tests say so with a cast.)
 */
export type JsonBody = Record<string, unknown>;

export const DEMO_APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' } as const;

export interface Running {
  readonly gateway: Gateway;
  readonly port: number;
  readonly wsUrl: (path?: string) => string;
  readonly http: string;
}

/** A real gateway on 127.0.0.1, port 0, closed when the test ends. Logs are silent unless LOG_LEVEL is set. */
export async function startGateway(t: Test, options: GatewayOptions & GatewayDependencies = {}): Promise<Running> {
  const gateway = createGateway({ logger: createLogger((process.env.LOG_LEVEL as never) ?? 'silent'), ...options });
  const port = await gateway.listen(0, '127.0.0.1');
  t.teardown(() => gateway.close());
  return {
    gateway,
    port,
    wsUrl: (path = `/app/${DEMO_APP.key}`) => `ws://127.0.0.1:${port}${path}`,
    http: `http://127.0.0.1:${port}`,
  };
}

/**
 * One HTTP request on its own connection (`Connection: close`), so no keep-alive socket outlives the
 * test and holds the process open after the gateway has closed.
 */
export async function httpRequest(url: string, method = 'GET', body = '', headers: Record<string, string> = {}): Promise<{ status: number; body: JsonBody }> {
  const { status, text } = await httpExchange(url, method, body, headers);
  return { status, body: text ? (JSON.parse(text) as JsonBody) : {} };
}

/** As httpRequest, with the answer's headers and its body as text (for answers that are not JSON). */
export function httpExchange(url: string, method = 'GET', body = '', headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: { connection: 'close', 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** GETs a REST path with query parameters, signed for the demo app. */
export function signedGet(running: Pick<Running, 'http'>, path: string, params: Record<string, string> = {}): Promise<{ status: number; body: JsonBody }> {
  return httpRequest(`${running.http}${path}?${signRequestQuery(DEMO_APP, 'GET', path, '', params)}`);
}

/** POSTs a body to a REST path of the running gateway, signed for `app` as the server libraries sign it. */
export function signedPost(
  running: Pick<Running, 'http'>,
  path: string,
  body: unknown,
  app: { key: string; secret: string } = DEMO_APP,
  params: Record<string, string> = {},
): Promise<{ status: number; body: JsonBody }> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const query = signRequestQuery(app, 'POST', path, text, params);
  return httpRequest(`${running.http}${path}?${query}`, 'POST', text);
}

/**
 * A client of the demo app subscribed to `channel` (authorized for private and presence channels, as `userId`
 * on presence ones), closed when the test ends.
 */
export async function subscribedClient(t: Test, running: Running, channel: string, userId?: string): Promise<TestClient> {
  const { client, socketId } = await TestClient.established(running.wsUrl());
  t.teardown(() => client.close());
  const channelData = userId === undefined ? undefined : JSON.stringify({ user_id: userId });
  const needsAuth = channel.startsWith('presence-') || channel.startsWith('private-');
  const auth = needsAuth ? authorizeChannel(DEMO_APP, socketId, channel, channelData) : {};
  client.send({ event: 'broadcastt:subscribe', data: { channel, ...auth } });
  await client.next('broadcastt_internal:subscription_succeeded');
  return client;
}
