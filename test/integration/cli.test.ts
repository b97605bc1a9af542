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
  t.match(banner.input, /app id app-id {2}key app-key {2}secret app-secret/);
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
