import t from 'tap';
import { broadcastTimeoutMs, checkBroadcastName, payloadText } from '../../src/broadcasts/broadcast-event.js';
import { WsErrors } from '../../src/errors.js';
import { testApp } from '../helpers/fake-connection.js';

const { app } = testApp({ broadcastTimeoutMs: 1000, maxBroadcastTimeoutMs: 5000, maxEventDataBytes: 20, maxEventNameLength: 5 });

t.test('broadcastTimeoutMs: missing or non-numeric means the default; numbers are clamped', async (t) => {
  const table: Array<[unknown, number]> = [
    [undefined, 1000],
    ['undefined', 1000],
    ['', 1000],
    [null, 1000],
    [Number.NaN, 1000],
    [{}, 1000],
    [250, 250],
    ['250', 250],
    ['100.0', 100],
    [0.4, 0],
    [-5, 0],
    [99_999, 5000],
    ['1e9', 5000],
    [Number.POSITIVE_INFINITY, 1000],
  ];
  for (const [value, expected] of table) t.equal(broadcastTimeoutMs(value, app), expected, JSON.stringify(value) ?? 'undefined');
  const { app: small } = testApp({ broadcastTimeoutMs: 9000, maxBroadcastTimeoutMs: 2000 });
  t.equal(broadcastTimeoutMs(undefined, small), 2000, 'the default never exceeds the maximum');
});

t.test('payloadText: JSON text within maxEventDataBytes; absent is {}', async (t) => {
  t.equal(payloadText(undefined, app), '{}');
  t.equal(payloadText(null, app), 'null');
  t.equal(payloadText({ a: [1, 'é'] }, app), '{"a":[1,"é"]}');
  t.throws(() => payloadText('x'.repeat(19), app), { code: WsErrors.MessageTooLarge.code, message: /21 bytes, over the limit of 20/ });
});

t.test('checkBroadcastName: at most maxEventNameLength', async (t) => {
  t.doesNotThrow(() => checkBroadcastName('fling', app));
  t.throws(() => checkBroadcastName('flings', app), { code: WsErrors.BroadcastRejected.code, message: /6 characters, over the limit of 5/ });
});
