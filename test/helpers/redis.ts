import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import type { Test } from 'tap';
import type { RedisTarget } from '../../src/cluster/redis-connection.js';
import { portOutsideEphemeralRange, waitFor } from './cli.js';

/** A Redis server of the test's own, on a free port, that the test can stop and start again. */
export interface TestRedis {
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Freezes the server (SIGSTOP): it keeps its connections and answers nothing, as a hung Redis does. */
  freeze(): void;
  /** Lets a frozen server go on (SIGCONT). */
  thaw(): void;
}

const MISSING = 'redis-server is not installed: the cluster tests start their own (Debian: apt-get install redis-server; .ci/run does), or set REDIS_URL to a Redis they may use';

/**
 * The Redis a test file uses: REDIS_URL when it is set, otherwise a redis-server of the file's own, so
 * `npm test` needs no Redis running on a fixed port. Fails with one plain line when there is neither.
 */
export async function testRedis(t: Test): Promise<string> {
  return process.env.REDIS_URL ?? (await startRedis(t)).url;
}

/**
 * Whether the tests run against a Redis Cluster: REDIS_CLUSTER=true with REDIS_URL listing its nodes,
 * comma-separated, as test/integration/redis-cluster.test.ts runs the cluster suite.
 */
export const ON_REDIS_CLUSTER = process.env.REDIS_CLUSTER === 'true';

/** The Redis a test file uses, as the gateway's Redis classes take it (testRedis; a Redis Cluster when ON_REDIS_CLUSTER). */
export async function testRedisTarget(t: Test): Promise<RedisTarget> {
  const url = await testRedis(t);
  return ON_REDIS_CLUSTER ? { clusterNodes: url.split(',') } : url;
}

/** The gateway flags that join `url`: a Redis Cluster when it is the one ON_REDIS_CLUSTER names. */
export function redisFlags(url: string): string[] {
  return ['--redis', url, ...(ON_REDIS_CLUSTER && url === process.env.REDIS_URL ? ['--redis-cluster', 'true'] : [])];
}

/** For tests that stop, freeze or restart a standalone Redis of their own: not what a Redis Cluster run is for. */
export const STANDALONE_ONLY = { skip: ON_REDIS_CLUSTER && 'it restarts a standalone Redis of its own' };

/** Runs a redis-cli command (one key's, so it finds its node on a Redis Cluster: -c follows redirections). */
export function redisCli(target: RedisTarget, args: readonly string[]): string {
  const url = typeof target === 'string' ? target : (target.clusterNodes[0] as string);
  return execFileSync('redis-cli', ['-u', url, ...(typeof target === 'string' ? [] : ['-c']), ...args], { encoding: 'utf8' });
}

/** Starts redis-server on a free port, without persistence; killed when the test ends. */
export async function startRedis(t: Test): Promise<TestRedis> {
  const port = await portOutsideEphemeralRange();
  let server: ChildProcessWithoutNullStreams | undefined;
  const start = async () => {
    const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
    server = started;
    const missing = new Promise<never>((_, reject) => started.once('error', () => reject(new Error(MISSING))));
    await Promise.race([waitFor(started.stdout, /Ready to accept connections/), missing]);
  };
  const stop = async () => {
    const stopping = server;
    if (!stopping || stopping.exitCode !== null || stopping.pid === undefined) return;
    await new Promise((resolve) => {
      stopping.once('exit', resolve);
      stopping.kill('SIGKILL');
    });
  };
  const signal = (name: NodeJS.Signals) => () => {
    server?.kill(name);
  };
  t.teardown(stop);
  await start();
  return { url: `redis://127.0.0.1:${port}`, stop, start, freeze: signal('SIGSTOP'), thaw: signal('SIGCONT') };
}
