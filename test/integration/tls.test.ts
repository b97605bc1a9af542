import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/log.js';
import { DEMO_APP } from '../helpers/gateway.js';
import { TestClient } from '../helpers/ws-client.js';

/** A self-signed certificate for 127.0.0.1 and localhost, made with Debian's openssl for this test. */
async function certificate(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const [certFile, keyFile] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  return { dir, certFile, keyFile, ca: await readFile(certFile) };
}

t.test('with tlsCertFile and tlsKeyFile the gateway serves wss:// and https:// itself', async (t) => {
  const { certFile, keyFile, ca } = await certificate(t);
  const gateway = createGateway({ logger: createLogger('silent'), tlsCertFile: certFile, tlsKeyFile: keyFile });
  t.equal(gateway.isSecure, true);
  const port = await gateway.listen(0, '127.0.0.1');
  t.teardown(() => gateway.close());

  const { client } = await TestClient.established(`wss://127.0.0.1:${port}/app/${DEMO_APP.key}`, { ca });
  client.send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
  await client.next('broadcastt_internal:subscription_succeeded');
  gateway.publish(DEMO_APP.id, 'news', 'headline', { secure: true });
  t.match(await client.next('headline'), { channel: 'news', data: { secure: true } }, 'a wss:// client receives');

  const health = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
    get(`https://127.0.0.1:${port}/`, { ca, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
  t.equal(health.status, 200);
  t.match(JSON.parse(health.body), { status: 'ok', connections: 1 }, 'and REST answers over https://');

  await t.rejects(TestClient.connect(`ws://127.0.0.1:${port}/app/${DEMO_APP.key}`), 'plain ws:// is not served on a TLS port');
  client.close();
});

t.test('a certificate and key that are not a PEM pair are a configuration error naming the files', async (t) => {
  const { dir, certFile } = await certificate(t);
  const other = join(dir, 'other.pem');
  await writeFile(other, 'not a key');
  t.throws(() => createGateway({ logger: createLogger('silent'), tlsCertFile: certFile, tlsKeyFile: other }), {
    name: 'ConfigError',
    message: /config\.tlsCertFile: cannot load the TLS certificate .*cert\.pem with the key .*other\.pem/,
  });
});
