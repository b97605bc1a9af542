import t from 'tap';
import { AppRegistry } from '../../src/apps/app-registry.js';
import { resolveConfig } from '../../src/config.js';
import { HttpError, HttpErrors } from '../../src/errors.js';
import { type ApiContext, createApi } from '../../src/http/api.js';
import type { ApiResponse } from '../../src/http/api-types.js';
import { signRequestQuery } from '../../src/http/request-signature.js';
import { authorizeChannel } from '../../src/protocol/channel-auth.js';
import { makeNode, makeSession, recordingLogger, settled, TEST_APP } from '../helpers/fake-connection.js';

const NOW = 1_700_000_000;

/** The REST API over a real node (LoopFanOut, no sockets), called as the transport calls it. */
function api(apps = [{ ...TEST_APP }], bearer?: ApiContext['bearer']) {
  const config = resolveConfig({ apps: [...apps, { id: 'off', key: 'off-key', secret: 'off-secret', enabled: false }] });
  const on = makeNode();
  const log = recordingLogger();
  /** For each call: whether the API asked for the body (it refuses what it can from the head alone). */
  const bodiesRead: boolean[] = [];
  const handle = createApi({ apps: new AppRegistry(config.apps), log, nowSeconds: () => NOW, node: on.node, maxJsonDepth: 8, bearer });
  const call = async (method: string, path: string, options: { body?: string; query?: string; sign?: { key: string; secret: string }; authorization?: string } = {}) => {
    const body = options.body ?? '';
    const query = options.query ?? (options.sign === undefined ? '' : signRequestQuery(options.sign, method, path, body, {}, NOW));
    const step = handle({ method, path, query, authorization: options.authorization ?? '', remoteAddress: () => '127.0.0.1', onAborted: () => {} });
    bodiesRead.push('withBody' in step);
    const answer: ApiResponse = await ('withBody' in step ? step.withBody(Buffer.from(body)) : step.answer);
    return { status: answer.status, body: JSON.parse(answer.body) as Record<string, unknown> };
  };
  return { on, node: on.node, log, call, bodiesRead };
}

t.test('health and readiness need no signature', async (t) => {
  const { call, node } = api();
  t.match(await call('GET', '/'), { status: 200, body: { status: 'ok', nodeId: 'node-a', connections: 0 } });
  t.same(await call('HEAD', '/ready'), { status: 200, body: { ready: true } });
  await node.drain(0);
  t.match(await call('GET', '/ready'), { status: HttpErrors.NotReady.status, body: { error: /shutting down/ } });
  t.match(await call('GET', '/'), { status: 200, body: { status: 'draining' } });
});

t.test('unknown routes are 404 before the app or the signature is looked at', async (t) => {
  const { call } = api();
  for (const [method, path] of [
    ['GET', '/nope'],
    ['GET', '/apps/test-app'],
    ['GET', '/apps/test-app/events'],
    ['DELETE', '/apps/test-app/channels'],
    ['POST', '/apps/test-app/channels/x'],
    ['GET', '/apps/test-app/channels/x/users/y'],
    ['GET', '/apps/test-app/channels/'],
    ['POST', '/apps/test-app/users/u/other'],
    ['POST', '/apps//events'],
  ] as const) {
    t.match(await call(method, path), { status: HttpErrors.RouteNotFound.status, body: { error: new RegExp(`no route for ${method}`) } }, `${method} ${path}`);
  }
});

t.test('the app must exist, be enabled, and sign the request', async (t) => {
  const { call } = api();
  t.match(await call('GET', '/apps/ghost/channels'), { status: HttpErrors.AppNotFound.status, body: { error: /ghost/ } });
  t.match(await call('GET', '/apps/off/channels', { sign: { key: 'off-key', secret: 'off-secret' } }), { status: HttpErrors.AppDisabled.status });
  t.match(await call('GET', '/apps/test-app/channels'), { status: HttpErrors.InvalidSignature.status });
  t.match(await call('GET', '/apps/test-app/channels', { sign: { key: TEST_APP.key, secret: 'guessed' } }), { status: HttpErrors.InvalidSignature.status });
  t.same(await call('GET', '/apps/test-app/channels', { sign: TEST_APP }), { status: 200, body: { channels: {} } });
});

