import Pusher from 'pusher';
import t from 'tap';
import { resolveConfig } from '../../src/config.js';
import { signedDelivery, WEBHOOK_ID_HEADER } from '../../src/webhooks/delivery.js';
import { retryDelayMs } from '../../src/webhooks/retry-policy.js';

const app = resolveConfig({ apps: [{ id: 'app', key: 'the-key', secret: 'the-secret-0', webhooks: [{ url: 'https://example.com/hook', headers: { Authorization: 'Bearer x' } }] }] }).apps[0];
if (!app) throw new Error('no app');
const target = app.webhooks[0];
if (!target) throw new Error('no webhook');

t.test('a delivery is what the pusher library accepts: body, Content-Type, key and HMAC of the raw body', async (t) => {
  const delivery = signedDelivery(app, target, [{ name: 'channel_occupied', channel: 'news' }], 'id-1', 1_700_000_000_123);
  t.equal(delivery.body, '{"time_ms":1700000000123,"events":[{"name":"channel_occupied","channel":"news"}]}');
  t.same(delivery.headers, {
    Authorization: 'Bearer x',
    'Content-Type': 'application/json',
    'X-Pusher-Key': 'the-key',
    'X-Pusher-Signature': delivery.headers['X-Pusher-Signature'],
    [WEBHOOK_ID_HEADER]: 'id-1',
  });
  const lower = Object.fromEntries(Object.entries(delivery.headers).map(([name, value]) => [name.toLowerCase(), value]));
  const pusher = new Pusher({ appId: 'app', key: 'the-key', secret: 'the-secret-0', cluster: 'local' });
  t.ok(pusher.webhook({ headers: lower, rawBody: delivery.body }).isValid(), 'valid');
  t.notOk(pusher.webhook({ headers: lower, rawBody: delivery.body.replace('news', 'nows') }).isValid(), 'a changed body is not');
  t.notOk(new Pusher({ appId: 'app', key: 'the-key', secret: 'another-one', cluster: 'local' }).webhook({ headers: lower, rawBody: delivery.body }).isValid(), 'nor another secret');
  t.same(new Pusher({ appId: 'app', key: 'the-key', secret: 'the-secret-0', cluster: 'local' }).webhook({ headers: lower, rawBody: delivery.body }).getEvents(), [{ name: 'channel_occupied', channel: 'news' }]);
});

t.test('retries back off exponentially from webhookRetryBaseMs and stop when the next would leave the window', async (t) => {
  const settings = { webhookRetryBaseMs: 1000, webhookRetryForMs: 300_000 };
  const delays: number[] = [];
  let now = 0;
  for (let failures = 1; ; failures++) {
    const delay = retryDelayMs(failures, 0, now, settings);
    if (delay === undefined) break;
    delays.push(delay);
    now += delay + 4000; // each attempt may take up to the 4 s timeout
  }
  t.same(delays, [1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000], 'Pusher’s 5 minutes, from 1 s');
  t.equal(retryDelayMs(1, 0, 299_500, settings), undefined, 'nothing starts after the window');
  t.equal(retryDelayMs(1, 0, 0, { webhookRetryBaseMs: 1, webhookRetryForMs: 0 }), undefined, 'a window of 0: no retries');
});
