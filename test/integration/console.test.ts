import { readFile } from 'node:fs/promises';
import t from 'tap';
import { CONSOLE_OUTDIR } from '../../console/build.js';
import { MemoryHub } from '../../src/cluster/memory-broker.js';
import { MemoryStoreHub } from '../../src/cluster/memory-cluster-store.js';
import { issueToken } from '../../src/console/console-token.js';
import { HttpErrors, WsErrors } from '../../src/errors.js';
import { signRequestQuery } from '../../src/http/request-signature.js';
import { consolePageBuilt, consoleSignIn, consoleSocket, openConsoleSocket } from '../helpers/console.js';
import { DEMO_APP, httpExchange, httpRequest, type Running, signedGet, signedPost, startGateway, subscribedClient } from '../helpers/gateway.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import { TestClient, until } from '../helpers/ws-client.js';

const APP_A = { id: 'app-a', key: 'key-a', secret: 'secret-of-a' } as const;
const APP_B = { id: 'app-b', key: 'key-b', secret: 'secret-of-b' } as const;

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A REST call authorized by a console token instead of a signature. */
function withToken(running: Running, token: string, method: string, path: string, body?: unknown) {
  return httpRequest(`${running.http}${path}`, method, body === undefined ? '' : JSON.stringify(body), bearer(token));
}

async function tokenOf(running: Running, app: { id: string; secret: string } = DEMO_APP): Promise<string> {
  const { status, body } = await consoleSignIn(running, app.id, app.secret);
  if (status !== 200) throw new Error(`sign-in answered ${status}: ${JSON.stringify(body)}`);
  return body.token as string;
}


t.test('configured apps have no console unless it is turned on: no page, no sign-in, no socket, no bearer', async (t) => {
  const running = await startGateway(t, { apps: [APP_A] });
  t.match(await httpRequest(`${running.http}/console`), { status: HttpErrors.RouteNotFound.status });
  t.match(await consoleSignIn(running, APP_A.id, APP_A.secret), { status: HttpErrors.RouteNotFound.status });
  const socket = await openConsoleSocket(running);
  t.match(await socket.next('broadcastt:error'), { data: { code: WsErrors.PathNotFound.code } });
  t.equal((await socket.closed).code, WsErrors.PathNotFound.code);
  const token = issueToken(APP_A, Math.floor(Date.now() / 1000), 60).token;
  t.match(await withToken(running, token, 'GET', `/apps/${APP_A.id}/channels`), {
    status: HttpErrors.InvalidSignature.status,
    body: { error: /auth_signature is missing/ },
  }, 'an Authorization header is ignored: the request needs its signature');
});

t.test('the demo serves the page and its files with their types, CSP and caching', async (t) => {
  await consolePageBuilt();
  const running = await startGateway(t);
  const page = await httpExchange(`${running.http}/console`);
  t.equal(page.status, 200);
  t.match(page.headers, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-cache',
    'content-security-policy': /default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'/,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
  });
  const version = /\/console\/app\.js\?v=([0-9a-f]+)/.exec(page.text)?.[1];
  t.ok(version, 'the page names the script with its version');
  t.match(page.text, `/console/app.css?v=${version}`);
  t.notMatch(page.text, /<script>|style=/, 'nothing inline: the CSP allows none');

  const script = await httpExchange(`${running.http}/console/app.js?v=${version}`);
  t.match(script.headers, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=31536000, immutable' });
  t.equal(script.text, await readFile(`${CONSOLE_OUTDIR}/app.js`, 'utf8'), 'the built bundle');
  t.match((await httpExchange(`${running.http}/console/app.css`)).headers, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'no-cache' }, 'unversioned: revalidated');
  t.match(await httpRequest(`${running.http}/console/nothing.js`), { status: HttpErrors.RouteNotFound.status });
});

t.test('sign-in: wrong credentials are refused alike; the answer is a short-lived token, not the secret', async (t) => {
  const running = await startGateway(t);
  const wrong = { status: HttpErrors.ConsoleSignInFailed.status, body: { error: HttpErrors.ConsoleSignInFailed.message } };
  t.same(await consoleSignIn(running, DEMO_APP.id, 'not-the-secret'), wrong, 'a wrong secret');
  t.same(await consoleSignIn(running, 'no-such-app', DEMO_APP.secret), wrong, 'an unknown app, answered the same');
  t.match(await httpRequest(`${running.http}/console/api/session`, 'POST', '{"appId":"app-id"}'), { status: HttpErrors.BadRequest.status, body: { error: /secret is required/ } });
  t.match(await httpRequest(`${running.http}/console/api/session`, 'POST', 'not json'), { status: HttpErrors.BadRequest.status });

  const answer = await httpExchange(`${running.http}/console/api/session`, 'POST', JSON.stringify({ appId: DEMO_APP.id, secret: DEMO_APP.secret }));
  t.equal(answer.status, 200);
  t.equal(answer.headers['cache-control'], 'no-store');
  const body = JSON.parse(answer.text) as { token: string; expiresAt: number; appId: string; key: string };
  t.match(body, { token: /^v1\.[\w-]+\.[\w-]+$/, appId: DEMO_APP.id, key: DEMO_APP.key });
  t.ok(Math.abs(body.expiresAt - (Date.now() / 1000 + 900)) < 5, 'expires in consoleTokenTtlSeconds (15 min)');
  t.notMatch(answer.text, DEMO_APP.secret, 'the secret is not in the answer');
  t.notMatch(Buffer.from(body.token.split('.')[1] ?? '', 'base64url').toString(), DEMO_APP.secret, 'nor in the token');
});

