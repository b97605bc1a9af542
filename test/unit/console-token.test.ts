import t from 'tap';
import { AppRegistry } from '../../src/apps/app-registry.js';
import { issueToken, signIn, verifyToken } from '../../src/console/console-token.js';
import { resolveConfig } from '../../src/config.js';

const NOW = 1_700_000_000;
const { apps: configured } = resolveConfig({
  apps: [
    { id: 'one', key: 'key-one', secret: 'secret-one' },
    { id: 'two', key: 'key-two', secret: 'secret-two' },
    { id: 'off', key: 'key-off', secret: 'secret-off', enabled: false },
  ],
});
const apps = new AppRegistry(configured);
const [one, two, off] = configured as [(typeof configured)[0], (typeof configured)[0], (typeof configured)[0]];

const refusedAs = (kind: string, message: RegExp) => ({ name: 'HttpError', kind, message });

t.test('sign-in takes the app id and its secret, and refuses anything else alike', async (t) => {
  t.equal(signIn(apps, 'one', 'secret-one'), one);
  for (const [appId, secret] of [
    ['one', 'secret-two'],
    ['one', 'secret-on'],
    ['one', ''],
    ['nobody', 'secret-one'],
    ['off', 'secret-off'],
  ]) {
    t.throws(() => signIn(apps, appId as string, secret as string), refusedAs('ConsoleSignInFailed', /^Wrong app id or secret$/), `${appId} / ${secret}`);
  }
});

t.test('a token names its app and expiry and verifies on any node with the same apps', async (t) => {
  const { token, expiresAt } = issueToken(one, NOW, 900);
  t.equal(expiresAt, NOW + 900);
  t.match(token, /^v1\.[\w-]+\.[\w-]+$/);
  t.same(verifyToken(token, new AppRegistry(configured), NOW + 899), { app: one, expiresAt });
  t.not(issueToken(one, NOW, 900).token, token, 'every sign-in gets its own token');
});

t.test('a token is refused once expired, when forged, for another app, or when the secret has changed', async (t) => {
  const { token } = issueToken(one, NOW, 900);
  const [version, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  const recoded = (changes: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...claims, ...changes })).toString('base64url');
  const rotated = new AppRegistry(resolveConfig({ apps: [{ ...one, secret: 'a-new-secret' }] }).apps);
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['expired', () => verifyToken(token, apps, NOW + 900), /expired/],
    ['a later expiry written in', () => verifyToken(`${version}.${recoded({ exp: NOW + 99_999 })}.${signature}`, apps, NOW), /signature does not match/],
    ['another app written in', () => verifyToken(`${version}.${recoded({ app: 'two' })}.${signature}`, apps, NOW), /signature does not match/],
    ['a signature cut short', () => verifyToken(`${version}.${payload}.${signature.slice(0, 20)}`, apps, NOW), /signature does not match/],
    ['another version', () => verifyToken(`v2.${payload}.${signature}`, apps, NOW), /not a console token/],
    ['an extra part', () => verifyToken(`${token}.x`, apps, NOW), /not a console token/],
    ['a payload that is not JSON', () => verifyToken(`v1.bm9wZQ.${signature}`, apps, NOW), /not a console token/],
    ['an app not served', () => verifyToken(issueToken({ id: 'gone', secret: 'whatever-secret' }, NOW, 900).token, apps, NOW), /app served here/],
    ['the secret changed', () => verifyToken(token, rotated, NOW), /signature does not match/],
    ['a disabled app', () => verifyToken(issueToken(off, NOW, 900).token, apps, NOW), /disabled/],
    ['far too long', () => verifyToken(`v1.${'a'.repeat(2000)}.b`, apps, NOW), /not a console token/],
  ];
  for (const [what, verify, why] of cases) t.throws(verify, refusedAs('ConsoleTokenInvalid', why), what);
  t.ok(verifyToken(issueToken(two, NOW, 60).token, apps, NOW).app === two, 'while another app\'s own token is fine');
});
