import t from 'tap';
import { readSignedQuery } from '../../src/http/signed-query.js';

/** What the signature check must see, computed the slow and obvious way with URLSearchParams. */
function reference(query: string) {
  const params = new URLSearchParams(query);
  const pairs = [...params].filter(([key]) => key !== 'auth_signature');
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    auth_key: params.get('auth_key'),
    auth_timestamp: params.get('auth_timestamp'),
    auth_version: params.get('auth_version'),
    auth_signature: params.get('auth_signature'),
    body_md5: params.get('body_md5'),
    canonical: pairs.map(([key, value]) => `${key}=${value}`).join('&'),
  };
}

const LIBRARY_QUERY = 'auth_key=app-key&auth_signature=ab12&auth_timestamp=1700000000&auth_version=1.0&body_md5=456f25996c7e2c9d91eb515384f3316a';

t.test('queries as libraries send them, and every odd shape, read exactly as URLSearchParams reads them', async (t) => {
  const queries = [
    '',
    'a=1',
    LIBRARY_QUERY,
    'auth_signature=ab12',
    'auth_signature=ab12&b=2',
    'a=1&auth_signature=ab12',
    'auth_key=k&auth_signature=1&auth_signature=2',
    'z=1&a=2&auth_signature=s',
    'info=subscription_count%2Cuser_count&filter_by_prefix=presence-&auth_key=k',
    'a=b+c&d=%2B&e=%zz&f=%&g=%e2%82%ac&h=%E2%82',
    'a&b=&=c&&d==e',
    'a=1&',
    '&a=1',
    'k=1&k=2&K=3',
    'auth_key=a&auth_key=b',
    'x=%26y%3D1&y=a%3Db',
    'caf%C3%A9=th%C3%A9&sp%20ace=1',
    'canonical=x&auth_key=k',
    '__proto__=1&constructor=2',
  ];
  for (const query of queries) t.same({ ...readSignedQuery(query) }, reference(query), JSON.stringify(query));
});

t.test('random queries read exactly as URLSearchParams reads them', async (t) => {
  const keys = ['auth_key', 'auth_signature', 'auth_timestamp', 'auth_version', 'body_md5', 'a', 'B', 'é', '', 'info'];
  const values = ['1', '', 'x y', 'a%20b', 'a+b', '%', '=', 'v=w', '1.0', 'é'];
  let seed = 7;
  const pick = <T>(list: readonly T[]): T => list[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % list.length] as T;
  for (let run = 0; run < 2000; run++) {
    const parts = Array.from({ length: 1 + (run % 7) }, () => (pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) === 0 ? pick(keys) : `${pick(keys)}=${pick(values)}`));
    const query = run % 3 === 0 ? parts.sort().join('&') : parts.join('&');
    const read = { ...readSignedQuery(query) };
    if (JSON.stringify(read) !== JSON.stringify(reference(query))) t.same(read, reference(query), JSON.stringify(query));
  }
  t.pass('2,000 random queries agree');
});