t.test('failed sign-ins are limited per address: the eleventh in a minute waits, whatever it sends', async (t) => {
  const running = await startGateway(t);
  for (let i = 0; i < 10; i++) t.equal((await consoleSignIn(running, DEMO_APP.id, `guess-${i}`)).status, HttpErrors.ConsoleSignInFailed.status);
  const limited = await httpExchange(`${running.http}/console/api/session`, 'POST', JSON.stringify({ appId: DEMO_APP.id, secret: DEMO_APP.secret }));
  t.equal(limited.status, HttpErrors.TooManySignInAttempts.status);
  t.match(JSON.parse(limited.text), { error: /Too many failed console sign-ins/ });
  const retryAfter = Number(limited.headers['retry-after']);
  t.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
});

t.test('a token authorizes the REST API for its own app only; missing, forged or foreign tokens are refused', async (t) => {
  const running = await startGateway(t, { apps: [APP_A, APP_B], console: true });
  const token = await tokenOf(running, APP_A);
  t.same(await withToken(running, token, 'GET', `/apps/${APP_A.id}/channels`), { status: 200, body: { channels: {} } });

  const { client } = await TestClient.established(running.wsUrl(`/app/${APP_A.key}`));
  t.teardown(() => client.close());
  client.send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
  await client.next('broadcastt_internal:subscription_succeeded');
  t.same(await withToken(running, token, 'POST', `/apps/${APP_A.id}/events`, { name: 'hello', channel: 'news', data: '{"from":"console"}' }), { status: 200, body: {} });
  t.match(await client.next('hello'), { channel: 'news', data: { from: 'console' } }, 'published through the REST API');

  const refused = { status: HttpErrors.ConsoleTokenInvalid.status };
  const now = Math.floor(Date.now() / 1000);
  const [version, payload, signature] = token.split('.') as [string, string, string];
  const forgedPayload = Buffer.from(JSON.stringify({ app: APP_B.id, exp: now + 600, nonce: 'x' })).toString('base64url');
  const cases: Array<[string, string, RegExp]> = [
    ['another app\'s path', token, /the token is for app app-a, not app-b/],
    ['a signature changed', `${version}.${payload}.${signature.slice(0, -2)}AA`, /signature does not match/],
    ['a payload changed', `${version}.${forgedPayload}.${signature}`, /signature does not match/],
    ['a token signed with another secret', issueToken({ id: APP_B.id, secret: 'a-guessed-secret' }, now, 600).token, /signature does not match/],
    ['not a token', 'abc', /not a console token/],
  ];
  for (const [what, bad, why] of cases) t.match(await withToken(running, bad, 'GET', `/apps/${APP_B.id}/channels`), { ...refused, body: { error: why } }, what);
  t.match(await httpRequest(`${running.http}/apps/${APP_A.id}/channels`), { status: HttpErrors.InvalidSignature.status }, 'no token and no signature');
});

t.test('an expired sign-in ends: the token is refused and the socket closed with 4009', async (t) => {
  const running = await startGateway(t, { consoleTokenTtlSeconds: 1 });
  const token = await tokenOf(running);
  const socket = await openConsoleSocket(running);
  socket.send({ event: 'console:auth', data: { token } });
  const closed = await socket.closed;
  t.equal(closed.code, WsErrors.Unauthorized.code);
  t.match(closed.reason, /expired/);
  await until(async () => (await withToken(running, token, 'GET', `/apps/${DEMO_APP.id}/channels`)).status === HttpErrors.ConsoleTokenInvalid.status, 'the token to be refused');
  t.match(await withToken(running, token, 'GET', `/apps/${DEMO_APP.id}/channels`), { body: { error: /expired/ } });
});

