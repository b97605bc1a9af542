import { randomUUID } from 'node:crypto';
import t from 'tap';
import { signRequestQuery } from '../../src/http/request-signature.js';
import { authorizeChannel } from '../../src/protocol/channel-auth.js';
import { WsErrors } from '../../src/errors.js';
import { DEMO_APP, httpExchange, signedPost, startGateway, subscribedClient } from '../helpers/gateway.js';
import { scrape, valueOf } from '../helpers/metrics.js';
import { testRedis } from '../helpers/redis.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import { TestClient, until } from '../helpers/ws-client.js';

const APP = { ...DEMO_APP, clientEvents: true, maxClientEventsPerSecond: 1 };
const app = { app_id: APP.id };

t.test('/metrics moves as a real client connects, subscribes, receives, is refused, is rate limited and disconnects', async (t) => {
  const running = await startGateway(t, { apps: [APP], metricsPort: 0 });
  const port = running.gateway.metricsPort() as number;
  t.ok(port > 0 && port !== running.port, 'the metrics have a port of their own');

  const before = await scrape(port);
  t.equal(valueOf(before, 'broadcastt_connected', app), 0);
  t.ok(valueOf(before, 'broadcastt_process_cpu_user_seconds_total') >= 0 && before.has('broadcastt_nodejs_heap_size_used_bytes'), 'Node process metrics are there, prefixed');
  t.equal(valueOf(before, 'broadcastt_cluster_store_up'), 1, 'a single node\'s store is always up');

  const { client, socketId } = await TestClient.established(running.wsUrl());
  t.teardown(() => client.close());
  const connected = await scrape(port);
  t.equal(valueOf(connected, 'broadcastt_connected', app), 1, 'connected');
  t.equal(valueOf(connected, 'broadcastt_new_connections_total', app), 1);

  const channel = 'private-room';
  client.send({ event: 'broadcastt:subscribe', data: { channel, ...authorizeChannel(DEMO_APP, socketId, channel) } });
  await client.next('broadcastt_internal:subscription_succeeded');
  const subscribed = await scrape(port);
  t.equal(valueOf(subscribed, 'broadcastt_ws_messages_received_total', app), 1, 'the subscribe was received');
  t.ok(valueOf(subscribed, 'broadcastt_socket_received_bytes', app) > 0);
  t.equal(valueOf(subscribed, 'broadcastt_ws_messages_sent_total', app), 2, 'connection_established and subscription_succeeded were sent');

  t.equal((await signedPost(running, `/apps/${APP.id}/events`, { name: 'news', channels: [channel], data: '{"n":1}' })).status, 200);
  await client.next((f) => f.event === 'news');
  const received = await scrape(port);
  t.equal(valueOf(received, 'broadcastt_publications_total', app), 1, 'one publication');
  t.equal(valueOf(received, 'broadcastt_publish_to_send_seconds_count', app), 1, 'its publish-to-send time');
  t.equal(valueOf(received, 'broadcastt_ws_messages_sent_total', app), 3, 'and its frame to the one recipient');
  t.ok(valueOf(received, 'broadcastt_socket_transmitted_bytes', app) > valueOf(subscribed, 'broadcastt_socket_transmitted_bytes', app));
  t.equal(valueOf(received, 'broadcastt_http_requests_total', { ...app, route: 'POST events', status: '200' }), 1, 'the REST call, by route and status');
  t.equal(valueOf(received, 'broadcastt_http_request_duration_seconds_count', { ...app, route: 'POST events' }), 1);
  t.equal(valueOf(received, 'broadcastt_http_calls_received_total', app), 1);

  client.send({ event: 'broadcastt:subscribe', data: { channel: 'private-other', auth: `${DEMO_APP.key}:0000` } });
  await client.next('broadcastt:subscription_error');
  t.equal(valueOf(await scrape(port), 'broadcastt_refusals_total', { ...app, source: 'subscribe', reason: 'AuthError' }), 1, 'the refusal, by source and reason');

  client.send({ event: 'client-typing', channel, data: {} });
  client.send({ event: 'client-typing', channel, data: {} });
  const limited = await client.next((f) => f.event === 'broadcastt:error' && f.data.code === WsErrors.OverLimit.code);
  t.match(limited.data.message, /maxClientEventsPerSecond/, 'the 4301 names the limit');
  const afterLimit = await scrape(port);
  t.equal(valueOf(afterLimit, 'broadcastt_rate_limited_total', { ...app, limit: 'maxClientEventsPerSecond' }), 1, 'rate limited');
  t.equal(valueOf(afterLimit, 'broadcastt_refusals_total', { ...app, source: 'frame', reason: 'OverLimit' }), 1);

  await client.close();
  await until(() => running.gateway.health().connections === 0, 'the server to see the close');
  const gone = await scrape(port);
  t.equal(valueOf(gone, 'broadcastt_connected', app), 0, 'the connection gauge is back to 0');
  t.equal(valueOf(gone, 'broadcastt_new_disconnections_total', app), 1, 'one disconnection, by close code');
  t.equal(valueOf(gone, 'broadcastt_new_disconnections_total', { ...app, code: '1005' }), 1, 'a close without a status');
});

