import { request } from 'node:http';
import t, { type Test } from 'tap';
import { HttpErrors, WsErrors } from '../../src/errors.js';
import { channelId } from '../../src/protocol/channel-id.js';
import { signRequestQuery } from '../../src/http/request-signature.js';
import { DEMO_APP, type Running, signedGet, signedPost, startGateway } from '../helpers/gateway.js';
import { type Frame, TestClient, until } from '../helpers/ws-client.js';

const CONSUMER_KEY = 'app-consumer-key';
const BROADCASTS = `/apps/${DEMO_APP.id}/broadcasts`;
const RESPONSES = `/apps/${DEMO_APP.id}/responses`;
/** Long enough for every response of a test to arrive on a loaded CI machine; tests wait on the answer. */
const COLLECT_MS = '1500';

async function client(t: Test, running: Running, { key = DEMO_APP.key as string, query = '' } = {}) {
  const { client } = await TestClient.established(running.wsUrl(`/app/${key}${query}`));
  t.teardown(() => client.close());
  return client;
}

/** Subscribes and returns the wire name the server confirmed. */
async function subscribe(c: TestClient, data: Record<string, unknown>, prefix = 'broadcastt'): Promise<string> {
  c.send({ event: `${prefix}:subscribe`, data });
  const frame = await c.next((f) => f.event.endsWith(':subscription_succeeded') || f.event.endsWith(':subscription_error'));
  if (frame.event.endsWith(':subscription_error')) throw new Error(`subscription refused: ${JSON.stringify(frame)}`);
  return frame.channel as string;
}

const respond = (c: TestClient, event: Frame, payload: unknown, prefix = 'broadcastt') =>
  c.send({ event: `${prefix}:response`, data: { id: event.id, channel: event.channel, payload } });

t.test('a WebSocket broadcast reaches three listeners, itself included, and collects four responses', async (t) => {
  const running = await startGateway(t);
  const broadcaster = await client(t, running);
  const second = await client(t, running);
  const third = await client(t, running, { query: '?protocol=7' });
  await subscribe(broadcaster, { channel: 'lobby' });
  await subscribe(second, { channel: 'lobby' });
  await subscribe(third, { channel: 'lobby' }, 'pusher');

  broadcaster.send({ event: 'broadcastt:broadcast', data: { request_id: 'q1', channel: 'lobby', name: 'who', payload: { ask: 'name' }, timeout: COLLECT_MS } });
  const [own, atSecond, atThird] = await Promise.all([broadcaster, second, third].map((c) => c.next('who')));
  for (const event of [own, atSecond, atThird]) t.match(event, { event: 'who', channel: 'lobby', data: { ask: 'name' }, id: own?.id });
  respond(broadcaster, own as Frame, 'the broadcaster');
  respond(second, atSecond as Frame, 'second, once');
  respond(second, atSecond as Frame, 'second, twice');
  respond(third, atThird as Frame, { third: true }, 'pusher');

  const answer = await broadcaster.next('broadcastt:broadcast_responses');
  t.equal(answer.data.request_id, 'q1');
  t.same([...(answer.data.responses as unknown[])].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), [
    'second, once',
    'second, twice',
    'the broadcaster',
    { third: true },
  ]);
  t.equal(answer.data.dropped, 0);

  respond(second, atSecond as Frame, 'too late');
  broadcaster.send({ event: 'broadcastt:ping' });
  await broadcaster.next('broadcastt:pong');
  t.same(broadcaster.pending(), [], 'a late response produces nothing');
  t.equal(running.gateway.health().pendingBroadcasts, 0, 'nothing left waiting');
});

t.test('a REST broadcast collects four responses, over WebSocket and over REST', async (t) => {
  const running = await startGateway(t);
  const listeners = [await client(t, running), await client(t, running), await client(t, running, { query: '?protocol=7' })];
  const wire = channelId(DEMO_APP.id, 'devices', { consumer: true });
  for (const [i, listener] of listeners.entries()) t.equal(await subscribe(listener, { channel: 'devices', consumer: true }, i === 2 ? 'pusher' : 'broadcastt'), wire);

  const body = { name: 'identify', channel: { name: 'devices', consumer: true }, payload: { who: '?' } };
  const answer = signedPost(running, BROADCASTS, body, DEMO_APP, { timeout: COLLECT_MS });
  const events = await Promise.all(listeners.map((l) => l.next('identify')));
  for (const event of events) t.match(event, { channel: wire, data: { who: '?' }, id: /^[\w-]+\.[\w-]{21}$/ });
  const [first, second, third] = events as [Frame, Frame, Frame];
  respond(listeners[0] as TestClient, first, 1);
  respond(listeners[1] as TestClient, second, 2);
  respond(listeners[1] as TestClient, second, 3);
  t.same(await signedPost(running, RESPONSES, { id: third.id, channel: third.channel, payload: 4 }), { status: 200, body: {} });

  const { status, body: responses } = await answer;
  t.equal(status, 200);
  t.same([...(responses as unknown as number[])].sort(), [1, 2, 3, 4]);
});

