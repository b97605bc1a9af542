import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { authenticateUser } from '../../src/protocol/channel-auth.js';
import { type GatewayProcess, startNodes } from '../helpers/cluster.js';
import { DEMO_APP } from '../helpers/gateway.js';
import { type PusherClientInstance, portOf, pusherClient, pusherServer, signedInPusherClient } from '../helpers/pusher.js';
import { startRedis, STANDALONE_ONLY } from '../helpers/redis.js';
import { startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { TestClient, until } from '../helpers/ws-client.js';

/**
 * User channels, subscription counts, cache channels, watchlists and trigger info across a two-process cluster on
 * Redis, with pusher-js and the `pusher` library on one node and plain ws in the broadcastt dialect on the other;
 * then a node SIGKILLed, and Redis restarted empty.
 */
const HEARTBEAT_MS = 200;
const NODE_TIMEOUT_MS = 1000;
const FAST = ['--redis-heartbeat-ms', String(HEARTBEAT_MS), '--redis-node-timeout-ms', String(NODE_TIMEOUT_MS)];
/** How long the survivors may take to forget a killed node, with room for a loaded machine. */
const DEAD_NODE_BOUND_MS = NODE_TIMEOUT_MS + 2 * HEARTBEAT_MS + 4000;

async function featureCluster(t: Test, receiver: WebhookReceiver, redis?: string): Promise<[GatewayProcess, GatewayProcess]> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-pusher-features-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'gateway.json');
  const app = { ...DEMO_APP, subscriptionCount: true, watchlistEvents: true, webhooks: [{ url: receiver.url, events: ['cache_miss'] }], webhookBatchDelayMs: 20 };
  await writeFile(config, JSON.stringify({ apps: [app] }));
  return (await startNodes(t, 2, [...FAST, '--config', config], redis)) as [GatewayProcess, GatewayProcess];
}

/** A broadcastt-dialect ws client on `node`, signed in as `user` when given. */
async function wsClient(t: Test, node: GatewayProcess, user?: { id: string; watchlist?: string[] }): Promise<TestClient> {
  const { client, socketId } = await TestClient.established(node.wsUrl());
  t.teardown(() => client.close());
  if (user === undefined) return client;
  client.send({ event: 'broadcastt:signin', data: authenticateUser(DEMO_APP, socketId, user) });
  await client.next('broadcastt:signin_success');
  return client;
}

async function subscribe(client: TestClient, channel: string) {
  client.send({ event: 'broadcastt:subscribe', data: { channel } });
  await client.next((f) => f.event === 'broadcastt_internal:subscription_succeeded' && f.channel === channel);
}

/** The next subscription_count of `channel` a pusher-js channel hears that equals `count`. */
const countReaches = (channel: ReturnType<PusherClientInstance['subscribe']>, count: number) =>
  new Promise<void>((resolve) => channel.bind('pusher:subscription_count', (data: { subscription_count: number }) => data.subscription_count === count && resolve()));
const wsCountReaches = (client: TestClient, channel: string, count: number, timeoutMs?: number) =>
  client.next((f) => f.event === 'broadcastt_internal:subscription_count' && f.channel === channel && f.data.subscription_count === count, timeoutMs);

