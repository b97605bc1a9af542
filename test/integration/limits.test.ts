import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { signRequestQuery } from '../../src/http/request-signature.js';
import { WsErrors, SubscriptionErrors } from '../../src/errors.js';
import { runCli, waitFor } from '../helpers/cli.js';
import { DEMO_APP, httpExchange, httpRequest, type Running, startGateway, subscribedClient } from '../helpers/gateway.js';
import { pusherClient } from '../helpers/pusher.js';
import { testRedis } from '../helpers/redis.js';
import { TestClient, until } from '../helpers/ws-client.js';

/** A signed POST of a trigger, with the answer's headers. */
function trigger(http: string, channels: string[], name = 'tick') {
  const path = `/apps/${DEMO_APP.id}/events`;
  const body = JSON.stringify({ name, channels, data: '{}' });
  return httpExchange(`${http}${path}?${signRequestQuery(DEMO_APP, 'POST', path, body, {})}`, 'POST', body);
}

const isOverLimit = (f: { event: string; data: Record<string, unknown> }) => f.event === 'broadcastt:error' && f.data.code === WsErrors.OverLimit.code;

t.test('backend events: an event to N channels costs N, and the request over the share is refused whole with 429', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, maxBackendEventsPerSecond: 3 }] });
  const client = await subscribedClient(t, running, 'a');
  t.equal((await trigger(running.http, ['a', 'b'], 'first')).status, 200, 'two events');
  const over = await trigger(running.http, ['a', 'b'], 'refused');
  t.equal(over.status, 429, 'two more do not fit in the one left');
  t.match(over.headers, { 'retry-after': '1', 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': '1' });
  t.match(JSON.parse(over.text), { error: /maxBackendEventsPerSecond/ }, 'the answer names the limit');
  t.equal((await trigger(running.http, ['a'], 'third')).status, 200, 'the one left is still there');
  t.equal((await client.next((f) => !f.event.includes(':'))).event, 'first');
  t.equal((await client.next((f) => !f.event.includes(':'))).event, 'third', 'nothing of the refused request was published');
});

t.test('REST reads per second: 429 with the headers past the share', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, maxReadRequestsPerSecond: 2 }] });
  const path = `/apps/${DEMO_APP.id}/channels/a`;
  const read = () => httpExchange(`${running.http}${path}?${signRequestQuery(DEMO_APP, 'GET', path, '', {})}`);
  t.equal((await read()).status, 200);
  t.equal((await read()).status, 200);
  const over = await read();
  t.equal(over.status, 429);
  t.match(over.headers, { 'retry-after': '1', 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '0' });
  const unsigned = await httpExchange(`${running.http}${path}`);
  t.equal(unsigned.status, 401, 'a request that is not the app\'s spends nothing and is refused for its signature');
});

t.test('client events per second: a non-fatal 4301 naming the limit', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, clientEvents: true, maxClientEventsPerSecond: 2 }] });
  const client = await subscribedClient(t, running, 'private-chat');
  for (let i = 0; i < 3; i++) client.send({ event: 'client-typing', channel: 'private-chat', data: {} });
  const error = await client.next(isOverLimit);
  t.match(error.data, { message: /maxClientEventsPerSecond: at most 2 client events per second/, channel: 'private-chat' });
  client.send({ event: 'broadcastt:ping', data: {} });
  await client.next('broadcastt:pong');
  t.equal(running.gateway.health().connections, 1, 'the connection stays');
});

t.test('subscriptions per connection: 4301 naming the limit, then the channel\'s subscription_error', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, maxChannelsPerConnection: 1 }] });
  const client = await subscribedClient(t, running, 'one');
  client.send({ event: 'broadcastt:subscribe', data: { channel: 'two' } });
  t.match((await client.next(isOverLimit)).data, { message: /maxChannelsPerConnection/, channel: 'two' });
  const refused = await client.next('broadcastt:subscription_error');
  t.match(refused, { channel: 'two', data: { type: 'TooManyChannels', status: SubscriptionErrors.TooManyChannels.status } });
});