t.test('REST broadcasts: no listeners is [], bad input is a clear 4xx, and every limit holds', async (t) => {
  const running = await startGateway(t, {
    apps: [{ ...DEMO_APP, broadcastTimeoutMs: 50, maxPendingBroadcasts: 1, maxEventDataBytes: 64 }],
  });
  t.same(await signedPost(running, BROADCASTS, { name: 'e', channel: 'empty' }, DEMO_APP, { timeout: 'undefined' }), { status: 200, body: [] }, 'timeout=undefined is the default');
  t.same(await signedPost(running, BROADCASTS, { name: 'e', channel: 'empty' }), { status: 200, body: [] }, 'no timeout is the default');

  const bad = async (body: unknown, status: number, error: RegExp, path = BROADCASTS) => {
    const answer = await signedPost(running, path, body);
    t.equal(answer.status, status, JSON.stringify(body));
    t.match(answer.body.error, error);
  };
  await bad({ channel: 'x' }, HttpErrors.BadRequest.status, /body\.name is required/);
  await bad({ name: 'e', channel: 'a b' }, HttpErrors.BadRequest.status, /channel/);
  await bad({ name: 'e', channel: channelId('other-app', 'x', { consumer: true }) }, HttpErrors.BadRequest.status, /another app/);
  await bad({ name: 'e', channel: 'x', payload: 'y'.repeat(100) }, HttpErrors.PayloadTooLarge.status, /body\.payload: .*over the limit of 64/);
  await bad({ channel: 'x', payload: 1 }, HttpErrors.BadRequest.status, /body\.id is required/, RESPONSES);
  await bad({ id: 'x', channel: 'x', payload: 'y'.repeat(100) }, HttpErrors.PayloadTooLarge.status, /over the limit of 64/, RESPONSES);
  t.same(await signedPost(running, RESPONSES, { id: 'unknown', channel: 'x' }), { status: 200, body: {} }, 'unknown ids are accepted and dropped');

  const held = signedPost(running, BROADCASTS, { name: 'e', channel: 'x' }, DEMO_APP, { timeout: COLLECT_MS });
  await until(() => running.gateway.health().pendingBroadcasts === 1, 'the first broadcast to be pending');
  await bad({ name: 'e', channel: 'x' }, HttpErrors.TooManyBroadcasts.status, /already has 1 broadcasts waiting/);
  t.same(await held, { status: 200, body: [] });
});

t.test('a REST broadcaster that hangs up releases its broadcast at once', async (t) => {
  const running = await startGateway(t);
  const listener = await client(t, running);
  await subscribe(listener, { channel: 'x' });
  const body = JSON.stringify({ name: 'e', channel: 'x' });
  const req = request(`${running.http}${BROADCASTS}?${signRequestQuery(DEMO_APP, 'POST', BROADCASTS, body, { timeout: '30000' })}`, {
    method: 'POST',
    agent: false,
  });
  req.on('error', () => {});
  req.end(body);
  await listener.next('e');
  t.equal(running.gateway.health().pendingBroadcasts, 1);
  req.destroy();
  await until(() => running.gateway.health().pendingBroadcasts === 0, 'the broadcast to be released');
});

t.test('a WebSocket broadcaster that disconnects releases its broadcasts', async (t) => {
  const running = await startGateway(t);
  const broadcaster = await client(t, running);
  await subscribe(broadcaster, { channel: 'x' });
  broadcaster.send({ event: 'broadcastt:broadcast', data: { request_id: 1, channel: 'x', name: 'e', timeout: 30000 } });
  await broadcaster.next('e');
  t.equal(running.gateway.health().pendingBroadcasts, 1);
  await broadcaster.close();
  await until(() => running.gateway.health().pendingBroadcasts === 0, 'the broadcast to be released');
});

t.test('gateway.broadcast collects responses in-process', async (t) => {
  const running = await startGateway(t);
  const listener = await client(t, running);
  await subscribe(listener, { channel: 'status', system: true });
  const result = running.gateway.broadcast(DEMO_APP.id, { name: 'status', system: true }, 'ping', { n: 1 }, { timeoutMs: 1500 });
  const event = await listener.next('ping');
  respond(listener, event, 'pong');
  t.same(await result, ['pong'], 'responders may answer on system channels');
});

t.test('the embedding API refuses with the errors REST answers, named by the catalogue', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, maxPendingBroadcasts: 1 }] });
  const { gateway } = running;
  await t.rejects(gateway.broadcast('nope', 'x', 'e', {}), { name: 'HttpError', kind: 'AppNotFound', status: HttpErrors.AppNotFound.status });
  t.throws(() => gateway.publish('nope', 'x', 'e', {}), { name: 'HttpError', kind: 'AppNotFound' });
  t.throws(() => gateway.publish(DEMO_APP.id, 'a b', 'e', {}), { name: 'HttpError', kind: 'BadRequest', message: /channel: Invalid channel name/ });
  await t.rejects(gateway.broadcast(DEMO_APP.id, 'x', 'e', 'y'.repeat(20_000)), { name: 'HttpError', kind: 'PayloadTooLarge' });
  const first = gateway.broadcast(DEMO_APP.id, 'x', 'e', {}, { timeoutMs: 50 });
  await t.rejects(gateway.broadcast(DEMO_APP.id, 'x', 'e', {}), { name: 'HttpError', kind: 'TooManyBroadcasts', status: HttpErrors.TooManyBroadcasts.status });
  t.same(await first, [], 'the first one is unaffected');
});

