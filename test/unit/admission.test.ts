import t from 'tap';
import { type App, AppRegistry } from '../../src/apps/app-registry.js';
import { ConfigError, resolveConfig } from '../../src/config.js';
import { ProtocolError, WsErrors } from '../../src/errors.js';
import { admit, dialectOf, refuse } from '../../src/session/admission.js';
import { FakeConnection } from '../helpers/fake-connection.js';

const { apps } = resolveConfig({
  apps: [
    { id: 'main', key: 'k', secret: 'secret-main', consumerKeys: ['ck1', 'ck2'] },
    { id: 'off', key: 'off-key', secret: 'secret-off', enabled: false },
    { id: 'small', key: 'small-key', secret: 'secret-small', maxConnections: 2 },
  ],
});
const registry = new AppRegistry(apps);
const none = () => 0;

t.test('admits the app named by its key on every accepted path', async (t) => {
  for (const path of ['/app/k', '/apps/k', '/apps/k/', '/app/k/']) {
    const admission = admit({ path, query: '' }, registry, none);
    t.equal(admission.error, undefined, path);
    t.equal(admission.app?.id, 'main', path);
    t.equal(admission.error ? undefined : admission.role, 'trusted', path);
  }
});

t.test('a consumer key admits to its app with the consumer role (D8)', async (t) => {
  for (const key of ['ck1', 'ck2']) t.match(admit({ path: `/app/${key}`, query: '' }, registry, none), { app: { id: 'main' }, role: 'consumer' }, key);
});

t.test('every app id and every key, app or consumer, must be unique: a configuration error naming it', async (t) => {
  const app = (id: string, key: string, consumerKeys: string[] = []) => ({ id, key, secret: 'long-secret', consumerKeys });
  t.throws(() => resolveConfig({ apps: [app('a', 'k'), app('b', 'x', ['k'])] }), new ConfigError('config: config.apps[1] uses the key "k" again; app keys and consumer keys must all differ'));
  t.throws(() => resolveConfig({ apps: [app('a', 'k', ['k'])] }), /config\.apps\[0\] uses the key "k" again/);
  t.throws(() => resolveConfig({ apps: [app('a', 'k'), app('a', 'x')] }), new ConfigError('config: config.apps[1].id "a" is used by another app'));
  t.throws(() => resolveConfig({ apps: [{ id: 'a', key: 'k', secret: 'long-secret', consumerKeys: ['c', 'c'] }] }), /consumerKeys must NOT have duplicate items/);
});

t.test('refuses other paths with PathNotFound, quoting the path', async (t) => {
  for (const path of ['/foo', '/app/', '/apps/', '/app', '/', '/app/k/extra', '/application/k', '/app//k', 'app/k']) {
    const admission = admit({ path, query: '' }, registry, none);
    t.match(admission, { app: undefined, error: { code: WsErrors.PathNotFound.code, fatal: true } }, path);
  }
  t.match(admit({ path: '/foo', query: '' }, registry, none).error?.message, /\/foo/);
});

t.test('quotes at most 200 characters of a long path', async (t) => {
  const error = admit({ path: `/${'p'.repeat(5000)}`, query: '' }, registry, none).error;
  t.ok(error && error.message.length < 300);
});

t.test('refuses an unknown key with AppNotFound', async (t) => {
  t.match(admit({ path: '/app/nope', query: '' }, registry, none), { error: { code: WsErrors.AppNotFound.code, fatal: true } });
});

t.test('app ids are not keys', async (t) => {
  t.match(admit({ path: '/app/main', query: '' }, registry, none), { error: { code: WsErrors.AppNotFound.code } });
});

t.test('refuses a disabled app with AppDisabled', async (t) => {
  t.match(admit({ path: '/app/off-key', query: '' }, registry, none), { error: { code: WsErrors.AppDisabled.code, fatal: true } });
});

t.test('enforces the per-app connection quota', async (t) => {
  const counts = new Map<string, number>([['small', 1]]);
  const connectionsOf = (app: App) => counts.get(app.id) ?? 0;
  t.equal(admit({ path: '/app/small-key', query: '' }, registry, connectionsOf).app?.id, 'small', 'one below the quota');

  counts.set('small', 2);
  t.match(admit({ path: '/app/small-key', query: '' }, registry, connectionsOf), {
    error: { code: WsErrors.OverConnectionQuota.code, fatal: true, message: /at most 2 connections/ },
  });
  t.equal(admit({ path: '/app/k', query: '' }, registry, connectionsOf).app?.id, 'main', 'other apps are not affected');
});

t.test('counts connections of the requested app only', async (t) => {
  const asked: string[] = [];
  admit({ path: '/app/small-key', query: '' }, registry, (app) => {
    asked.push(app.id);
    return 0;
  });
  t.same(asked, ['small']);
});

t.test('dialect', async (t) => {
  t.test('protocol=7 selects pusher, anything else broadcastt', async (t) => {
    const table: Array<[string, 'pusher' | 'broadcastt']> = [
      ['protocol=7', 'pusher'],
      ['client=js&version=8.4.0&protocol=7&flash=false', 'pusher'],
      ['', 'broadcastt'],
      ['protocol=6', 'broadcastt'],
      ['protocol=70', 'broadcastt'],
      ['client=js', 'broadcastt'],
    ];
    for (const [query, dialect] of table) t.equal(dialectOf(query), dialect, query || '(empty)');
  });

  t.test('is reported with refusals too, so they are answered in the right dialect', async (t) => {
    t.match(admit({ path: '/foo', query: 'protocol=7' }, registry, none), { dialect: 'pusher', error: { code: WsErrors.PathNotFound.code } });
    t.match(admit({ path: '/app/nope', query: '' }, registry, none), { dialect: 'broadcastt' });
    t.match(admit({ path: '/app/k', query: 'protocol=7' }, registry, none), { dialect: 'pusher', app: { id: 'main' } });
  });
});

t.test('refuse() sends the error in the requested dialect, then closes with its code', async (t) => {
  const connection = new FakeConnection();
  refuse(connection, 'pusher', new ProtocolError('AppNotFound'));
  t.same(connection.decoded(), [
    { event: 'pusher:error', data: { code: WsErrors.AppNotFound.code, message: WsErrors.AppNotFound.message } },
  ]);
  t.same(connection.closed, { code: WsErrors.AppNotFound.code, reason: WsErrors.AppNotFound.message });
  t.equal(connection.sentAfterClose, 0);
});

