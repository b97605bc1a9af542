import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { authorizeChannel } from '../../src/protocol/channel-auth.js';
import type { WebhookTarget } from '../../src/apps/app-registry.js';
import { runCli, waitFor } from '../helpers/cli.js';
import { DEMO_APP, httpRequest, type Running, startGateway } from '../helpers/gateway.js';
import { type ReceivedEvent, type WebhookReceiver, startReceiver } from '../helpers/webhook-receiver.js';
import { TestClient, until } from '../helpers/ws-client.js';

/** Short timings through the settings users have, so each test takes about a second. */
const GRACE_MS = 300;
const FAST = { webhookGraceMs: GRACE_MS, webhookBatchDelayMs: 20, webhookRetryBaseMs: 50 };

async function gatewayWith(t: Test, webhooks: Array<Partial<WebhookTarget> & { url: string }>, app: Record<string, unknown> = {}): Promise<Running> {
  return startGateway(t, { apps: [{ ...DEMO_APP, clientEvents: true, ...FAST, ...app, webhooks }] });
}

/** A client subscribed to `channel` (private and presence ones signed as the app's auth endpoint would). */
async function subscriber(t: Test, running: Running, channel: string, userId?: string) {
  const { client, socketId } = await TestClient.established(running.wsUrl());
  t.teardown(() => client.close());
  const channelData = userId === undefined ? undefined : JSON.stringify({ user_id: userId, user_info: { name: userId } });
  const auth = channel.startsWith('private-') || channel.startsWith('presence-') ? authorizeChannel(DEMO_APP, socketId, channel, channelData) : {};
  client.send({ event: 'broadcastt:subscribe', data: { channel, ...auth } });
  await client.next('broadcastt_internal:subscription_succeeded');
  return { client, socketId };
}

const named = (name: string, channel: string, extra: Record<string, unknown> = {}) => (event: ReceivedEvent) =>
  event.name === name && event.channel === channel && Object.entries(extra).every(([key, value]) => event[key] === value);
const count = (receiver: WebhookReceiver, name: string, channel: string) => receiver.events().filter(named(name, channel)).length;

/** Every delivery the gateway handed to its queue has been answered. */
async function queueDrained(running: Running): Promise<void> {
  await until(() => running.gateway.health().webhooks?.queued === 0, 'the webhook queue to drain');
}

t.test('each event reaches a real receiver in Pusher’s format, valid for the pusher library', async (t) => {
  const receiver = await startReceiver(t);
  const running = await gatewayWith(t, [{ url: receiver.url }]);

  const news = await subscriber(t, running, 'news');
  t.same(await receiver.waitFor(named('channel_occupied', 'news'), 'channel_occupied'), { name: 'channel_occupied', channel: 'news' });

  await subscriber(t, running, 'presence-room', 'ann');
  const bob = await subscriber(t, running, 'presence-room', 'bob');
  t.same(await receiver.waitFor(named('member_added', 'presence-room', { user_id: 'bob' }), 'member_added'), { name: 'member_added', channel: 'presence-room', user_id: 'bob' });
  t.equal(count(receiver, 'channel_occupied', 'presence-room'), 1, 'the presence channel was occupied once');

  bob.client.send({ event: 'client-wave', channel: 'presence-room', data: { hand: 'left' } });
  t.same(await receiver.waitFor(named('client_event', 'presence-room'), 'client_event on presence'), {
    name: 'client_event',
    channel: 'presence-room',
    event: 'client-wave',
    data: '{"hand":"left"}',
    socket_id: bob.socketId,
    user_id: 'bob',
  });
  const secret = await subscriber(t, running, 'private-chat');
  await subscriber(t, running, 'private-chat');
  secret.client.send({ event: 'client-psst', channel: 'private-chat', data: '"quiet"' });
  t.same(await receiver.waitFor(named('client_event', 'private-chat'), 'client_event on private'), { name: 'client_event', channel: 'private-chat', event: 'client-psst', data: '"quiet"', socket_id: secret.socketId }, 'no user_id outside presence');

  const leftAt = Date.now();
  await bob.client.close();
  t.same(await receiver.waitFor(named('member_removed', 'presence-room'), 'member_removed'), { name: 'member_removed', channel: 'presence-room', user_id: 'bob' });
  t.ok(Date.now() - leftAt >= GRACE_MS, `member_removed waited the grace period (${Date.now() - leftAt} ms)`);

  const unsubscribedAt = Date.now();
  news.client.send({ event: 'broadcastt:unsubscribe', data: { channel: 'news' } });
  await receiver.waitFor(named('channel_vacated', 'news'), 'channel_vacated');
  t.ok(Date.now() - unsubscribedAt >= GRACE_MS, `channel_vacated waited the grace period (${Date.now() - unsubscribedAt} ms)`);

  t.ok(receiver.requests.length > 0 && receiver.requests.every((r) => r.valid), `all ${receiver.requests.length} requests valid for pusher.webhook().isValid()`);
  for (const request of receiver.requests) {
    t.equal(request.headers['content-type'], 'application/json', 'Content-Type exactly application/json');
    t.equal(request.headers['x-pusher-key'], DEMO_APP.key);
    t.match(request.id, /^[\w-]{21}$/, 'a Webhook-Id for deduplication');
    t.ok(Math.abs(Date.now() - request.timeMs) < 10_000, 'time_ms is when the request was made');
  }
  t.equal(new Set(receiver.requests.map((r) => r.id)).size, receiver.requests.length, 'each request its own id');
});

