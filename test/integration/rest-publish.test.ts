import t, { type Test } from 'tap';
import { HttpErrors } from '../../src/errors.js';
import { signRequestQuery } from '../../src/http/request-signature.js';
import { DEMO_APP, httpRequest, type Running, signedPost, startGateway } from '../helpers/gateway.js';
import { TestClient } from '../helpers/ws-client.js';

const EVENT = `/apps/${DEMO_APP.id}/event`;
const EVENTS = `/apps/${DEMO_APP.id}/events`;
const BATCH_EVENTS = `/apps/${DEMO_APP.id}/batch_events`;

async function subscriber(t: Test, running: Running, channels: string[], query = '') {
  const { client, socketId } = await TestClient.established(running.wsUrl(`/app/${DEMO_APP.key}${query}`));
  t.teardown(() => client.close());
  for (const channel of channels) {
    client.send({ event: 'broadcastt:subscribe', data: { channel } });
    await client.next((f) => f.event.endsWith(':subscription_succeeded') && f.channel === channel);
  }
  return { client, socketId };
}

/** Proves nothing else is queued: a pong comes back only after every earlier frame. */
async function nothingElseArrived(t: Test, client: TestClient, label: string) {
  client.send({ event: 'broadcastt:ping' });
  await client.next((f) => f.event.endsWith(':pong'));
  t.same(client.pending(), [], label);
}

t.test('POST /event (broadcastt single) reaches every listed channel, data verbatim', async (t) => {
  const running = await startGateway(t);
  const { client: a } = await subscriber(t, running, ['orders']);
  const { client: b } = await subscriber(t, running, ['invoices'], '?protocol=7');
  const data = JSON.stringify({ id: 7, note: 'caf\u00e9 / ok' });
  const response = await signedPost(running, EVENT, { name: 'created', data, channels: ['orders', 'invoices'] });
  t.same(response, { status: 200, body: {} });
  const got = await a.next('created');
  t.same({ channel: got.channel, data: got.data }, { channel: 'orders', data: { id: 7, note: 'café / ok' } });
  t.equal((await b.next('created')).channel, 'invoices');
});

t.test('POST /events tells a Pusher single trigger from a broadcastt batch by shape', async (t) => {
  const running = await startGateway(t);
  const { client } = await subscriber(t, running, ['a', 'b']);
  t.equal((await signedPost(running, EVENTS, { name: 'single', data: '{"n":1}', channel: 'a' })).status, 200);
  t.same((await client.next('single')).data, { n: 1 });
  t.equal((await signedPost(running, EVENTS, { name: 'multi', data: '{"n":2}', channels: ['a', 'b'] })).status, 200);
  t.same([(await client.next('multi')).channel, (await client.next('multi')).channel].sort(), ['a', 'b']);

  const items = [
    { name: 'one', data: '{"i":1}', channel: 'a' },
    { name: 'two', data: '{"i":2}', channel: 'b' },
  ];
  t.equal((await signedPost(running, EVENTS, { batch: items })).status, 200, '{"batch": [...]}');
  t.same([(await client.next('one')).data, (await client.next('two')).data], [{ i: 1 }, { i: 2 }]);
  t.equal((await signedPost(running, EVENTS, items)).status, 200, 'bare array');
  t.same([(await client.next('one')).data, (await client.next('two')).data], [{ i: 1 }, { i: 2 }]);
  t.equal((await signedPost(running, BATCH_EVENTS, { batch: items })).status, 200, 'Pusher /batch_events');
  t.same([(await client.next('one')).channel, (await client.next('two')).channel], ['a', 'b']);
  await nothingElseArrived(t, client, 'each event arrived exactly once');
});

t.test('socket_id excludes that connection only', async (t) => {
  const running = await startGateway(t);
  const { client: sender, socketId } = await subscriber(t, running, ['room']);
  const { client: other } = await subscriber(t, running, ['room']);
  const body = { name: 'said', data: '{}', channels: ['room'], socket_id: socketId };
  t.equal((await signedPost(running, EVENT, body)).status, 200);
  await other.next('said');
  await nothingElseArrived(t, sender, 'the excluded socket got nothing');
});

t.test('data that is not JSON text is delivered as a JSON string', async (t) => {
  const running = await startGateway(t);
  const { client } = await subscriber(t, running, ['plain']);
  await signedPost(running, EVENTS, { name: 'text', data: 'hello world', channel: 'plain' });
  t.equal((await client.next('text')).data, 'hello world');
});

t.test('refusals: 401 signature, 404 app, 400 body with a JSON path, 413 size; nothing is delivered', async (t) => {
  const running = await startGateway(t, { maxRequestBytes: 64 * 1024 });
  const { client } = await subscriber(t, running, ['guarded']);
  const valid = { name: 'x', data: '{}', channels: ['guarded'] };

  const wrongSecret = await signedPost(running, EVENT, valid, { key: DEMO_APP.key, secret: 'not-the-secret' });
  t.equal(wrongSecret.status, HttpErrors.InvalidSignature.status);
  t.match(wrongSecret.body.error, /auth_signature does not match/);

  const text = JSON.stringify(valid);
  const query = signRequestQuery(DEMO_APP, 'POST', EVENT, text);
  const tampered = await httpRequest(`${running.http}${EVENT}?${query}`, 'POST', text.replace('"x"', '"y"'));
  t.equal(tampered.status, HttpErrors.InvalidSignature.status);
  t.match(tampered.body.error, /body_md5/);

  const stale = signRequestQuery(DEMO_APP, 'POST', EVENT, text, {}, Math.floor(Date.now() / 1000) - 601);
  const old = await httpRequest(`${running.http}${EVENT}?${stale}`, 'POST', text);
  t.equal(old.status, HttpErrors.InvalidSignature.status);
  t.match(old.body.error, /auth_timestamp is 601 s from server time/);

  t.equal((await signedPost(running, '/apps/nope/event', valid)).status, HttpErrors.AppNotFound.status);

  const badPath = await signedPost(running, EVENTS, { batch: [valid, { name: 'y', data: '{}', channel: 'bad:name' }] });
  t.equal(badPath.status, HttpErrors.BadRequest.status);
  t.match(badPath.body.error, /body\.batch\[0\]\.channel is required/);

  const tooMany = await signedPost(running, EVENT, { ...valid, channels: Array.from({ length: 101 }, (_, i) => `c${i}`) });
  t.equal(tooMany.status, HttpErrors.BadRequest.status);
  t.match(tooMany.body.error, /over the limit of 100/);

  const big = await signedPost(running, EVENT, { ...valid, data: JSON.stringify('x'.repeat(10 * 1024)) });
  t.equal(big.status, HttpErrors.PayloadTooLarge.status);

  const huge = await signedPost(running, EVENT, { ...valid, data: JSON.stringify('x'.repeat(100 * 1024)) });
  t.equal(huge.status, HttpErrors.PayloadTooLarge.status, 'bodies over maxRequestBytes are not read');

  t.equal((await signedPost(running, EVENT, '{"name": ')).status, HttpErrors.BadRequest.status, 'invalid JSON');
  await nothingElseArrived(t, client, 'no refused request delivered anything');
});

t.test('GET / reports health and native uWS; GET /ready; unknown routes 404', async (t) => {
  const running = await startGateway(t);
  t.match(await httpRequest(`${running.http}/`), { status: 200, body: { status: 'ok', uws: { native: true }, connections: 0 } });
  t.same(await httpRequest(`${running.http}/ready`), { status: 200, body: { ready: true } });
  t.equal((await httpRequest(`${running.http}/nowhere`)).status, HttpErrors.RouteNotFound.status);
});