t.test('the console socket wants its token first', async (t) => {
  const running = await startGateway(t);
  const early = await openConsoleSocket(running);
  early.send({ event: 'console:watch', data: { channel: 'lobby' } });
  t.match(await early.next('console:error'), { data: { code: WsErrors.Unauthorized.code, message: /send console:auth first/ } });
  t.equal((await early.closed).code, WsErrors.Unauthorized.code);

  const forged = await openConsoleSocket(running);
  forged.send({ event: 'console:auth', data: { token: 'v1.e30.AAAA' } });
  t.equal((await forged.closed).code, WsErrors.Unauthorized.code);

  const socket = await consoleSocket(running, await tokenOf(running));
  t.teardown(() => socket.close());
  t.match(await socket.next('console:stats'), { data: { connections: 0, channels: 0, refusals: [], webhooks: null } });
  socket.send({ event: 'console:watch', data: { channel: 'bad channel!' } });
  t.match(await socket.next('console:error'), { data: { code: WsErrors.InvalidChannel.code } }, 'a bad channel is refused');
  socket.send({ event: 'console:ping' });
  await socket.next('console:pong');
  t.pass('and the socket stays');
});

t.test('the console lists the app\'s webhook requests: each attempt, its events, its URL and its outcome', async (t) => {
  const receiver = await startReceiver(t, (n) => (n === 0 ? 500 : 200));
  const webhookApp = { ...DEMO_APP, webhookBatchDelayMs: 20, webhookRetryBaseMs: 50, webhooks: [{ url: receiver.url }] };
  const running = await startGateway(t, { apps: [webhookApp], console: true });
  const socket = await consoleSocket(running, await tokenOf(running, webhookApp));
  t.teardown(() => socket.close());
  t.match(await socket.next('console:stats'), { data: { webhooks: [] } }, 'an app with webhooks starts with an empty list');
  await subscribedClient(t, running, 'news');
  const seen: Array<Record<string, unknown>> = [];
  while (seen.length < 2) {
    const { data } = await socket.next('console:stats');
    seen.push(...((data as { webhooks: Array<Record<string, unknown>> }).webhooks ?? []));
  }
  t.match(seen, [
    { url: receiver.url, events: ['channel_occupied'], outcome: 'attempt_failed', detail: 'answered 500', ms: Number },
    { url: receiver.url, events: ['channel_occupied'], outcome: 'delivered', ms: Number },
  ]);
  t.equal(seen[0]?.webhookId, seen[1]?.webhookId, 'the retry is the same request');
  t.equal(receiver.requests.length, 2);
});

t.test('a watched channel shows its events, broadcasts, responses and member changes', async (t) => {
  const running = await startGateway(t);
  const socket = await consoleSocket(running, await tokenOf(running));
  t.teardown(() => socket.close());
  socket.send({ event: 'console:watch', data: { channel: 'presence-room' } });
  t.match(await socket.next('console:watching'), { channel: 'presence-room', data: { name: 'presence-room', type: 'presence', system: false, consumer: false } });

  const member = await subscribedClient(t, running, 'presence-room', 'ann');
  t.match(await socket.next('broadcastt_internal:member_added'), { channel: 'presence-room', data: { user_id: 'ann' } });

  t.equal((await signedPost(running, `/apps/${DEMO_APP.id}/events`, { name: 'news', channel: 'presence-room', data: '{"n":1}' })).status, 200);
  t.match(await socket.next('news'), { channel: 'presence-room', data: { n: 1 } }, 'an event published over REST');

  const asked = signedPost(running, `/apps/${DEMO_APP.id}/broadcasts`, { name: 'who', channel: 'presence-room', payload: { q: 1 } }, DEMO_APP, { timeout: '300' });
  const broadcast = await member.next('who');
  member.send({ event: 'broadcastt:response', data: { id: broadcast.id, channel: 'presence-room', payload: { me: 'ann' } } });
  t.match(await socket.next('who'), { id: broadcast.id, data: { q: 1 } }, 'the broadcast, with its id');
  t.match(await socket.next('console:response'), { channel: 'presence-room', data: { id: broadcast.id, payload: { me: 'ann' } } }, 'and its response');
  t.same((await asked).body, [{ me: 'ann' }], 'the broadcaster got the response as ever');

  await member.close();
  t.match(await socket.next('broadcastt_internal:member_removed'), { data: { user_id: 'ann' } });
  socket.send({ event: 'console:unwatch' });
  await socket.next((frame) => frame.event === 'console:watching' && frame.data === null);
  await signedPost(running, `/apps/${DEMO_APP.id}/events`, { name: 'unseen', channel: 'presence-room', data: '{}' });
  socket.send({ event: 'console:ping' });
  await socket.next('console:pong');
  t.notOk(socket.pending().some((frame) => frame.event === 'unseen'), 'nothing once unwatched');
});

