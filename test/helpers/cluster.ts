import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { nanoid } from 'nanoid';
import type { Test } from 'tap';
import { authorizeChannel } from '../../src/protocol/channel-auth.js';
import { runCli, waitFor } from './cli.js';
import { DEMO_APP } from './gateway.js';
import { redisFlags, testRedis } from './redis.js';
import { TestClient, WAIT_MS } from './ws-client.js';

/** A gateway process of a test cluster, as users run it: the CLI with --redis. */
export interface GatewayProcess {
  readonly process: ChildProcessWithoutNullStreams;
  readonly http: string;
  /** Its Prometheus endpoint, when started with --metrics-port. */
  readonly metrics?: string;
  wsUrl(query?: string): string;
}

/**
 * `count` gateway processes joined by Redis under a prefix of their own (so tests sharing one Redis never
 * hear each other), killed when the test ends.
 */
export async function startNodes(t: Test, count: number, args: string[] = [], redis?: string): Promise<GatewayProcess[]> {
  const redisUrl = redis ?? (await testRedis(t));
  const prefix = `test-${nanoid(8)}`;
  const nodes: GatewayProcess[] = [];
  for (let i = 0; i < count; i++) {
    const node = runCli(['--port', '0', '--host', '127.0.0.1', ...redisFlags(redisUrl), '--redis-prefix', prefix, '--log-level', 'warn', '--shutdown-timeout-ms', '500', ...args]);
    t.teardown(() => stopGracefully(node));
    // The banner is one write: with --metrics-port its metrics line comes with the port.
    const banner = args.includes('--metrics-port') ? /listening on 127\.0\.0\.1:(\d+)[\s\S]*metrics: {2}(http:\S+)/ : /listening on 127\.0\.0\.1:(\d+)/;
    const [, port, metrics] = await waitFor(node.stdout, banner);
    nodes.push({ process: node, http: `http://127.0.0.1:${port}`, ...(metrics === undefined ? {} : { metrics }), wsUrl: (query = '') => `ws://127.0.0.1:${port}/app/${DEMO_APP.key}${query}` });
  }
  return nodes;
}

/**
 * SIGTERM, as an orchestrator stops a node: it leaves the cluster and takes its entries out of the shared Redis,
 * so test runs leave nothing behind there. SIGKILL if it has not exited after a while.
 */
async function stopGracefully(node: ChildProcessWithoutNullStreams): Promise<void> {
  if (node.exitCode !== null || node.signalCode !== null) return;
  const exited = new Promise((resolve) => node.once('exit', resolve));
  node.kill('SIGTERM');
  const timer = setTimeout(() => node.kill('SIGKILL'), WAIT_MS);
  await exited;
  clearTimeout(timer);
}

/** A client in a presence channel as `userId`, once the subscription succeeded. */
export async function presenceMember(t: Test, node: GatewayProcess, channel: string, userId: string, dialect: 'broadcastt' | 'pusher' = 'broadcastt') {
  const { client, socketId } = await TestClient.established(node.wsUrl(dialect === 'pusher' ? '?protocol=7' : ''));
  t.teardown(() => client.close());
  client.send({ event: `${dialect}:subscribe`, data: { channel, ...authorizeChannel(DEMO_APP, socketId, channel, JSON.stringify({ user_id: userId, user_info: { name: userId } })) } });
  const succeeded = await client.next(`${dialect}_internal:subscription_succeeded`);
  return { client, socketId, roster: succeeded.data.presence as { ids: string[]; count: number } };
}