t.test('each publishing route reaches the node’s subscribers', async (t) => {
  const { call, on } = api();
  const listener = makeSession({ on });
  listener.send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
  const bodies: Array<[string, unknown]> = [
    ['/apps/test-app/event', { name: 'a', data: '{}', channels: ['news'] }],
    ['/apps/test-app/events', { name: 'b', data: '{}', channel: 'news' }],
    ['/apps/test-app/events', { batch: [{ name: 'c', data: '{}', channel: 'news' }] }],
    ['/apps/test-app/batch_events', { batch: [{ name: 'd', data: '{}', channel: 'news' }] }],
  ];
  for (const [path, value] of bodies) t.same(await call('POST', path, { body: JSON.stringify(value), sign: TEST_APP }), { status: 200, body: {} }, path);
  t.same(listener.connection.frames().slice(1).map((f) => f.event), ['a', 'b', 'c', 'd']);
});

t.test('channel routes read the node: /channels/:name, broadcastt’s /channel/:name and /users', async (t) => {
  const { call, on } = api();
  makeSession({ on }).send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
  const info = { query: '' };
  for (const path of ['/apps/test-app/channels/news', '/apps/test-app/channel/news']) {
    info.query = signRequestQuery(TEST_APP, 'GET', path, '', { info: 'subscription_count' }, NOW);
    t.same(await call('GET', path, info), { status: 200, body: { occupied: true, subscription_count: 1 } }, path);
  }
  t.match(await call('GET', '/apps/test-app/channels/news/users', { sign: TEST_APP }), { status: HttpErrors.BadRequest.status, body: { error: /only listed for presence channels/ } });
});

t.test('terminate_connections decodes the user id and refuses bad percent-encoding', async (t) => {
  const { call } = api();
  t.same(await call('POST', '/apps/test-app/users/a%20b/terminate_connections', { body: '{}', sign: TEST_APP }), { status: 200, body: {} });
  t.match(await call('POST', '/apps/test-app/users/%E0%A4%A/terminate_connections', { body: '{}', sign: TEST_APP }), { status: HttpErrors.BadRequest.status, body: { error: /percent-encoding/ } });
});

t.test('an unexpected failure is logged and answered 500 without its details', async (t) => {
  const { call, node, log } = api();
  node.publishEvent = () => {
    throw new Error('boom');
  };
  const answer = await call('POST', '/apps/test-app/events', { body: JSON.stringify({ name: 'e', data: '{}', channel: 'x' }), sign: TEST_APP });
  t.same(answer, { status: HttpErrors.ServerError.status, body: { error: HttpErrors.ServerError.message } });
  t.match(log.lines, [{ level: 'error', message: /unexpected error in REST handler/ }]);
});

t.test('unknown routes and apps and a bad query signature are refused before the body is read', async (t) => {
  const { call, bodiesRead } = api();
  const body = JSON.stringify({ name: 'e', data: '{}', channel: 'x' });
  await call('POST', '/apps/test-app/nowhere', { body, sign: TEST_APP });
  await call('POST', '/apps/ghost/events', { body, sign: TEST_APP });
  await call('POST', '/apps/test-app/events', { body, sign: { key: TEST_APP.key, secret: 'guessed' } });
  t.same(bodiesRead, [false, false, false], 'no body was asked for');
  t.same(await call('POST', '/apps/test-app/events', { body, sign: TEST_APP }), { status: 200, body: {} });
  t.equal(bodiesRead.at(-1), true, 'an accepted request’s body is read');
  const tampered = signRequestQuery(TEST_APP, 'POST', '/apps/test-app/events', body, {}, NOW);
  t.match(await call('POST', '/apps/test-app/events', { body: body.replace('"e"', '"f"'), query: tampered }), { status: HttpErrors.InvalidSignature.status, body: { error: /body_md5 does not match/ } }, 'the body is still checked against body_md5');
});

