import t from 'tap';
import { parseQuery } from '../../src/http/query-string.js';

t.test('parseQuery gives exactly what URLSearchParams gives', async (t) => {
  const queries = [
    '',
    'a=1',
    'auth_key=app-key&auth_timestamp=1700000000&auth_version=1.0&body_md5=456f25996c7e2c9d91eb515384f3316a&auth_signature=ab12',
    'info=subscription_count%2Cuser_count&filter_by_prefix=presence-',
    'a=b+c&d=%2B&e=%zz&f=%&g=%e2%82%ac&h=%E2%82',
    'a&b=&=c&&d==e',
    'k=1&k=2&K=3',
    'x=%26y%3D1&y=a%3Db',
    'caf%C3%A9=th%C3%A9&sp%20ace=1',
  ];
  for (const query of queries) t.same(parseQuery(query), [...new URLSearchParams(query)], JSON.stringify(query));
});
