import t from 'tap';
import { WsErrors } from '../../src/errors.js';
import { authorizeChannel } from '../../src/protocol/channel-auth.js';
import { channelId } from '../../src/protocol/channel-id.js';
import { makeNode, makeSession, type SessionFixture, type SessionOptions } from '../helpers/fake-connection.js';

/** Clients of these tests may broadcast on any channel but system ones: EXP's trust model (D9a). */
const EXP_TRUST = { clientBroadcasts: 'all' } as const;

/** Sessions on one gateway node of an app that trusts its clients' broadcasts. */
function network(count: number, options: SessionOptions = {}): SessionFixture[] {
  options = { ...options, app: { ...EXP_TRUST, ...options.app } };
  const on = makeNode(options);
  return Array.from({ length: count }, (_, i) => makeSession({ ...options, socketId: `1.${i + 1}`, on }));
}

/** A name whose ID differs between the base64 alphabets and is padded, so every form is really different. */
function awkwardName(appId: string): string {
  for (let i = 0; ; i++) {
    const name = `lobby${'?'.repeat(i % 4)}${'>'.repeat(i >> 2)}`;
    const id = channelId(appId, name, { consumer: true });
    if (/[-_]/.test(id) && id.endsWith('=')) return name;
  }
}

const consumerLobby = (appId: string) => channelId(appId, 'lobby', { consumer: true });

t.test('subscribing by ID, by standard or unpadded ID and by name + flags is one channel under one name', async (t) => {
  const sessions = network(5);
  const [first] = sessions;
  const { app, index } = first as SessionFixture;
  const name = awkwardName(app.id);
  const id = channelId(app.id, name, { consumer: true });
  const standard = id.replace(/-/g, '+').replace(/_/g, '/');
  const refs = [{ channel: id }, { channel: standard }, { channel: id.replace(/=+$/, '') }, { channel: standard.replace(/=+$/, '') }, { channel: name, consumer: true }];
  sessions.forEach((s, i) => s.send({ event: 'broadcastt:subscribe', data: refs[i] }));
  for (const s of sessions) t.same(s.connection.last(), { event: 'broadcastt_internal:subscription_succeeded', channel: id, data: {} });
  t.equal(index.subscriberCount(app.id, id), 5);
  t.same([...index.channelsOf(app.id)], [[id, 5]]);
  sessions[4]?.send({ event: 'broadcastt:unsubscribe', data: { channel: standard } });
  sessions[3]?.send({ event: 'broadcastt:unsubscribe', data: { channel: name, consumer: true } });
  t.equal(index.subscriberCount(app.id, id), 3, 'unsubscribe resolves the same way');
});

t.test('private and presence rules apply to the name inside the ID; auth signs the canonical wire name', async (t) => {
  const { send, connection, app, session } = makeSession();
  const wire = channelId(app.id, 'private-room', { consumer: true });
  send({ event: 'broadcastt:subscribe', data: { channel: 'private-room', consumer: true } });
  t.match(connection.last(), { event: 'broadcastt:subscription_error', channel: wire, data: { type: 'AuthError', status: 401 } });
  const { auth } = authorizeChannel(app, session.socketId, wire);
  send({ event: 'broadcastt:subscribe', data: { channel: 'private-room', consumer: true, auth } });
  t.match(connection.last(), { event: 'broadcastt_internal:subscription_succeeded', channel: wire });
});