t.test('channels per app: a new channel past the limit is refused, an occupied one may still be joined', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, maxChannels: 1 }] });
  await subscribedClient(t, running, 'only');
  const { client } = await TestClient.established(running.wsUrl());
  t.teardown(() => client.close());
  client.send({ event: 'broadcastt:subscribe', data: { channel: 'another' } });
  t.match((await client.next(isOverLimit)).data, { message: /maxChannels: at most 1 occupied channels/, channel: 'another' });
  t.match(await client.next('broadcastt:subscription_error'), { channel: 'another', data: { type: 'OverLimit', status: SubscriptionErrors.OverLimit.status } });
  client.send({ event: 'broadcastt:subscribe', data: { channel: 'only' } });
  await client.next('broadcastt_internal:subscription_succeeded');
});

t.test('pusher-js settles a channel refused for a limit: its pusher:subscription_error fires with the status', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, maxChannels: 1 }] });
  await subscribedClient(t, running, 'only');
  const pusher = pusherClient(t, running);
  const refused = new Promise<{ status: number; type: string }>((resolve) => pusher.subscribe('another').bind('pusher:subscription_error', resolve));
  const errors = new Promise<{ data: { code: number } }>((resolve) => pusher.connection.bind('error', resolve));
  t.match(await refused, { status: SubscriptionErrors.OverLimit.status, type: 'OverLimit' });
  t.match(await errors, { data: { code: WsErrors.OverLimit.code } }, 'and the 4301 reaches the connection\'s error handlers');
  t.equal(pusher.connection.state, 'connected', 'the connection stays up');
});

/** A gateway node as users run it, in a process of its own, joined to the others through `redis`. */
async function node(t: Test, config: string, redis: string, prefix: string): Promise<Pick<Running, 'http'>> {
  const gateway = runCli(['--config', config, '--port', '0', '--host', '127.0.0.1', '--log-level', 'error', '--redis', redis, '--redis-prefix', prefix, '--redis-heartbeat-ms', '200', '--redis-node-timeout-ms', '1000']);
  t.teardown(() => gateway.kill('SIGKILL'));
  const port = (await waitFor(gateway.stdout, /listening on 127\.0\.0\.1:(\d+)/))[1] as string;
  return { http: `http://127.0.0.1:${port}` };
}

t.test('two gateway processes on Redis hold the app\'s combined rate to its limit (each node its share)', async (t) => {
  const LIMIT = 20;
  const SECONDS = 3;
  const redis = await testRedis(t);
  const dir = await mkdtemp(join(tmpdir(), 'limits-'));
  const config = join(dir, 'gateway.json');
  await writeFile(config, JSON.stringify({ apps: [{ ...DEMO_APP, maxBackendEventsPerSecond: LIMIT }] }));
  const prefix = `limits-${randomUUID()}`;
  const nodes = await Promise.all([node(t, config, redis, prefix), node(t, config, redis, prefix)]);
  for (const { http } of nodes) await until(async () => (await httpRequest(`${http}/`)).body.clusterNodes === 2, 'each node to count both');

  // Four senders, two per node, as fast as each answer comes back, for SECONDS.
  let accepted = 0;
  let refused = 0;
  const started = Date.now();
  const sender = async (http: string) => {
    while (Date.now() - started < SECONDS * 1000) {
      const { status } = await trigger(http, ['load']);
      if (status === 200) accepted++;
      else if (status === 429) refused++;
      else throw new Error(`unexpected status ${status}`);
    }
  };
  await Promise.all(nodes.flatMap(({ http }) => [sender(http), sender(http)]));
  const elapsed = (Date.now() - started) / 1000;
  // The share rule's error: each node takes ceil(LIMIT / 2) per one-second window of its own, so in `elapsed`
  // seconds the pair takes at most 2 × ceil(LIMIT / 2) × (windows begun) — the limit plus the rounding, per
  // window, plus one window for the unaligned edges. Without sharing it would be twice that.
  const windows = Math.floor(elapsed) + 1;
  const bound = 2 * Math.ceil(LIMIT / 2) * windows;
  t.ok(refused > 0, `the senders went over the limit (${refused} refused)`);
  t.ok(accepted <= bound, `${accepted} accepted in ${elapsed.toFixed(2)} s, at most ${bound}`);
  t.ok(accepted >= LIMIT * Math.floor(elapsed), `${accepted} accepted: each node gave its share, not less`);
});
