import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { nanoid } from 'nanoid';
import t, { type Test } from 'tap';
import { type GatewayProcess, presenceMember, startNodes } from '../helpers/cluster.js';
import { DEMO_APP } from '../helpers/gateway.js';
import { redisClient } from '../../src/cluster/redis-connection.js';
import { ON_REDIS_CLUSTER, testRedis } from '../helpers/redis.js';
import { type Answer, type ReceivedEvent, type WebhookReceiver, startReceiver } from '../helpers/webhook-receiver.js';
import { TestClient, until } from '../helpers/ws-client.js';

/** Short timings through the settings users have: a node is dead after 1 s, a grace period is 300 ms. */
const HEARTBEAT_MS = 200;
const NODE_TIMEOUT_MS = 1000;
const GRACE_MS = 300;
const FAST = ['--redis-heartbeat-ms', String(HEARTBEAT_MS), '--redis-node-timeout-ms', String(NODE_TIMEOUT_MS)];

interface Cluster {
  readonly nodes: GatewayProcess[];
  readonly receiver: WebhookReceiver;
  /** Resolves once every event each node emitted before now has reached the receiver. */
  settled(): Promise<void>;
}

/** `count` CLI gateways on one Redis whose demo app sends every webhook to a real receiver. */
async function webhookCluster(t: Test, count: number, answer?: (n: number) => Answer, shared?: { redis: string; prefix: string; receiver: WebhookReceiver }): Promise<Cluster> {
  const receiver = shared?.receiver ?? (await startReceiver(t, answer));
  const redis = shared?.redis ?? (await testRedis(t));
  const prefix = shared?.prefix ?? `test-${nanoid(8)}`;
  const dir = await mkdtemp(join(tmpdir(), 'gateway-cluster-webhooks-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'gateway.json');
  const app = { ...DEMO_APP, webhooks: [{ url: receiver.url }], webhookGraceMs: GRACE_MS, webhookBatchDelayMs: 20, webhookRetryBaseMs: 100 };
  await writeFile(config, JSON.stringify({ apps: [app] }));
  const nodes = await startNodes(t, count, [...FAST, '--config', config, '--redis-prefix', prefix], redis);
  const connection = ON_REDIS_CLUSTER ? redisClient({ clusterNodes: redis.split(',') }, { maxRetriesPerRequest: null }) : { url: redis };
  const queue = new Queue(DEMO_APP.id, { connection, prefix: `${prefix}:{webhooks}` });
  t.teardown(async () => {
    await queue.close();
    if (!('url' in connection)) connection.disconnect();
  });
  let sentinels = 0;
  return {
    nodes,
    receiver,
    async settled() {
      // A channel of its own on each live node: its channel_occupied comes from that node, after the node's
      // earlier events; once all are in and the queue in Redis is empty, so are those.
      const live = nodes.filter((node) => node.process.exitCode === null && node.process.signalCode === null);
      const names = live.map(() => `sentinel-${sentinels++}`);
      await Promise.all(live.map((node, i) => subscribe(t, node, names[i] as string)));
      await Promise.all(names.map((name) => receiver.waitFor(named('channel_occupied', name), name)));
      await until(async () => (await queue.getJobCountByTypes('wait', 'delayed', 'active', 'prioritized')) === 0, 'the webhook queue in Redis to be empty');
    },
  };
}

async function subscribe(t: Test, node: GatewayProcess, channel: string) {
  const { client } = await TestClient.established(node.wsUrl());
  t.teardown(() => client.close());
  client.send({ event: 'broadcastt:subscribe', data: { channel } });
  await client.next('broadcastt_internal:subscription_succeeded');
  return client;
}

const named = (name: string, channel: string, extra: Record<string, unknown> = {}) => (event: ReceivedEvent) =>
  event.name === name && event.channel === channel && Object.entries(extra).every(([key, value]) => event[key] === value);
const count = (receiver: WebhookReceiver, name: string, channel: string, extra?: Record<string, unknown>) => receiver.events().filter(named(name, channel, extra)).length;

t.test('three nodes: a channel occupied on two sends one channel_occupied, and one channel_vacated when its last subscriber leaves', async (t) => {
  const { nodes, receiver, settled } = await webhookCluster(t, 3);
  const [one, two] = nodes as [GatewayProcess, GatewayProcess];
  const [onOne, onTwo] = await Promise.all([subscribe(t, one, 'news'), subscribe(t, two, 'news')]);
  await receiver.waitFor(named('channel_occupied', 'news'), 'channel_occupied');
  const [annOnOne, annOnTwo] = [await presenceMember(t, one, 'presence-room', 'ann'), await presenceMember(t, two, 'presence-room', 'ann')];
  await receiver.waitFor(named('member_added', 'presence-room', { user_id: 'ann' }), 'member_added');
  await settled();
  t.equal(count(receiver, 'channel_occupied', 'news'), 1, 'one channel_occupied for two nodes');
  t.equal(count(receiver, 'member_added', 'presence-room', { user_id: 'ann' }), 1, 'one member_added for the same user on two nodes');

  await onOne.close();
  await annOnOne.client.close();
  await settled();
  t.equal(count(receiver, 'channel_vacated', 'news'), 0, 'node 2 still has a subscriber: not vacated');
  t.equal(count(receiver, 'member_removed', 'presence-room'), 0, 'nor ann removed');

  const leftAt = Date.now();
  await onTwo.close();
  await annOnTwo.client.close();
  await receiver.waitFor(named('channel_vacated', 'news'), 'channel_vacated');
  t.ok(Date.now() - leftAt >= GRACE_MS, `after the grace period (${Date.now() - leftAt} ms)`);
  await receiver.waitFor(named('member_removed', 'presence-room', { user_id: 'ann' }), 'member_removed');
  await settled();
  t.equal(count(receiver, 'channel_vacated', 'news'), 1, 'one channel_vacated');
  t.equal(count(receiver, 'member_removed', 'presence-room', { user_id: 'ann' }), 1, 'one member_removed');
  t.ok(receiver.requests.every((r) => r.valid), `all ${receiver.requests.length} requests valid for the pusher library`);
});

t.test('a SIGKILLed node’s channels and members are vacated once by the survivors, within the heartbeat bound', async (t) => {
  const { nodes, receiver, settled } = await webhookCluster(t, 3);
  const [one, , three] = nodes as [GatewayProcess, GatewayProcess, GatewayProcess];
  await subscribe(t, three, 'only-on-three');
  await subscribe(t, one, 'shared');
  await subscribe(t, three, 'shared');
  await presenceMember(t, one, 'presence-room', 'bob');
  await presenceMember(t, three, 'presence-room', 'dave');
  await settled();

  const killedAt = Date.now();
  three.process.kill('SIGKILL');
  const bound = NODE_TIMEOUT_MS + 2 * HEARTBEAT_MS + 3000;
  await receiver.waitFor(named('channel_vacated', 'only-on-three'), 'channel_vacated of the dead node’s channel', bound);
  await receiver.waitFor(named('member_removed', 'presence-room', { user_id: 'dave' }), 'member_removed of the dead node’s member', bound);
  const tookMs = Date.now() - killedAt;
  t.ok(tookMs <= NODE_TIMEOUT_MS + 2 * HEARTBEAT_MS + 1500, `within redisNodeTimeoutMs + 2 × redisHeartbeatMs (+ delivery): ${tookMs} ms`);
  await settled();
  t.equal(count(receiver, 'channel_vacated', 'only-on-three'), 1, 'vacated once, by one survivor');
  t.equal(count(receiver, 'member_removed', 'presence-room', { user_id: 'dave' }), 1, 'removed once');
  t.equal(count(receiver, 'channel_vacated', 'shared'), 0, 'node 1 still has "shared"');
  t.equal(count(receiver, 'channel_vacated', 'presence-room'), 0, 'and bob');
  t.equal(count(receiver, 'member_removed', 'presence-room', { user_id: 'bob' }), 0);
});

t.test('a delivery in flight on a node that is SIGKILLed still arrives, from another node', async (t) => {
  const redis = await testRedis(t);
  const prefix = `test-${nanoid(8)}`;
  // The first attempt is held unanswered until its node dies; any later one is answered.
  const receiver = await startReceiver(t, (n) => (n === 0 ? 'never' : 200));
  const { nodes } = await webhookCluster(t, 1, undefined, { redis, prefix, receiver });
  const [one] = nodes as [GatewayProcess];
  await subscribe(t, one, 'news');
  await receiver.waitForRequests(1);
  one.process.kill('SIGKILL');
  // A node started after the death takes the delivery once its lock lapses (redisNodeTimeoutMs).
  const [held] = receiver.requests;
  await webhookCluster(t, 1, undefined, { redis, prefix, receiver });
  await until(() => receiver.requests.filter((r) => r.id === held?.id).length === 2, 'the held delivery to be made again', 5 * NODE_TIMEOUT_MS + 5000);
  const again = receiver.requests.find((r, i) => i > 0 && r.id === held?.id);
  t.equal(again?.rawBody, held?.rawBody, 'the same delivery, byte for byte (Webhook-Id, time_ms, signature)');
  t.ok(again?.valid, 'valid for the pusher library');
  t.same(held?.events, [{ name: 'channel_occupied', channel: 'news' }]);
  await receiver.waitFor(named('channel_vacated', 'news'), 'and the dead node’s channel is vacated by the new one');
});
