import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { WsErrors } from '../../src/errors.js';
import { runCli, waitFor } from '../helpers/cli.js';
import { TestClient } from '../helpers/ws-client.js';

const run = runCli;

async function exitOf(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

t.test('the CLI prints a banner, serves the demo app, and drains with 4200 on SIGTERM', async (t) => {
  const child = run(['--port', '0', '--host', '127.0.0.1']);
  t.teardown(() => child.kill('SIGKILL'));
  const banner = await waitFor(child.stdout, /listening on 127\.0\.0\.1:(\d+)[^]*health:.*\n/);
  const port = banner[1];
  t.match(banner.input, /uWebSockets\.js: native/);
  t.match(banner.input, /app id app-id {2}key app-key {2}consumer keys app-consumer-key {2}\(the demo app: its secret is public, in the README\)/);
  t.match(banner.input, new RegExp(`ws://127\\.0\\.0\\.1:${port}/app/app-key`));

  const { client } = await TestClient.established(`ws://127.0.0.1:${port}/app/app-key`);
  const exited = exitOf(child);
  child.kill('SIGTERM');
  t.equal((await client.next('broadcastt:error')).data.code, WsErrors.ServerRestarting.code);
  t.equal((await client.closed).code, WsErrors.ServerRestarting.code);
  t.equal((await exited).code, 0, 'exits cleanly once clients are gone');
});

t.test('--help lists every setting with its environment variable', async (t) => {
  const { code, stdout } = await exitOf(run(['--help']));
  t.equal(code, 0);
  for (const text of ['--config', '--port', 'GATEWAY_PORT', '--activity-timeout', 'GATEWAY_MAX_BACKPRESSURE_BYTES', 'GATEWAY_APP_KEY']) {
    t.match(stdout, text);
  }
});

t.test('configuration errors name the offending path and exit 1', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-config-'));
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ apps: [{ id: 'a', key: 'k', secret: 'short' }] }));
  const bad = await exitOf(run(['--config', file]));
  t.equal(bad.code, 1);
  t.match(bad.stderr, /config\.apps\[0\]\.secret must NOT have fewer than 8 characters/);

  const env = await exitOf(run([], { GATEWAY_PORT: 'sixty' }));
  t.equal(env.code, 1);
  t.match(env.stderr, /GATEWAY_PORT must be a number/);
});

t.test('a config file and environment variables configure the gateway', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-config-'));
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ host: '127.0.0.1', port: 0, activityTimeout: 30 }));
  const child = run(['--config', file], { GATEWAY_APP_ID: 'mine', GATEWAY_APP_KEY: 'my-key', GATEWAY_APP_SECRET: 'my-secret-1' });
  t.teardown(() => child.kill('SIGKILL'));
  const [, port] = await waitFor(child.stdout, /listening on 127\.0\.0\.1:(\d+)/);
  const { client } = await TestClient.established(`ws://127.0.0.1:${port}/app/my-key`);
  t.equal(client.received[0]?.data.activity_timeout, 30);
  const exited = exitOf(child);
  child.kill('SIGINT');
  await client.closed;
  t.equal((await exited).code, 0);
});

t.test('the demo app listens on loopback only unless a host is given, and no secret is ever printed', async (t) => {
  const demo = run(['--port', '0']);
  t.teardown(() => demo.kill('SIGKILL'));
  const output = exitOf(demo);
  await waitFor(demo.stdout, /listening on 127\.0\.0\.1:\d+[^]*health:.*\n/);
  demo.kill('SIGTERM');
  const { stdout, stderr } = await output;
  t.notMatch(stdout + stderr, /app-secret/, 'the demo secret is not printed');

  const configured = run(['--port', '0', '--log-level', 'debug'], { GATEWAY_APP_ID: 'mine', GATEWAY_APP_KEY: 'my-key', GATEWAY_APP_SECRET: 'a-secret-of-mine' });
  t.teardown(() => configured.kill('SIGKILL'));
  const configuredOutput = exitOf(configured);
  await waitFor(configured.stdout, /listening on 0\.0\.0\.0:\d+[^]*health:.*\n/);
  configured.kill('SIGTERM');
  const all = await configuredOutput;
  t.notMatch(all.stdout + all.stderr, /a-secret-of-mine/, 'nor a configured one, at any log level');
  t.match(all.stdout, /app id mine {2}key my-key\n/);
});