t.test('a quick resubscribe cancels the grace period: no channel_vacated, no second channel_occupied', async (t) => {
  const receiver = await startReceiver(t);
  const running = await gatewayWith(t, [{ url: receiver.url }]);
  const news = await subscriber(t, running, 'news');
  const sentinel = await subscriber(t, running, 'sentinel');
  await receiver.waitFor(named('channel_occupied', 'sentinel'), 'occupied');

  news.client.send({ event: 'broadcastt:unsubscribe', data: { channel: 'news' } });
  news.client.send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
  await news.client.next('broadcastt_internal:subscription_succeeded');
  // The sentinel's grace starts after news's would have: once it is out, news's would be too.
  await sentinel.client.close();
  await receiver.waitFor(named('channel_vacated', 'sentinel'), 'the sentinel’s channel_vacated');
  await queueDrained(running);
  t.equal(count(receiver, 'channel_vacated', 'news'), 0, 'no channel_vacated');
  t.equal(count(receiver, 'channel_occupied', 'news'), 1, 'channel_occupied once');

  await news.client.close();
  await receiver.waitFor(named('channel_vacated', 'news'), 'channel_vacated once it really is empty');
});

t.test('a member back within the grace period sends neither member_removed nor a second member_added', async (t) => {
  const receiver = await startReceiver(t);
  const running = await gatewayWith(t, [{ url: receiver.url }]);
  await subscriber(t, running, 'presence-room', 'observer');
  const ann = await subscriber(t, running, 'presence-room', 'ann');
  const zed = await subscriber(t, running, 'presence-room', 'zed');
  await receiver.waitFor(named('member_added', 'presence-room', { user_id: 'zed' }), 'member_added');

  await ann.client.close(); // a page reload
  await subscriber(t, running, 'presence-room', 'ann');
  await zed.client.close();
  await receiver.waitFor(named('member_removed', 'presence-room', { user_id: 'zed' }), 'the sentinel’s member_removed');
  await queueDrained(running);
  t.equal(receiver.events().filter(named('member_removed', 'presence-room', { user_id: 'ann' })).length, 0, 'no member_removed for ann');
  t.equal(receiver.events().filter(named('member_added', 'presence-room', { user_id: 'ann' })).length, 1, 'member_added for ann once');
});

t.test('each URL gets the events it asked for, on the channels its filter selects, in batches of at most webhookBatchEvents', async (t) => {
  const [all, clientOnPresence, rooms] = [await startReceiver(t), await startReceiver(t), await startReceiver(t)];
  const running = await gatewayWith(
    t,
    [
      { url: all.url },
      { url: clientOnPresence.url, events: ['client_event'], filter: { channelPrefix: 'presence-' } },
      { url: rooms.url, events: ['channel_occupied', 'member_added'], filter: { channelSuffix: '-room' } },
    ],
    { webhookBatchEvents: 3, webhookBatchDelayMs: 200 },
  );
  const bob = await subscriber(t, running, 'presence-room', 'bob');
  await subscriber(t, running, 'presence-room', 'ann');
  for (const channel of ['a', 'b', 'c', 'd']) await subscriber(t, running, channel);
  bob.client.send({ event: 'client-hi', channel: 'presence-room', data: {} });
  await all.waitFor(named('client_event', 'presence-room'), 'client_event');
  await clientOnPresence.waitFor(named('client_event', 'presence-room'), 'client_event');
  await rooms.waitFor(named('member_added', 'presence-room', { user_id: 'ann' }), 'member_added');
  await queueDrained(running);

  t.same(all.events().map((e) => `${e.name} ${e.channel}`).sort(), [
    'channel_occupied a',
    'channel_occupied b',
    'channel_occupied c',
    'channel_occupied d',
    'channel_occupied presence-room',
    'client_event presence-room',
    'member_added presence-room',
    'member_added presence-room',
  ]);
  t.ok(all.requests.every((r) => r.events.length <= 3), `batches: ${all.requests.map((r) => r.events.length).join(', ')}`);
  t.ok(all.requests.some((r) => r.events.length > 1), 'events share requests');
  t.same(clientOnPresence.events().map((e) => e.name), ['client_event'], 'only client events, and the signed body holds only them');
  t.same(rooms.events().map((e) => `${e.name} ${e.channel}`).sort(), ['channel_occupied presence-room', 'member_added presence-room', 'member_added presence-room']);
  t.ok([all, clientOnPresence, rooms].every((r) => r.requests.every((request) => request.valid)), 'every request valid');
});

