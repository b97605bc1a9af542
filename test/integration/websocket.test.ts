import t from 'tap';
import { WsErrors } from '../../src/errors.js';
import { authorizeChannel } from '../../src/protocol/channel-auth.js';
import { DEMO_APP, startGateway } from '../helpers/gateway.js';
import { TestClient } from '../helpers/ws-client.js';

const DIALECTS = [
  { name: 'broadcastt', query: '', prefix: 'broadcastt', internal: 'broadcastt_internal' },
  { name: 'pusher', query: '?protocol=7&client=js&version=8.4.0', prefix: 'pusher', internal: 'pusher_internal' },
] as const;

for (const path of ['/app', '/apps']) {
  for (const dialect of DIALECTS) {
    t.test(`${path}/:key in the ${dialect.name} dialect: established, subscribe, ping, unsubscribe`, async (t) => {
      const running = await startGateway(t);
      const { client, socketId } = await TestClient.established(running.wsUrl(`${path}/${DEMO_APP.key}${dialect.query}`));
      t.teardown(() => client.close());
      t.match(socketId, /^\d+\.\d+$/);
      t.equal(client.received[0]?.event, `${dialect.prefix}:connection_established`);
      t.equal(client.received[0]?.data.activity_timeout, 120);

      client.send({ event: `${dialect.prefix}:subscribe`, data: { channel: 'news' } });
      const ok = await client.next(`${dialect.internal}:subscription_succeeded`);
      t.same({ channel: ok.channel, data: ok.data }, { channel: 'news', data: {} });

      client.send({ event: `${dialect.prefix}:ping`, data: {} });
      t.same((await client.next(`${dialect.prefix}:pong`)).data, {});

      client.send({ event: `${dialect.prefix}:unsubscribe`, data: { channel: 'news' } });
      client.send({ event: `${dialect.prefix}:ping`, data: {} });
      await client.next(`${dialect.prefix}:pong`);
      t.equal(running.gateway.publish(DEMO_APP.id, 'news', 'after-unsubscribe', {}), 0, 'no subscribers left');
    });
  }
}

t.test('socket ids are unique per process', async (t) => {
  const running = await startGateway(t);
  const ids = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const { client, socketId } = await TestClient.established(running.wsUrl());
    ids.add(socketId);
    await client.close();
  }
  t.equal(ids.size, 20);
});

t.test('client data is accepted as a JSON string as well as an object', async (t) => {
  const running = await startGateway(t);
  const { client } = await TestClient.established(running.wsUrl());
  t.teardown(() => client.close());
  client.send({ event: 'broadcastt:subscribe', data: JSON.stringify({ channel: 'as-string' }) });
  t.equal((await client.next('broadcastt_internal:subscription_succeeded')).channel, 'as-string');
});

t.test('subscribing twice is harmless: one membership, one delivery', async (t) => {
  const running = await startGateway(t);
  const { client } = await TestClient.established(running.wsUrl());
  t.teardown(() => client.close());
  for (let i = 0; i < 2; i++) {
    client.send({ event: 'broadcastt:subscribe', data: { channel: 'twice' } });
    await client.next('broadcastt_internal:subscription_succeeded');
  }
  t.equal(running.gateway.publish(DEMO_APP.id, 'twice', 'hello', { n: 1 }), 1);
  t.same((await client.next('hello')).data, { n: 1 });
  client.send({ event: 'broadcastt:ping' });
  await client.next('broadcastt:pong');
  t.same(client.pending(), [], 'the event arrived once');
});

t.test('refusals: error frame, then close with the same code', async (t) => {
  const running = await startGateway(t, {
    apps: [
      { id: 'app-id', key: 'app-key', secret: 'app-secret', maxConnections: 1 },
      { id: 'off', key: 'off-key', secret: 'off-secret', enabled: false },
    ],
  });
  const cases = [
    { path: '/app/unknown-key', error: WsErrors.AppNotFound },
    { path: '/app/off-key', error: WsErrors.AppDisabled },
    { path: '/socket.io/', error: WsErrors.PathNotFound },
    { path: '/app/', error: WsErrors.PathNotFound },
  ];
  for (const { path, error } of cases) {
    for (const dialect of DIALECTS) {
      const client = await TestClient.connect(running.wsUrl(`${path}${dialect.query}`));
      const frame = await client.next(`${dialect.prefix}:error`);
      t.equal(frame.data.code, error.code, `${path} ${dialect.name}: error frame`);
      t.equal((await client.closed).code, error.code, `${path} ${dialect.name}: close code`);
    }
  }

  const { client: first } = await TestClient.established(running.wsUrl());
  t.teardown(() => first.close());
  const second = await TestClient.connect(running.wsUrl());
  t.equal((await second.next('broadcastt:error')).data.code, WsErrors.OverConnectionQuota.code);
  t.equal((await second.closed).code, WsErrors.OverConnectionQuota.code);
});

