import { createHash, createHmac } from 'node:crypto';
import t from 'tap';
import { HttpErrors } from '../../src/errors.js';
import { MAX_CLOCK_SKEW_SECONDS, signRequestQuery, verifyRequestSignature } from '../../src/http/request-signature.js';
import { testApp } from '../helpers/fake-connection.js';

/**
 * The signing algorithm written out independently of src/ (research/broadcastt-protocol.md §3.2):
 * HMAC-SHA256 over "METHOD\nPATH\nQUERY", QUERY being the decoded params sorted by key, joined unencoded.
 */
function referenceSignature(secret: string, method: string, path: string, params: Record<string, string>): string {
  const query = Object.keys(params)
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join('&');
  return createHmac('sha256', secret).update(`${method}\n${path}\n${query}`).digest('hex');
}

/** Encodes params as a query string, each value URL-encoded, in the given order. */
function toQuery(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([key, value]) => `${key}=${encodeURIComponent(value)}`)
    .join('&');
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

const { app } = testApp({ key: 'testkey', secret: 'testsecret' });
const NOW = 1_553_345_934;
const PATH = '/apps/test-app/events';
const BODY = '{"name":"test-event","data":"\\"test-data\\"","channels":["test-channel"]}';
const INVALID = { name: 'HttpError', status: HttpErrors.InvalidSignature.status };

const verify = (query: string, { method = 'POST', path = PATH, body = BODY, now = NOW } = {}) =>
  verifyRequestSignature({ method, path, query, body: Buffer.from(body) }, app, now);

t.test('known vectors', async (t) => {
  t.test('the reference signer reproduces the published HMAC-SHA256 vector', async (t) => {
    t.equal(
      referenceSignature('testsecret', 'POST', '/test/path', {
        auth_key: 'testkey',
        auth_timestamp: '1553345934',
        auth_version: '1.0',
        test_param_name: 'test_param_value',
      }),
      '8dc3014302fa10b7f7d5c7bd1c2798433530a8b602300750f1f9810d26b4e6cd',
    );
  });

  t.test('body_md5 of the published body is 1f18d6ade7eb8d76ca1693cc4d2a12ae', async (t) => {
    const params = new URLSearchParams(signRequestQuery(app, 'POST', PATH, BODY, {}, NOW));
    t.equal(params.get('body_md5'), '1f18d6ade7eb8d76ca1693cc4d2a12ae');
  });

  t.test('signRequestQuery signs exactly as the reference signer', async (t) => {
    const params = Object.fromEntries(new URLSearchParams(signRequestQuery(app, 'POST', '/test/path', BODY, { test_param_name: 'test_param_value' }, NOW)));
    const { auth_signature: signature, ...signed } = params;
    t.same(signed, {
      auth_key: 'testkey',
      auth_timestamp: String(NOW),
      auth_version: '1.0',
      body_md5: '1f18d6ade7eb8d76ca1693cc4d2a12ae',
      test_param_name: 'test_param_value',
    });
    t.equal(signature, referenceSignature('testsecret', 'POST', '/test/path', signed));
  });

  t.test('a request signed by the reference signer verifies', async (t) => {
    const params = { auth_key: 'testkey', auth_timestamp: String(NOW), auth_version: '1.0', body_md5: md5(BODY), test_param_name: 'test_param_value' };
    const query = toQuery({ ...params, auth_signature: referenceSignature('testsecret', 'POST', '/test/path', params) });
    t.doesNotThrow(() => verify(query, { path: '/test/path' }));
  });

  t.test('a GET without a body needs no body_md5 and verifies against the same algorithm', async (t) => {
    const params = { auth_key: 'testkey', auth_timestamp: String(NOW), auth_version: '1.0', test_param_name: 'test_param_value' };
    const query = toQuery({ ...params, auth_signature: referenceSignature('testsecret', 'GET', '/test/path', params) });
    t.doesNotThrow(() => verify(query, { method: 'GET', path: '/test/path', body: '' }));
    t.notOk(new URLSearchParams(signRequestQuery(app, 'GET', '/test/path', '', {}, NOW)).has('body_md5'), 'signRequestQuery adds none');
  });
});

t.test('signRequestQuery and verifyRequestSignature round-trip', async (t) => {
  t.doesNotThrow(() => verify(signRequestQuery(app, 'POST', PATH, BODY, {}, NOW)));
  t.doesNotThrow(() => verify(signRequestQuery(app, 'POST', PATH, '', {}, NOW), { body: '' }), 'POST with an empty body');
  t.doesNotThrow(() => verify(signRequestQuery(app, 'GET', '/apps/test-app/channels', '', { info: 'user_count' }, NOW), { method: 'GET', path: '/apps/test-app/channels', body: '' }));
});

t.test('the parameter order in the query does not matter', async (t) => {
  const params = [...new URLSearchParams(signRequestQuery(app, 'POST', PATH, BODY, { extra: 'x' }, NOW))].reverse();
  t.doesNotThrow(() => verify(new URLSearchParams(params).toString()));
});

t.test('URL-encoded query values are decoded before the signature is checked', async (t) => {
  const extra = { info: 'user count,subscription_count', filter_by_prefix: 'presence-a b&c=d/é' };
  const query = signRequestQuery(app, 'POST', PATH, BODY, extra, NOW);
  t.match(query, /%20/, 'values really are encoded on the wire');
  t.match(query, /%26/);
  t.doesNotThrow(() => verify(query));

  const params = { auth_key: 'testkey', auth_timestamp: String(NOW), auth_version: '1.0', body_md5: md5(BODY), ...extra };
  const byReference = toQuery({ ...params, auth_signature: referenceSignature('testsecret', 'POST', PATH, params) });
  t.doesNotThrow(() => verify(byReference), 'signed over the decoded values by the reference signer');
});