t.test('a receiver that answers 500 twice and then 200 gets the same request on the third try', async (t) => {
  const receiver = await startReceiver(t, (n) => (n < 2 ? 500 : 200));
  const running = await gatewayWith(t, [{ url: receiver.url }]);
  await subscriber(t, running, 'news');
  await receiver.waitForRequests(3);
  await queueDrained(running);
  const [first, second, third] = receiver.requests;
  t.equal(receiver.requests.length, 3, 'no fourth attempt');
  t.equal(second?.id, first?.id, 'the retry carries the same Webhook-Id');
  t.equal(third?.rawBody, first?.rawBody, 'and the same body, so the same signature and time_ms');
  t.ok(receiver.requests.every((r) => r.valid));
  t.same(receiver.events(), [{ name: 'channel_occupied', channel: 'news' }], 'one event, deduplicated by id');
  t.match(running.gateway.health().webhooks, { queued: 0, delivered: 1, dropped: 0, failed: 0 });
});

t.test('a receiver that fails for longer than webhookRetryForMs: the request is given up and counted', async (t) => {
  const receiver = await startReceiver(t, () => 503);
  const running = await gatewayWith(t, [{ url: receiver.url }], { webhookRetryBaseMs: 20, webhookRetryForMs: 100 });
  await subscriber(t, running, 'news');
  await until(() => running.gateway.health().webhooks?.failed === 1, 'the delivery to be given up');
  t.ok(receiver.requests.length >= 2 && receiver.requests.length <= 4, `attempted ${receiver.requests.length} times within 100 ms of backoff from 20 ms`);
  t.match(running.gateway.health().webhooks, { queued: 0, delivered: 0, failed: 1 });
});

t.test('a receiver that never answers: the queue stays at webhookMaxQueued, the rest is dropped and counted, memory stays flat', async (t) => {
  const receiver = await startReceiver(t, () => 'never');
  const maxQueued = 50;
  const dir = await mkdtemp(join(tmpdir(), 'gateway-webhooks-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'gateway.json');
  const app = { ...DEMO_APP, clientEvents: true, maxClientEventsPerSecond: 1_000_000, webhooks: [{ url: receiver.url, events: ['client_event'] }], webhookBatchEvents: 1, webhookTimeoutMs: 60_000, webhookMaxQueued: maxQueued };
  await writeFile(config, JSON.stringify({ apps: [app] }));
  const gateway = runCli(['--config', config, '--port', '0', '--host', '127.0.0.1', '--log-level', 'error']);
  t.teardown(() => gateway.kill('SIGKILL'));
  const port = (await waitFor(gateway.stdout, /listening on 127\.0\.0\.1:(\d+)/))[1] as string;
  const running = { wsUrl: () => `ws://127.0.0.1:${port}/app/${DEMO_APP.key}` } as Running;
  const health = async () => (await httpRequest(`http://127.0.0.1:${port}/`)).body.webhooks as { queued: number; dropped: number };
  const rssMB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${gateway.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

  const { client } = await subscriber(t, running, 'private-flood');
  const data = { pad: 'x'.repeat(4000) };
  const flood = async (events: number) => {
    for (let i = 0; i < events; i++) client.send({ event: 'client-flood', channel: 'private-flood', data });
    client.send({ event: 'broadcastt:ping', data: {} });
    await client.next('broadcastt:pong', 30_000); // frames are handled in order: every event before it was
  };
  await flood(2000); // warm-up: JIT, buffers and heap at their working size
  const before = rssMB();
  const events = 12_000;
  await flood(events);
  const after = rssMB();
  const { queued, dropped } = await health();
  t.ok(queued <= maxQueued, `the node holds ${queued} deliveries (at most ${maxQueued})`);
  t.ok(dropped >= 2000 + events - maxQueued, `the rest were dropped and counted: ${dropped}`);
  t.ok(receiver.requests.length <= 8, `in flight to the silent receiver: ${receiver.requests.length} (the per-app concurrency)`);
  t.ok(after - before < 24, `RSS grew ${(after - before).toFixed(1)} MB while ${events} webhook events of 4 KB (${((events * 4) / 1024).toFixed(0)} MB) went to a receiver that never answers`);
});