t.test('garbage gets non-fatal errors naming the problem; the connection and others carry on', async (t) => {
  const running = await startGateway(t, { maxMessageBytes: 1024 });
  const { client } = await TestClient.established(running.wsUrl());
  const { client: bystander } = await TestClient.established(running.wsUrl());
  t.teardown(() => client.close());
  t.teardown(() => bystander.close());
  bystander.send({ event: 'broadcastt:subscribe', data: { channel: 'calm' } });
  await bystander.next('broadcastt_internal:subscription_succeeded');

  const garbage: Array<[unknown, number, RegExp]> = [
    ['{not json', WsErrors.InvalidMessage.code, /not valid JSON/],
    ['[1,2,3]', WsErrors.InvalidMessage.code, /JSON object/],
    [{ data: {} }, WsErrors.InvalidMessage.code, /"event"/],
    [{ event: 'broadcastt:nonsense', data: {} }, WsErrors.UnknownEvent.code, /broadcastt:nonsense/],
    [{ event: 'whatever', data: {} }, WsErrors.UnknownEvent.code, /whatever/],
    [{ event: 'broadcastt:subscribe', data: {} }, WsErrors.InvalidMessage.code, /data\.channel is required/],
    [{ event: 'broadcastt:subscribe', data: { channel: 42 } }, WsErrors.InvalidMessage.code, /data\.channel must be string/],
    [{ event: 'broadcastt:subscribe', data: '{broken' }, WsErrors.InvalidMessage.code, /not valid JSON/],
    [{ event: 'client-hello', channel: 'calm', data: {} }, WsErrors.ClientEventRejected.code, /not enabled/],
    [Buffer.from([1, 2, 3]), WsErrors.BinaryNotSupported.code, /Binary/],
    [JSON.stringify({ event: 'broadcastt:ping', data: { pad: 'x'.repeat(2000) } }), WsErrors.MessageTooLarge.code, /over the limit of 1024/],
  ];
  for (const [input, code, message] of garbage) {
    if (Buffer.isBuffer(input)) client.ws.send(input, { binary: true });
    else client.send(input);
    const error = await client.next('broadcastt:error');
    t.equal(error.data.code, code, `code for ${String(input).slice(0, 60)}`);
    t.match(error.data.message, message);
  }
  t.match(client.received.find((f) => f.event === 'broadcastt:error' && f.data.code === WsErrors.ClientEventRejected.code)?.data, { channel: 'calm' }, 'an error about a channel names it');

  client.send({ event: 'broadcastt:subscribe', data: { channel: 'calm' } });
  await client.next('broadcastt_internal:subscription_succeeded');
  t.equal(running.gateway.publish(DEMO_APP.id, 'calm', 'still-here', { ok: true }), 2);
  t.same((await client.next('still-here')).data, { ok: true }, 'the sender of garbage still receives');
  t.same((await bystander.next('still-here')).data, { ok: true }, 'others are undisturbed');
  t.same(bystander.received.filter((f) => f.event.endsWith(':error')), [], 'others saw no errors');
});

t.test('frames over maxFrameBytes close only that connection', async (t) => {
  const running = await startGateway(t, { maxMessageBytes: 1024, maxFrameBytes: 4096 });
  const { client } = await TestClient.established(running.wsUrl());
  const { client: bystander } = await TestClient.established(running.wsUrl());
  t.teardown(() => bystander.close());
  client.send('x'.repeat(5000));
  // uWS drops the TCP connection without a close frame, so the client sees 1006.
  t.equal((await client.closed).code, 1006, 'dropped by the transport as too big');
  bystander.send({ event: 'broadcastt:ping' });
  await bystander.next('broadcastt:pong');
  t.equal(running.gateway.health().connections, 1);
});

t.test('a client that answers no pings is closed with 4201', async (t) => {
  const running = await startGateway(t, { activityTimeout: 1, pongTimeout: 1 });
  const { client } = await TestClient.established(running.wsUrl(), { autoPong: false });
  const { client: alive } = await TestClient.established(running.wsUrl());
  t.teardown(() => alive.close());
  const error = await client.next('broadcastt:error', 10_000);
  t.equal(error.data.code, WsErrors.PongNotReceived.code);
  t.equal((await client.closed).code, WsErrors.PongNotReceived.code);
  t.equal(running.gateway.health().connections, 1, 'a client that answers pings stays');
});