t.test('the clock skew window is ±600 s', async (t) => {
  t.equal(MAX_CLOCK_SKEW_SECONDS, 600);
  const signedAt = (seconds: number) => signRequestQuery(app, 'POST', PATH, BODY, {}, seconds);
  t.doesNotThrow(() => verify(signedAt(NOW - 600)), '600 s old');
  t.doesNotThrow(() => verify(signedAt(NOW + 600)), '600 s ahead');
  t.throws(() => verify(signedAt(NOW - 601)), { ...INVALID, message: /auth_timestamp is 601 s from server time/ }, '601 s old');
  t.throws(() => verify(signedAt(NOW + 601)), { ...INVALID, message: /601 s/ }, '601 s ahead');
});

t.test('every failed check is a 401 InvalidSignature naming the check', async (t) => {
  const good = signRequestQuery(app, 'POST', PATH, BODY, {}, NOW);
  const params = () => new URLSearchParams(good);
  const without = (key: string) => {
    const p = params();
    p.delete(key);
    return p.toString();
  };
  const withParam = (key: string, value: string) => {
    const p = params();
    p.set(key, value);
    return p.toString();
  };
  const signature = params().get('auth_signature') ?? '';
  const flipped = `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;

  const cases: Array<[string, () => void, RegExp]> = [
    ['missing signature', () => verify(without('auth_signature')), /auth_signature is missing/],
    ['empty signature', () => verify(withParam('auth_signature', '')), /auth_signature is missing/],
    ['another app key', () => verify(signRequestQuery({ key: 'otherkey', secret: 'testsecret' }, 'POST', PATH, BODY, {}, NOW)), /auth_key does not match/],
    ['missing key', () => verify(without('auth_key')), /auth_key does not match/],
    ['wrong version', () => verify(withParam('auth_version', '2.0')), /auth_version must be 1\.0/],
    ['missing version', () => verify(without('auth_version')), /auth_version must be 1\.0/],
    ['missing timestamp', () => verify(without('auth_timestamp')), /auth_timestamp must be Unix seconds/],
    ['timestamp not a number', () => verify(withParam('auth_timestamp', 'yesterday')), /auth_timestamp must be Unix seconds/],
    ['timestamp with a fraction', () => verify(withParam('auth_timestamp', `${NOW}.5`)), /auth_timestamp must be Unix seconds/],
    ['body tampered', () => verify(good, { body: BODY.replace('test-data', 'evil-data') }), /body_md5 does not match/],
    ['body_md5 missing on POST', () => verify(without('body_md5')), /body_md5 is missing/],
    ['body on a GET with no body_md5', () => verify(signRequestQuery(app, 'GET', PATH, '', {}, NOW), { method: 'GET' }), /body_md5 does not match/],
    ['signature tampered', () => verify(withParam('auth_signature', flipped)), /auth_signature does not match/],
    ['signature not hex', () => verify(withParam('auth_signature', 'z'.repeat(64))), /auth_signature must be 64 hex digits/],
    ['signature truncated', () => verify(withParam('auth_signature', signature.slice(0, 62))), /auth_signature must be 64 hex digits/],
    ['wrong secret', () => verify(signRequestQuery({ key: 'testkey', secret: 'othersecret' }, 'POST', PATH, BODY, {}, NOW)), /auth_signature does not match/],
    ['other path', () => verify(good, { path: '/apps/test-app/batch_events' }), /auth_signature does not match/],
    ['other method', () => verify(signRequestQuery(app, 'PUT', PATH, BODY, {}, NOW)), /auth_signature does not match/],
    ['added parameter', () => verify(withParam('info', 'user_count')), /auth_signature does not match/],
    ['changed parameter', () => verify(signRequestQuery(app, 'POST', PATH, BODY, { a: '1' }, NOW).replace('a=1', 'a=2')), /auth_signature does not match/],
  ];
  for (const [name, call, message] of cases) t.throws(call, { ...INVALID, message }, name);
});

t.test('the signature is compared as 64 hex digits in either case, every one of them', async (t) => {
  const p = new URLSearchParams(signRequestQuery(app, 'POST', PATH, BODY, {}, NOW));
  const signature = p.get('auth_signature') ?? '';
  const withSignature = (value: string) => {
    p.set('auth_signature', value);
    return p.toString();
  };
  t.doesNotThrow(() => verify(withSignature(signature.toUpperCase())), 'upper-case hex is the same digest');
  for (let i = 0; i < signature.length; i++) {
    const other = signature[i] === 'f' ? 'e' : 'f';
    t.throws(() => verify(withSignature(signature.slice(0, i) + other + signature.slice(i + 1))), { message: /auth_signature does not match/ }, `digit ${i} changed`);
  }
});

t.test('the signature mismatch message shows the string that was signed', async (t) => {
  const p = new URLSearchParams(signRequestQuery(app, 'POST', PATH, BODY, {}, NOW));
  p.set('auth_signature', '0'.repeat(64));
  t.throws(() => verify(p.toString()), { message: /POST\\n\/apps\/test-app\/events\\nauth_key=testkey&auth_timestamp=/ });
});

t.test('a valid signature with characters appended is refused', async (t) => {
  for (const tail of ['zz', '0', 'g']) {
    const p = new URLSearchParams(signRequestQuery(app, 'POST', PATH, BODY, {}, NOW));
    p.set('auth_signature', `${p.get('auth_signature')}${tail}`);
    t.throws(() => verify(p.toString()), INVALID, JSON.stringify(tail));
  }
});
