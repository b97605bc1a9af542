import { createHmac, randomBytes } from 'node:crypto';
import t from 'tap';
import { hmacSha256Signer } from '../../src/http/hmac-sha256.js';

const reference = (key: string, message: string) => createHmac('sha256', key).update(message).digest('hex');

t.test('the signer gives exactly what createHmac gives, for every kind of key and message', async (t) => {
  const keys = [
    '',
    'bench-secret-123',
    'x'.repeat(63),
    'x'.repeat(64),
    'x'.repeat(65), // longer than a block: hashed first (createHmac path)
    'sécret', // not ASCII (createHmac path)
    '\u0000\u007f ~',
    randomBytes(32).toString('base64'),
  ];
  const messages = ['', 'POST\n/apps/1/events\nauth_key=k&auth_timestamp=1&auth_version=1.0&body_md5=abc', 'caf\u00e9 \u20ac \u{1f600}', 'm'.repeat(10_000)];
  for (const key of keys) {
    const sign = hmacSha256Signer(key);
    for (const message of messages) t.equal(sign(message), reference(key, message), `${JSON.stringify(key.slice(0, 12))} × ${message.length} chars`);
  }
});

t.test('a signer can be called many times with different messages (its buffer is reused)', async (t) => {
  const sign = hmacSha256Signer('bench-secret-123');
  for (let i = 0; i < 1000; i++) {
    const message = `message ${i} ${'y'.repeat(i % 97)}`;
    if (sign(message) !== reference('bench-secret-123', message)) t.fail(`differs at ${i}`);
  }
  t.pass('1,000 messages agree');
});