t.test('private channels in the broadcastt dialect: subscription_error without valid auth, then success', async (t) => {
  const running = await startGateway(t);
  const { client, socketId } = await TestClient.established(running.wsUrl('/apps/app-key'));
  t.teardown(() => client.close());
  client.send({ event: 'broadcastt:subscribe', data: { channel: 'private-room', auth: `${DEMO_APP.key}:${'0'.repeat(64)}` } });
  const refused = await client.next('broadcastt:subscription_error');
  t.match(refused, { channel: 'private-room', data: { type: 'AuthError', status: 401 } });
  t.equal(running.gateway.publish(DEMO_APP.id, 'private-room', 'x', {}), 0, 'not subscribed');

  client.send({ event: 'broadcastt:subscribe', data: { channel: 'private-room', ...authorizeChannel(DEMO_APP, socketId, 'private-room') } });
  t.equal((await client.next('broadcastt_internal:subscription_succeeded')).channel, 'private-room');
  t.equal(running.gateway.publish(DEMO_APP.id, 'private-room', 'x', { ok: 1 }), 1);
  t.same((await client.next('x')).data, { ok: 1 });
});

t.test('every refused subscription is a subscription_error naming its channel, in both dialects', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, maxChannelsPerConnection: 1 }] });
  const huge = 'h'.repeat(5000);
  const cases: Array<[unknown, string, string, RegExp]> = [
    [{ channel: 'x'.repeat(200) }, 'x'.repeat(200), 'InvalidChannel', /200 characters, over the limit of 164/],
    [{ channel: 'bad:name' }, 'bad:name', 'InvalidChannel', /must be one or more of/],
    [{ channel: 'WyJvdGhlci1hcHAiLCJ4IiwwLDFd' }, 'WyJvdGhlci1hcHAiLCJ4IiwwLDFd', 'InvalidChannel', /another app/],
    [{ channel: 'news', auth: 5 }, 'news', 'InvalidSubscription', /data\.auth must be string/],
    [{ channel: huge }, huge.slice(0, 512), 'InvalidChannel', /over the limit/],
    [{ channel: 'private-x' }, 'private-x', 'AuthError', /needs "auth"/],
    [{ channel: 'second' }, 'second', 'TooManyChannels', /at most 1 per connection/],
  ];
  for (const dialect of DIALECTS) {
    const { client } = await TestClient.established(running.wsUrl(`/app/${DEMO_APP.key}${dialect.query}`));
    t.teardown(() => client.close());
    client.send({ event: `${dialect.prefix}:subscribe`, data: { channel: 'first' } });
    await client.next(`${dialect.internal}:subscription_succeeded`);
    for (const [data, channel, type, message] of cases) {
      client.send({ event: `${dialect.prefix}:subscribe`, data });
      const refusal = await client.next(`${dialect.prefix}:subscription_error`);
      t.equal(refusal.channel, channel, `${dialect.name} ${type}: names the channel`);
      t.match(refusal.data, { type, status: Number, error: message }, `${dialect.name} ${type}`);
    }
    // The one over a limit also gets the 4301 that names it (PROTOCOL.md §4.1); no other refusal is an error frame.
    const errors = client.received.filter((f) => f.event.endsWith(':error'));
    t.match(errors, [{ data: { code: WsErrors.OverLimit.code, message: /maxChannelsPerConnection/, channel: 'second' } }], `${dialect.name}: no other error frame`);
    t.equal(errors.length, 1);
    t.equal(client.ws.readyState, client.ws.OPEN, `${dialect.name}: the connection stays`);
  }
});


t.test('a text frame that is not UTF-8 fails only that connection (RFC 6455 §8.1)', async (t) => {
  const running = await startGateway(t);
  const { client } = await TestClient.established(running.wsUrl());
  const { client: bystander } = await TestClient.established(running.wsUrl());
  t.teardown(() => bystander.close());
  client.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
  t.equal((await client.closed).code, 1006, 'uWebSockets.js drops it without a close frame, as §8.1 allows');
  bystander.send({ event: 'broadcastt:ping' });
  await bystander.next('broadcastt:pong');
  t.equal(running.gateway.health().connections, 1, 'the others carry on');
});