t.test('a consumer-key connection may only use consumer channels; the connection stays', async (t) => {
  const { send, connection, app } = makeSession({ role: 'consumer', app: { clientEvents: true } });
  send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
  t.match(connection.last(), {
    event: 'broadcastt:subscription_error',
    channel: 'news',
    data: { type: 'ConsumerChannelOnly', status: 403, error: /consumer key may only subscribe to consumer channels: news is not a consumer channel/ },
  });
  send({ event: 'broadcastt:subscribe', data: { channel: 'news', system: true } });
  t.match(connection.last(), { data: { type: 'ConsumerChannelOnly' } }, 'system alone is not consumer');
  send({ event: 'broadcastt:subscribe', data: { channel: 'news', system: true, consumer: true } });
  t.match(connection.last(), { event: 'broadcastt_internal:subscription_succeeded', channel: channelId(app.id, 'news', { system: true, consumer: true }) });

  connection.clear();
  send({ event: 'broadcastt:broadcast', data: { request_id: 'r1', channel: 'news', name: 'hello' } });
  send({ event: 'client-x', channel: 'private-news', data: {} });
  send({ event: 'broadcastt:response', data: { id: 'whatever', channel: 'news' } });
  t.same(
    connection.decoded().map((f) => f.data),
    [
      { code: WsErrors.ConsumerChannelOnly.code, message: 'Connections made with a consumer key may only use consumer channels: news is not a consumer channel', request_id: 'r1', channel: 'news' },
      { code: WsErrors.ConsumerChannelOnly.code, message: 'Connections made with a consumer key may only use consumer channels: private-news is not a consumer channel', channel: 'private-news' },
      { code: WsErrors.ConsumerChannelOnly.code, message: 'Connections made with a consumer key may only use consumer channels: news is not a consumer channel', channel: 'news' },
    ],
    'each refusal names the channel the frame named',
  );
  connection.clear();
  send({ event: 'broadcastt:subscribe', data: { channel: 'lobby', consumer: true } });
  send({ event: 'broadcastt:broadcast', data: { request_id: 'r2', channel: consumerLobby(app.id), name: 'hello' } });
  t.match(connection.last(), { event: 'hello', channel: consumerLobby(app.id) }, 'consumer channels are fine');
  t.notOk(connection.closed, 'never closed');
});

t.test('no client publishes on a system channel: client events and broadcasts are refused', async (t) => {
  const { send, connection, app, session } = makeSession({ app: { clientEvents: true } });
  const wire = channelId(app.id, 'private-status', { system: true });
  send({ event: 'broadcastt:subscribe', data: { channel: wire, auth: authorizeChannel(app, session.socketId, wire).auth } });
  t.match(connection.last(), { event: 'broadcastt_internal:subscription_succeeded', channel: wire }, 'listening is fine');
  connection.clear();
  send({ event: 'client-typing', channel: wire, data: {} });
  send({ event: 'broadcastt:broadcast', data: { request_id: 9, channel: { name: 'private-status', system: true }, name: 'hello' } });
  t.same(
    connection.decoded().map((f) => f.data),
    [
      { code: WsErrors.SystemChannelReadOnly.code, message: `Clients may not publish on system channels; only the signed REST API does: ${wire} ("private-status") is a system channel`, channel: wire },
      { code: WsErrors.SystemChannelReadOnly.code, message: `Clients may not publish on system channels; only the signed REST API does: ${wire} ("private-status") is a system channel`, request_id: 9, channel: 'private-status' },
    ],
  );
});

t.test('a broadcast reaches every subscriber, the sender included, and collects every response', async (t) => {
  const [sender, a, b] = network(3) as [SessionFixture, SessionFixture, SessionFixture];
  for (const s of [sender, a, b]) s.send({ event: 'broadcastt:subscribe', data: { channel: 'lobby' } });
  sender.send({ event: 'broadcastt:broadcast', data: { request_id: 'q', channel: 'lobby', name: 'who', payload: { n: 1 }, timeout: 60_000 } });
  const events = [sender, a, b].map((s) => s.connection.frames().at(-1) as { event: string; channel: string; data: string; id: string });
  for (const event of events) t.match(event, { event: 'who', channel: 'lobby', data: '{"n":1}', id: /^node-a\.[\w-]{21}$/ });
  const id = events[0]?.id;
  t.ok(events.every((e) => e.id === id), 'one id for everyone');

  sender.send({ event: 'broadcastt:response', data: { id, channel: 'lobby', payload: 'me' } });
  a.send({ event: 'broadcastt:response', data: { id, channel: 'lobby', payload: 1 } });
  a.send({ event: 'broadcastt:response', data: JSON.stringify({ id, channel: 'lobby', payload: 2 }) });
  b.send({ event: 'broadcastt:response', data: { id, channel: 'lobby' } });
  b.send({ event: 'broadcastt:response', data: { id, channel: 'other', payload: 'wrong channel' } });
  t.notOk(sender.connection.frames().some((f) => f.event.endsWith('broadcast_responses')), 'nothing before the timeout');
  sender.node.broadcasts.finishAll();
  t.same(sender.connection.last(), {
    event: 'broadcastt:broadcast_responses',
    data: { request_id: 'q', responses: ['me', 1, 2, {}], dropped: 0 },
  });
  for (const s of [a, b]) t.notOk(s.connection.frames().some((f) => f.event.endsWith('broadcast_responses')), 'only the sender gets the responses');
});