t.test('a consumer-key client may only use consumer channels, and keeps its connection', async (t) => {
  const running = await startGateway(t);
  const consumer = await client(t, running, { key: CONSUMER_KEY });
  consumer.send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
  t.match(await consumer.next('broadcastt:subscription_error'), { channel: 'news', data: { type: 'ConsumerChannelOnly', status: 403 } });
  consumer.send({ event: 'broadcastt:subscribe', data: { channel: 'news', system: true } });
  t.match(await consumer.next('broadcastt:subscription_error'), { data: { type: 'ConsumerChannelOnly' } });

  consumer.send({ event: 'broadcastt:broadcast', data: { request_id: 'r', channel: 'news', name: 'spam' } });
  t.match(await consumer.next('broadcastt:error'), { data: { code: WsErrors.ConsumerChannelOnly.code, request_id: 'r', message: /news is not a consumer channel/ } });
  consumer.send({ event: 'broadcastt:response', data: { id: 'x', channel: 'news', payload: 1 } });
  t.match(await consumer.next('broadcastt:error'), { data: { code: WsErrors.ConsumerChannelOnly.code } });

  const wire = await subscribe(consumer, { channel: 'offers', consumer: true });
  t.equal(wire, channelId(DEMO_APP.id, 'offers', { consumer: true }));
  consumer.send({ event: 'broadcastt:broadcast', data: { request_id: 'ok', channel: wire, name: 'hello', timeout: 0 } });
  t.match(await consumer.next('hello'), { channel: wire });
  t.match(await consumer.next('broadcastt:broadcast_responses'), { data: { request_id: 'ok', responses: [] } });
});

t.test('no client publishes on a system channel; a REST publish on a system+consumer channel reaches consumers', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, consumerKeys: [CONSUMER_KEY], clientEvents: true }] });
  const consumer = await client(t, running, { key: CONSUMER_KEY });
  const trusted = await client(t, running, { query: '?protocol=7' });
  const wire = await subscribe(consumer, { channel: 'updates', system: true, consumer: true });
  t.equal(await subscribe(trusted, { channel: wire }, 'pusher'), wire);

  trusted.send({ event: 'pusher:broadcast', data: { request_id: 5, channel: wire, name: 'update' } });
  t.match(await trusted.next('pusher:error'), { data: { code: WsErrors.SystemChannelReadOnly.code, request_id: 5 } });
  consumer.send({ event: 'broadcastt:broadcast', data: { request_id: 6, channel: { name: 'updates', system: true, consumer: true }, name: 'update' } });
  t.match(await consumer.next('broadcastt:error'), { data: { code: WsErrors.SystemChannelReadOnly.code, request_id: 6 } });

  t.same(await signedPost(running, `/apps/${DEMO_APP.id}/events`, { name: 'update', channel: wire, data: '{"v":2}' }), { status: 200, body: {} });
  for (const c of [consumer, trusted]) t.match(await c.next('update'), { channel: wire, data: { v: 2 } });
});

t.test('every form of a channel lands in one channel and every frame uses one canonical wire name', async (t) => {
  const running = await startGateway(t);
  let name = 'room';
  while (!/[-_]/.test(channelId(DEMO_APP.id, name, { consumer: true })) || !channelId(DEMO_APP.id, name, { consumer: true }).endsWith('=')) name += '?';
  const id = channelId(DEMO_APP.id, name, { consumer: true });
  const standard = id.replace(/-/g, '+').replace(/_/g, '/');
  const forms = [{ channel: id }, { channel: standard }, { channel: standard.replace(/=+$/, '') }, { channel: name, consumer: true }];
  const clients = await Promise.all(forms.map(() => client(t, running)));
  for (const [i, form] of forms.entries()) t.equal(await subscribe(clients[i] as TestClient, form), id, JSON.stringify(form));

  const channels = await signedGet(running, `/apps/${DEMO_APP.id}/channels`, { info: 'subscription_count' });
  t.same(channels.body, { channels: { [id]: { subscription_count: 4 } } });
  t.same((await signedGet(running, `/apps/${DEMO_APP.id}/channels/${id}`, { info: 'subscription_count' })).body, { occupied: true, subscription_count: 4 });

  t.equal((await signedPost(running, `/apps/${DEMO_APP.id}/events`, { name: 'hi', channels: [standard], data: '{}' })).status, 200);
  for (const c of clients) t.match(await c.next('hi'), { channel: id });
  t.equal(running.gateway.publish(DEMO_APP.id, standard.replace(/=+$/, ''), 'again', {}), 4, 'publish() canonicalises too');
  for (const c of clients) t.match(await c.next('again'), { channel: id });
});
