// The servers of one benchmark run: a single process, or several gateway nodes joined through Redis the way
// a deployment joins them (`redis` and a `redisPrefix` of their own), for scenarios that measure the hop.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { type ServerHandle, startServer } from './processes.js';

/** The Redis that multi-node scenarios use; BENCH_REDIS_URL points them elsewhere. */
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Whether Redis answers a PING within a second; a multi-node scenario is skipped rather than failed if not. */
export async function redisReachable(url = REDIS_URL): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * Starts `count` server processes of `kind`, publishes going to the first. More than one is a cluster: each
 * gateway gets `redis` and a prefix unique to this start, merged into the scenario's BENCH_GATEWAY_OPTIONS,
 * so no other run's nodes (or leftover ones) share its fan-out channel. Only the gateway reads those options.
 */
export async function startNodes(kind: string, count: number, env: Readonly<Record<string, string>> = {}): Promise<ServerHandle[]> {
  if (count === 1) return [await startServer(kind, env)];
  const options = JSON.parse(env.BENCH_GATEWAY_OPTIONS ?? '{}') as Record<string, unknown>;
  const joined = { ...env, BENCH_GATEWAY_OPTIONS: JSON.stringify({ ...options, redis: REDIS_URL, redisPrefix: `bench-${randomUUID()}` }) };
  const nodes: ServerHandle[] = [];
  try {
    // One after another: each has subscribed to the fan-out channel by the time it reports its port.
    for (let i = 0; i < count; i++) nodes.push(await startServer(kind, joined));
  } catch (error) {
    await stopNodes(nodes);
    throw error;
  }
  return nodes;
}

export async function stopNodes(nodes: readonly ServerHandle[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.stop()));
}