t.test('broadcast refusals carry the request_id and leave the connection open', async (t) => {
  const { send, connection } = makeSession({ app: { ...EXP_TRUST, maxBroadcastsPerSecond: 2, maxPendingBroadcasts: 3, maxEventDataBytes: 50, maxEventNameLength: 10 } });
  const errorOf = (request_id: unknown) => connection.decoded().find((f) => f.event === 'broadcastt:error' && (f.data as { request_id?: unknown }).request_id === request_id)?.data;
  send({ event: 'broadcastt:broadcast', data: { request_id: 'private', channel: 'private-x', name: 'e' } });
  send({ event: 'broadcastt:broadcast', data: { request_id: 'big', channel: 'x', name: 'e', payload: 'y'.repeat(60) } });
  send({ event: 'broadcastt:broadcast', data: { request_id: 'long', channel: 'x', name: 'e'.repeat(11) } });
  send({ event: 'broadcastt:broadcast', data: { request_id: 'bad-channel', channel: 'a b', name: 'e' } });
  send({ event: 'broadcastt:broadcast', data: { request_id: 'foreign', channel: channelId('other', 'x', { consumer: true }), name: 'e' } });
  t.match(errorOf('private'), { code: WsErrors.BroadcastRejected.code, message: /subscribe to private-x before broadcasting on it/ });
  t.match(errorOf('big'), { code: WsErrors.MessageTooLarge.code, message: /over the limit of 50/ });
  t.match(errorOf('long'), { code: WsErrors.BroadcastRejected.code, message: /over the limit of 10/ });
  t.match(errorOf('bad-channel'), { code: WsErrors.InvalidChannel.code });
  t.match(errorOf('foreign'), { code: WsErrors.InvalidChannel.code, message: /another app/ });

  for (const request_id of ['ok1', 'ok2', 'rate']) send({ event: 'broadcastt:broadcast', data: { request_id, channel: 'x', name: 'e' } });
  t.match(errorOf('rate'), { code: WsErrors.BroadcastRejected.code, message: /over the limit of 2 broadcasts per second/ });
  send({ event: 'broadcastt:ping' });
  t.match(connection.last(), { event: 'broadcastt:pong' });
});

t.test('the pending-broadcast limit of the app refuses more, with the request_id', async (t) => {
  const sessions = network(2, { app: { maxPendingBroadcasts: 1 } });
  const [a, b] = sessions as [SessionFixture, SessionFixture];
  a.send({ event: 'broadcastt:broadcast', data: { request_id: 1, channel: 'x', name: 'e' } });
  b.send({ event: 'broadcastt:broadcast', data: { request_id: 2, channel: 'x', name: 'e' } });
  t.match(b.connection.last(), { event: 'broadcastt:error', data: { code: WsErrors.BroadcastRejected.code, request_id: 2, message: /already has 1 broadcasts waiting/ } });
});

t.test('responders on private channels must be subscribed; unknown ids are dropped silently', async (t) => {
  const { send, connection } = makeSession();
  send({ event: 'broadcastt:response', data: { id: 'nope', channel: 'private-x', payload: 1 } });
  t.match(connection.last(), { event: 'broadcastt:error', data: { code: WsErrors.ResponseRejected.code, message: /subscribe to private-x before responding on it/ } });
  connection.clear();
  send({ event: 'broadcastt:response', data: { id: 'nope', channel: 'public', payload: 1 } });
  t.same(connection.sent, [], 'no answer to a response');
});

t.test("a closed connection's broadcasts are released at once", async (t) => {
  const { send, session, node, connection } = makeSession({ app: EXP_TRUST });
  send({ event: 'broadcastt:broadcast', data: { request_id: 1, channel: 'x', name: 'e', timeout: 60_000 } });
  send({ event: 'broadcastt:broadcast', data: { request_id: 2, channel: 'y', name: 'e', timeout: 60_000 } });
  t.equal(node.broadcasts.size, 2);
  session.close();
  t.equal(node.broadcasts.size, 0);
  node.broadcasts.finishAll();
  t.notOk(connection.frames().some((f) => f.event.endsWith('broadcast_responses')));
});