t.test('the console is never one of the app\'s clients: not in subscription counts, presence, connections or quotas', async (t) => {
  const app = { ...DEMO_APP, maxConnections: 1 };
  const running = await startGateway(t, { apps: [app], console: true });
  const socket = await consoleSocket(running, await tokenOf(running));
  t.teardown(() => socket.close());
  socket.send({ event: 'console:watch', data: { channel: 'lobby' } });
  await socket.next('console:watching');
  const counts = () => signedGet(running, `/apps/${app.id}/channels`, { info: 'subscription_count' });
  t.same((await counts()).body, { channels: {} }, 'a watched channel is not occupied');
  t.same((await signedGet(running, `/apps/${app.id}/channels/lobby`, { info: 'subscription_count' })).body, { occupied: false, subscription_count: 0 });
  t.equal((await httpRequest(`${running.http}/`)).body.connections, 0, 'health counts no connection');

  const client = await subscribedClient(t, running, 'lobby');
  t.same((await counts()).body, { channels: { lobby: { subscription_count: 1 } } }, 'the one real subscriber');
  await socket.next((frame) => frame.event === 'console:stats' && frame.data.connections === 1);
  const another = await consoleSocket(running, await tokenOf(running));
  t.teardown(() => another.close());
  t.match(await another.next('console:stats'), { data: { connections: 1, channels: 1 } }, 'the console\'s counts: the one client and its channel');
  const over = await TestClient.connect(running.wsUrl());
  t.equal((await over.closed).code, WsErrors.OverConnectionQuota.code, 'the app\'s quota of 1 is its one client');
  await client.close();
});

t.test('refusals of the app reach the console, without signatures', async (t) => {
  const running = await startGateway(t);
  const socket = await consoleSocket(running, await tokenOf(running));
  t.teardown(() => socket.close());
  const { client } = await TestClient.established(running.wsUrl());
  t.teardown(() => client.close());
  client.send('not json');
  await client.next('broadcastt:error');
  const path = `/apps/${DEMO_APP.id}/events`;
  await httpRequest(`${running.http}${path}?${signRequestQuery({ key: DEMO_APP.key, secret: 'wrong-secret' }, 'POST', path, '{}')}`, 'POST', '{}');
  const seen = await socket.next((frame) => frame.event === 'console:stats' && (frame.data.refusals as unknown[]).length >= 2);
  t.match(seen.data.refusals, [
    { source: 'frame', name: 'InvalidMessage', code: WsErrors.InvalidMessage.code, message: /not valid JSON/, socketId: /^\d+\.\d+$/ },
    { source: 'rest', name: 'InvalidSignature', code: HttpErrors.InvalidSignature.status, request: `POST ${path}` },
  ]);
  t.notMatch(JSON.stringify(seen.data.refusals), /auth_signature=/, 'the query, with its signature, is not kept');
});

t.test('shutting down tells console sockets to reconnect (4200)', async (t) => {
  const running = await startGateway(t);
  const socket = await consoleSocket(running, await tokenOf(running));
  await running.gateway.close();
  t.equal((await socket.closed).code, WsErrors.ServerRestarting.code);
});

t.test('in a cluster, a console on one node sees the channel\'s traffic from every node', async (t) => {
  const [brokers, stores] = [new MemoryHub(), new MemoryStoreHub(5000)];
  const [a, b] = [await startGateway(t, { broker: brokers.broker(), store: stores.store('a') }), await startGateway(t, { broker: brokers.broker(), store: stores.store('b') })];
  const token = await tokenOf(a);
  const socket = await consoleSocket(b, token);
  t.teardown(() => socket.close());
  socket.send({ event: 'console:watch', data: { channel: 'lobby' } });
  await socket.next('console:watching');
  const member = await subscribedClient(t, a, 'lobby');

  await signedPost(a, `/apps/${DEMO_APP.id}/events`, { name: 'from-a', channel: 'lobby', data: '{}' });
  await socket.next('from-a');
  t.pass('an event published on the other node');
  const counted = () => withToken(b, token, 'GET', `/apps/${DEMO_APP.id}/channels?info=subscription_count`);
  await until(async () => JSON.stringify((await counted()).body) === JSON.stringify({ channels: { lobby: { subscription_count: 1 } } }), 'the one member, cluster-wide');

  const asked = signedPost(b, `/apps/${DEMO_APP.id}/broadcasts`, { name: 'who', channel: 'lobby' }, DEMO_APP, { timeout: '300' });
  const broadcast = await member.next('who');
  member.send({ event: 'broadcastt:response', data: { id: broadcast.id, channel: 'lobby', payload: 'from a' } });
  t.match(await socket.next('console:response'), { data: { id: broadcast.id, payload: 'from a' } }, 'a response given on the other node to a broadcast waiting here');
  t.same((await asked).body, ['from a']);
});
