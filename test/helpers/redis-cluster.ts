import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { portOutsideEphemeralRange, waitFor } from './cli.js';
import { until } from './ws-client.js';

const run = promisify(execFile);
/** Redis Cluster's bus listens on each node's port plus this. */
const BUS_PORT_OFFSET = 10_000;
/** A new cluster agrees on its slots within a few seconds; more means something is wrong. */
const CLUSTER_READY_MS = 20_000;

/**
 * A Redis Cluster of the test's own: `masters` redis-servers with cluster mode on, on free local ports, without
 * persistence, joined by `redis-cli --cluster create` (no replicas). Killed, and its directory removed, when the
 * test ends. Resolves to the nodes' URLs, comma-separated, as the gateway's `redis` takes them.
 */
export async function startRedisCluster(t: Test, masters = 3): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-cluster-'));
  const servers: ChildProcessWithoutNullStreams[] = [];
  t.teardown(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => (server.exitCode === null ? (server.once('exit', resolve), server.kill('SIGKILL')) : resolve(undefined)))));
    await rm(dir, { recursive: true, force: true });
  });
  const ports: number[] = [];
  while (ports.length < masters) {
    const port = await portOutsideEphemeralRange();
    if (!ports.includes(port) && (await isFree(port + BUS_PORT_OFFSET))) ports.push(port);
  }
  for (const port of ports) {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--save', '', '--appendonly', 'no'];
    const server = spawn('redis-server', args, { cwd: dir });
    servers.push(server);
    await waitFor(server.stdout, /Ready to accept connections/);
  }
  const addresses = ports.map((port) => `127.0.0.1:${port}`);
  await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
  // Every node must know every slot's owner before clients may rely on MOVED answers.
  await until(
    async () => {
      const states = await Promise.all(ports.map((port) => run('redis-cli', ['-p', String(port), 'CLUSTER', 'INFO']).then(({ stdout }) => stdout)));
      return states.every((state) => state.includes('cluster_state:ok') && state.includes(`cluster_known_nodes:${masters}`));
    },
    'the Redis Cluster to be ready',
    CLUSTER_READY_MS,
  );
  return ports.map((port) => `redis://127.0.0.1:${port}`).join(',');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