t.test('clientBroadcasts (D9a): who may broadcast where', async (t) => {
  const refusal = (connection: SessionFixture['connection']) => connection.decoded().filter((f) => f.event === 'broadcastt:error').map((f) => (f.data as { message: string }).message);
  const sent = (connection: SessionFixture['connection'], name: string) => connection.decoded().some((f) => f.event === name);

  t.test('authorized (the default): private and presence channels the connection joined, and consumer channels', async (t) => {
    const { send, connection, app, session } = makeSession();
    t.equal(app.clientBroadcasts, 'authorized');
    send({ event: 'broadcastt:broadcast', data: { request_id: 1, channel: 'news', name: 'forged' } });
    t.match(refusal(connection), [/clients may broadcast only on private and presence channels they joined and on consumer channels, not on news \(clientBroadcasts: authorized\)/], 'not on a public channel');
    send({ event: 'broadcastt:subscribe', data: { channel: 'private-room', auth: authorizeChannel(app, session.socketId, 'private-room').auth } });
    send({ event: 'broadcastt:broadcast', data: { request_id: 2, channel: 'private-room', name: 'joined' } });
    t.ok(sent(connection, 'joined'), 'on a private channel it joined');
    send({ event: 'broadcastt:subscribe', data: { channel: 'lobby', consumer: true } });
    send({ event: 'broadcastt:broadcast', data: { request_id: 3, channel: { name: 'lobby', consumer: true }, name: 'consumer' } });
    t.ok(sent(connection, 'consumer'), 'on a consumer channel');
  });

  t.test('off: none; all: every channel but system ones', async (t) => {
    const off = makeSession({ app: { clientBroadcasts: 'off' } });
    off.send({ event: 'broadcastt:broadcast', data: { request_id: 1, channel: { name: 'lobby', consumer: true }, name: 'x' } });
    t.match(refusal(off.connection), [/client broadcasts are off for app test-app/]);
    const all = makeSession({ app: EXP_TRUST });
    all.send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
    all.send({ event: 'broadcastt:broadcast', data: { request_id: 1, channel: 'news', name: 'public' } });
    t.ok(sent(all.connection, 'public'));
  });

  t.test('responses are never restricted by it: a device may answer a backend’s broadcast on a public channel', async (t) => {
    const { send, connection, node, app } = makeSession({ app: { clientBroadcasts: 'off' } });
    send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
    const outcome = node.broadcast(app, 'news', 'ask', '{}', 60_000);
    const asked = connection.frames().find((f) => f.event === 'ask') as unknown as { id: string };
    send({ event: 'broadcastt:response', data: { id: asked.id, channel: 'news', payload: 'yes' } });
    node.broadcasts.finishAll();
    t.same(JSON.parse((await outcome).responses), ['yes']);
  });
});

t.test('budgets: a connection holds at most maxPendingBroadcastsPerConnection, clients at most their share, and REST keeps the rest', async (t) => {
  const [a, b] = network(2, { app: { maxPendingBroadcastsPerConnection: 2, maxPendingClientBroadcasts: 3, maxPendingBroadcasts: 4 } }) as [SessionFixture, SessionFixture];
  const broadcast = (s: SessionFixture, request_id: number) => s.send({ event: 'broadcastt:broadcast', data: { request_id, channel: 'x', name: 'e', timeout: 60_000 } });
  const errorOf = (s: SessionFixture, request_id: number) => s.connection.decoded().find((f) => f.event === 'broadcastt:error' && (f.data as { request_id?: number }).request_id === request_id)?.data;
  for (const id of [1, 2, 3]) broadcast(a, id);
  t.match(errorOf(a, 3), { code: WsErrors.BroadcastRejected.code, message: /this connection already has 2 broadcasts waiting/ });
  broadcast(b, 4);
  broadcast(b, 5);
  t.match(errorOf(b, 5), { code: WsErrors.BroadcastRejected.code, message: /the clients of app test-app already have 3 broadcasts waiting/ });
  t.ok(a.node.broadcast(a.app, 'x', 'from-rest', '{}', 60_000), 'REST still broadcasts: it has its own share');
  a.node.broadcasts.finishAll();
});

t.test('responses are limited per connection: maxResponsesPerSecond', async (t) => {
  const { send, connection, clock } = makeSession({ app: { maxResponsesPerSecond: 2 } });
  for (let i = 0; i < 3; i++) send({ event: 'broadcastt:response', data: { id: `n.${i}`, channel: 'news', payload: i } });
  t.match(connection.decoded().map((f) => f.data), [{ code: WsErrors.ResponseRejected.code, message: /over the limit of 2 responses per second/, channel: 'news' }]);
  clock.now += 1000;
  connection.clear();
  send({ event: 'broadcastt:response', data: { id: 'n.9', channel: 'news', payload: 9 } });
  t.same(connection.sent, [], 'a new second, a new budget');
});