t.test('a REST request over a limit is counted, and answered 429 with its headers', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, maxReadRequestsPerSecond: 1 }], metricsPort: 0 });
  const port = running.gateway.metricsPort() as number;
  const path = `/apps/${DEMO_APP.id}/channels`;
  const get = () => httpExchange(`${running.http}${path}?${signRequestQuery(DEMO_APP, 'GET', path, '', {})}`);
  t.equal((await get()).status, 200);
  const over = await get();
  t.equal(over.status, 429);
  t.match(over.headers, { 'retry-after': '1', 'x-ratelimit-limit': '1', 'x-ratelimit-remaining': '0' });
  const samples = await scrape(port);
  t.equal(valueOf(samples, 'broadcastt_rate_limited_total', { app_id: DEMO_APP.id, limit: 'maxReadRequestsPerSecond' }), 1);
  t.equal(valueOf(samples, 'broadcastt_http_requests_total', { app_id: DEMO_APP.id, route: 'GET channels', status: '429' }), 1);
  t.equal(valueOf(samples, 'broadcastt_refusals_total', { app_id: DEMO_APP.id, source: 'rest', reason: 'OverLimit' }), 1);
});

t.test('metricsPrefix names every metric, soketi_ included', async (t) => {
  const running = await startGateway(t, { metricsPort: 0, metricsPrefix: 'soketi_' });
  const { client } = await TestClient.established(running.wsUrl());
  t.teardown(() => client.close());
  const samples = await scrape(running.gateway.metricsPort() as number);
  t.equal(valueOf(samples, 'soketi_connected', { app_id: DEMO_APP.id }), 1);
  t.equal([...samples.keys()].filter((series) => !series.startsWith('soketi_')).length, 0, 'no metric without the prefix');
});

t.test('metrics are off by default: no port, nothing counted', async (t) => {
  const running = await startGateway(t);
  t.equal(running.gateway.metricsPort(), undefined);
});

t.test('webhook deliveries are counted by outcome with their time, and the queue depth goes back to 0', async (t) => {
  const receiver = await startReceiver(t);
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, webhooks: [{ url: receiver.url, events: ['channel_occupied'] }], webhookBatchDelayMs: 10 }], metricsPort: 0 });
  await subscribedClient(t, running, 'watched');
  await receiver.waitFor((event) => event.name === 'channel_occupied', 'channel_occupied');
  const port = running.gateway.metricsPort() as number;
  // The receiver has the request before the gateway has its answer: wait until the attempt is counted.
  await until(async () => valueOf(await scrape(port), 'broadcastt_webhook_deliveries_total', { ...app, outcome: 'delivered' }) === 1, 'the delivery to be counted');
  const samples = await scrape(port);
  t.equal(valueOf(samples, 'broadcastt_webhook_delivery_duration_seconds_count', app), 1, 'its time');
  t.equal(valueOf(samples, 'broadcastt_webhook_queue_depth', app), 0, 'nothing left queued');
});

t.test('in a cluster, messages to and from the other nodes are counted and the store is up', async (t) => {
  const redis = await testRedis(t);
  const redisPrefix = `metrics-${randomUUID()}`;
  const options = { redis, redisPrefix, metricsPort: 0 };
  const [a, b] = [await startGateway(t, options), await startGateway(t, options)];
  const subscriber = await subscribedClient(t, b, 'across');
  // B's interest in the channel reaches A through Redis: publish until B's subscriber has one.
  await until(async () => {
    a.gateway.publish(DEMO_APP.id, 'across', 'hello', {});
    return subscriber.pending().some((f) => f.event === 'hello') || subscriber.received.some((f) => f.event === 'hello');
  }, 'a publication on A to reach B');
  const [onA, onB] = [await scrape(a.gateway.metricsPort() as number), await scrape(b.gateway.metricsPort() as number)];
  t.ok(valueOf(onA, 'broadcastt_cluster_messages_sent_total', { ...app, kind: 'publish' }) >= 1, 'A sent the publication');
  t.ok(valueOf(onB, 'broadcastt_cluster_messages_received_total', { ...app, kind: 'publish' }) >= 1, 'B received it');
  t.equal(valueOf(onA, 'broadcastt_cluster_store_up'), 1);
  t.equal(valueOf(onB, 'broadcastt_publications_total', app) >= 1, true, 'and delivered it');
});