t.test('a second gateway on a port that is taken exits 1 with the reason, and the first keeps it', async (t) => {
  const first = run(['--port', '0']);
  t.teardown(() => first.kill('SIGKILL'));
  const [, port] = await waitFor(first.stdout, /listening on 127\.0\.0\.1:(\d+)/);
  const second = await exitOf(run(['--port', String(port)]));
  t.equal(second.code, 1);
  t.match(second.stderr, new RegExp(`^the gateway did not start: cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
  t.equal(second.stderr.trim().split('\n').length, 1, 'one line, no stack');
  const { client } = await TestClient.established(`ws://127.0.0.1:${port}/app/app-key`);
  client.close();
});

t.test('every startup failure is one line on stderr, without a stack, and exit status 1', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-config-'));
  const config = async (name: string, value: unknown) => {
    const file = join(dir, name);
    await writeFile(file, JSON.stringify(value));
    return file;
  };
  const app = (id: string, key: string) => ({ id, key, secret: 'long-secret' });
  const cases: Array<[string, string[], RegExp]> = [
    ['Redis that refuses', ['--redis', 'redis://127.0.0.1:1'], /^the gateway did not start: cannot join the cluster through Redis at redis:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/],
    ['two apps with one key', ['--config', await config('keys.json', { apps: [app('a', 'k'), app('b', 'k')] })], /^configuration error: .*config\.apps\[1\] uses the key "k" again/],
    ['two apps with one id', ['--config', await config('ids.json', { apps: [app('a', 'k'), app('a', 'l')] })], /^configuration error: .*config\.apps\[1\]\.id "a" is used by another app/],
    ['a misspelled setting', ['--config', await config('typo.json', { prot: 6001 })], /^configuration error: .*config has an unknown property "prot"/],
    ['a misspelled app setting', ['--config', await config('app-typo.json', { apps: [{ ...app('a', 'k'), clientEvent: true }] })], /^configuration error: .*config\.apps\[0\] has an unknown property "clientEvent"/],
    ['a certificate that does not exist', ['--tls-cert-file', join(dir, 'none.pem'), '--tls-key-file', join(dir, 'none.key')], /^configuration error: config\.tlsCertFile: cannot read .*none\.pem: ENOENT/],
    ['a certificate without a key', ['--tls-cert-file', join(dir, 'none.pem')], /^configuration error: .*tlsCertFile and config\.tlsKeyFile go together/],
    ['a webhook URL without a scheme', ['--config', await config('hook.json', { apps: [{ ...app('a', 'k'), webhooks: [{ url: 'backend.example.com/hooks' }] }] })], /^configuration error: .*config\.apps\[0\]\.webhooks\[0\]\.url must be an absolute http:\/\/ or https:\/\/ URL, got "backend\.example\.com\/hooks"/],
    [
      'Redis that refuses, with webhooks (their queue lives there too)',
      ['--redis', 'redis://127.0.0.1:1', '--config', await config('hook-redis.json', { apps: [{ ...app('a', 'k'), webhooks: [{ url: 'http://127.0.0.1:9/hooks' }] }] })],
      /^the gateway did not start: cannot join the cluster through Redis at redis:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/,
    ],
  ];
  for (const [label, args, message] of cases) {
    const { code, stderr } = await exitOf(run(['--port', '0', ...args]));
    t.equal(code, 1, `${label}: exit 1`);
    t.match(stderr, message, label);
    t.equal(stderr.trim().split('\n').length, 1, `${label}: one line`);
    t.notMatch(stderr, /\n\s+at /, `${label}: no stack`);
  }
});

t.test('a Redis that accepts connections but never answers is a startup failure within redisNodeTimeoutMs', async (t) => {
  const { createServer } = await import('node:net');
  const silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => silent.close());
  const { port } = silent.address() as { port: number };
  const started = Date.now();
  const { code, stderr } = await exitOf(run(['--port', '0', '--redis', `redis://127.0.0.1:${port}`, '--redis-node-timeout-ms', '1000', '--redis-heartbeat-ms', '200']));
  t.equal(code, 1);
  t.match(stderr, /^the gateway did not start: cannot join the cluster through Redis at redis:\/\/127\.0\.0\.1:\d+: no answer within 1000 ms/);
  t.ok(Date.now() - started < 10_000, 'it gave up instead of hanging');
});