t.test('two nodes: each feature is cluster-wide; a SIGKILLed node’s subscriptions and users are gone from the survivor', async (t) => {
  const receiver = await startReceiver(t);
  const [one, two] = await featureCluster(t, receiver);
  const server = { one: pusherServer(portOf(one.http)), two: pusherServer(portOf(two.http)) };

  // User channels: sendToUser on node 2 reaches ann's pusher-js on node 1 and her ws socket on node 2.
  const ann = await signedInPusherClient(t, portOf(one.http), { id: 'ann', watchlist: ['bob'] });
  const annOnTwo = await wsClient(t, two, { id: 'ann' });
  await subscribe(annOnTwo, '#server-to-user-ann');
  const toAnn = new Promise((resolve) => ann.user.bind('note', resolve));
  t.equal((await server.two.sendToUser('ann', 'note', { n: 1 })).status, 200);
  t.same(await toAnn, { n: 1 }, 'pusher-js on node 1');
  t.same((await annOnTwo.next('note')).data, { n: 1 }, 'ws on node 2');

  // Watchlist: bob signing in on node 2 is online for ann on node 1.
  const online = new Promise((resolve) => ann.user.watchlist.bind('online', resolve));
  const bob = await wsClient(t, two, { id: 'bob' });
  t.same(await online, { name: 'online', user_ids: ['bob'] });

  // Subscription counts: one subscriber on each node; each hears the cluster's count.
  const room = pusherClient(t, portOf(one.http)).subscribe('room');
  await countReaches(room, 1);
  const reachedTwo = countReaches(room, 2);
  await subscribe(bob, 'room');
  await reachedTwo;
  await wsCountReaches(bob, 'room', 2);

  // Trigger info from node 2 counts node 1's subscribers.
  const info = await server.two.trigger(['room', 'presence-x'], 'e', {}, { info: 'subscription_count,user_count' });
  t.same(await info.json(), { channels: { room: { subscription_count: 2 }, 'presence-x': { subscription_count: 0, user_count: 0 } } });

  // Cache channels: published through node 1, replayed to a subscriber on node 2; a miss on both nodes is one webhook.
  await server.one.trigger('cache-prices', 'tick', { p: 7 });
  const late = await wsClient(t, two);
  await subscribe(late, 'cache-prices');
  t.same((await late.next('tick')).data, { p: 7 });
  const missOne = pusherClient(t, portOf(one.http)).subscribe('cache-empty');
  await Promise.all([new Promise((resolve) => missOne.bind('pusher:cache_miss', resolve)), subscribe(late, 'cache-empty').then(() => late.next('broadcastt:cache_miss'))]);
  // A later miss on each node: once both are in, so is anything either node sent for cache-empty before.
  await subscribe(late, 'cache-sentinel-2');
  pusherClient(t, portOf(one.http)).subscribe('cache-sentinel-1');
  for (const channel of ['cache-sentinel-1', 'cache-sentinel-2']) await receiver.waitFor((event) => event.channel === channel, channel);
  t.same(receiver.events().filter((event) => event.channel === 'cache-empty'), [{ name: 'cache_miss', channel: 'cache-empty' }], 'one webhook for the misses on both nodes');

  // Node 2 dies without a word: its subscriber of "room" and bob are gone for node 1 within the bound.
  const offline = new Promise((resolve) => ann.user.watchlist.bind('offline', resolve));
  const backToOne = countReaches(room, 1);
  two.process.kill('SIGKILL');
  const killedAt = Date.now();
  await Promise.race([Promise.all([backToOne, offline]), new Promise((_, reject) => setTimeout(() => reject(new Error('the survivor did not recount in time')), DEAD_NODE_BOUND_MS))]);
  t.ok(Date.now() - killedAt <= DEAD_NODE_BOUND_MS, `recounted and offline within ${Date.now() - killedAt} ms`);
  t.same(await offline, { name: 'offline', user_ids: ['bob'] });
});

t.test('after Redis restarts empty, counts and online users are written again and are cluster-wide again', STANDALONE_ONLY, async (t) => {
  const redis = await startRedis(t);
  const receiver = await startReceiver(t);
  const [one, two] = await featureCluster(t, receiver, redis.url);
  const ann = await wsClient(t, one, { id: 'ann' });
  await subscribe(ann, 'room');
  const onTwo = await wsClient(t, two, { id: 'bob', watchlist: ['ann'] });
  t.same((await onTwo.next('broadcastt_internal:watchlist_events')).data, { events: [{ name: 'online', user_ids: ['ann'] }] });
  await subscribe(onTwo, 'room');
  await wsCountReaches(ann, 'room', 2);

  await redis.stop();
  await redis.start();
  // Node 1 writes its state again and, told it had been lost, announces its users again: bob hears ann once more.
  t.same((await onTwo.next('broadcastt_internal:watchlist_events', DEAD_NODE_BOUND_MS)).data, { events: [{ name: 'online', user_ids: ['ann'] }] });
  const server = pusherServer(portOf(two.http));
  const roomCount = async () => ((await (await server.trigger('room', 'e', {}, { info: 'subscription_count' })).json()) as { channels: { room: { subscription_count: number } } }).channels.room.subscription_count;
  await until(async () => (await roomCount().catch(() => 0)) === 2, 'node 1’s count to be in Redis again', DEAD_NODE_BOUND_MS);

  const watcher = await wsClient(t, two, { id: 'dave', watchlist: ['ann'] });
  t.same((await watcher.next('broadcastt_internal:watchlist_events')).data, { events: [{ name: 'online', user_ids: ['ann'] }] }, 'a new watcher on node 2 reads ann, on node 1, from Redis');
  const third = await wsClient(t, two);
  await subscribe(third, 'room');
  await wsCountReaches(ann, 'room', 3);
});