t.test('a body nested deeper than maxJsonDepth is refused naming the limit, before it is parsed', async (t) => {
  const { call } = api();
  const deep = `{"name":"e","channel":"x","data":"{}","extra":${'['.repeat(20)}${']'.repeat(20)}}`;
  t.match(await call('POST', '/apps/test-app/events', { body: deep, sign: TEST_APP }), { status: HttpErrors.BadRequest.status, body: { error: /nests deeper than 8 levels/ } });
  const brackets = JSON.stringify({ name: 'e', channel: 'x', data: '[[[[[[[[[[[[[[[[[[[[' });
  t.same(await call('POST', '/apps/test-app/events', { body: brackets, sign: TEST_APP }), { status: 200, body: {} }, 'brackets inside strings do not count');
});


t.test('a bearer token stands in for the signature when the console is on, and refusals are noted for the app', async (t) => {
  const checked: string[] = [];
  const bearer: ApiContext['bearer'] = (token, app) => {
    checked.push(`${token} ${app.id}`);
    if (token !== 'good') throw new HttpError('ConsoleTokenInvalid', 'not good');
  };
  const { call, bodiesRead, node } = api([{ ...TEST_APP }], bearer);
  const body = JSON.stringify({ name: 'e', data: '{}', channel: 'x' });
  t.same(await call('POST', '/apps/test-app/events', { body, authorization: 'Bearer good' }), { status: 200, body: {} }, 'no signature, no body_md5');
  t.same(await call('GET', '/apps/test-app/channels', { authorization: 'Bearer good' }), { status: 200, body: { channels: {} } });
  t.match(await call('POST', '/apps/test-app/events', { body, authorization: 'Bearer bad', sign: TEST_APP }), { status: HttpErrors.ConsoleTokenInvalid.status, body: { error: /not good/ } }, 'a bad token is refused even beside a good signature');
  t.equal(bodiesRead.at(-1), false, 'before the body is read');
  t.same(await call('GET', '/apps/test-app/channels', { authorization: 'Basic abc', sign: TEST_APP }), { status: 200, body: { channels: {} } }, 'other schemes leave the signature to decide');
  t.same(checked, ['good test-app', 'good test-app', 'bad test-app']);
  t.match(node.activity.refusalsSince('test-app'), [{ source: 'rest', name: 'ConsoleTokenInvalid', request: 'POST /apps/test-app/events' }]);

  const off = api();
  t.match(await off.call('GET', '/apps/test-app/channels', { authorization: 'Bearer good' }), { status: HttpErrors.InvalidSignature.status }, 'with the console off the header is ignored');
});

t.test('a publish with info answers each channel’s counts, as Pusher does; without info, {}', async (t) => {
  const { call, on } = api();
  const join = (channel: string, socketId: string, userId?: string) => {
    const s = makeSession({ on, socketId });
    const channelData = userId === undefined ? undefined : JSON.stringify({ user_id: userId });
    s.send({ event: 'broadcastt:subscribe', data: { channel, ...(channel.startsWith('presence-') ? authorizeChannel(on.app, socketId, channel, channelData) : {}) } });
  };
  join('news', '1.1');
  join('news', '1.2');
  join('presence-room', '1.3', 'ann');
  join('presence-room', '1.4', 'ann');
  await settled();
  const publish = (path: string, body: unknown) => call('POST', `/apps/test-app/${path}`, { body: JSON.stringify(body), sign: TEST_APP });

  t.same(await publish('events', { name: 'e', data: '{}', channels: ['news', 'presence-room', 'empty'] }), { status: 200, body: {} });
  t.same(await publish('events', { name: 'e', data: '{}', channels: ['news', 'presence-room', 'empty'], info: 'subscription_count,user_count' }), {
    status: 200,
    body: { channels: { news: { subscription_count: 2 }, 'presence-room': { user_count: 1, subscription_count: 2 }, empty: { subscription_count: 0 } } },
  }, 'user_count for presence channels only');
  t.same(await publish('batch_events', { batch: [{ name: 'e', data: '{}', channel: 'news', info: 'subscription_count' }, { name: 'e', data: '{}', channel: 'news' }, { name: 'e', data: '{}', channel: 'presence-room', info: 'user_count' }] }), {
    status: 200,
    body: { batch: [{ subscription_count: 2 }, {}, { user_count: 1 }] },
  }, 'a batch answers per event, in order');
  t.match(await publish('events', { name: 'e', data: '{}', channel: 'news', info: 'subscription_count,members' }), { status: 400, body: { error: /body\.info: unknown attribute "members"/ } });
});
