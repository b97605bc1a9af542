import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { WsErrors } from '../../src/errors.js';
import { type GatewayProcess, presenceMember, startNodes } from '../helpers/cluster.js';
import { startRedis, STANDALONE_ONLY } from '../helpers/redis.js';
import { waitFor } from '../helpers/cli.js';
import { DEMO_APP, type JsonBody, signedGet, signedPost } from '../helpers/gateway.js';
import { TestClient, until } from '../helpers/ws-client.js';

/** Short so the test is quick; the README states the bound these give (timeout + one heartbeat). */
const HEARTBEAT_MS = 200;
const NODE_TIMEOUT_MS = 1000;
const FAST_CLUSTER = ['--redis-heartbeat-ms', String(HEARTBEAT_MS), '--redis-node-timeout-ms', String(NODE_TIMEOUT_MS)];
const CHANNEL = 'presence-room';
const users = (response: { body: JsonBody }) => (response.body.users as Array<{ id: string }>).map((u) => u.id).sort();

t.test('three nodes keep one presence roster: member events once per cluster, queries from any node, a killed node’s members removed', async (t) => {
  const [one, two, three] = (await startNodes(t, 3, FAST_CLUSTER)) as [GatewayProcess, GatewayProcess, GatewayProcess];

  const annOnOne = await presenceMember(t, one, CHANNEL, 'ann');
  t.same(annOnOne.roster.ids, ['ann']);
  const bobOnTwo = await presenceMember(t, two, CHANNEL, 'bob', 'pusher');
  t.same(bobOnTwo.roster.ids.sort(), ['ann', 'bob'], 'the roster holds node 1’s member');
  t.match(await annOnOne.client.next('broadcastt_internal:member_added'), { channel: CHANNEL, data: { user_id: 'bob', user_info: { name: 'bob' } } }, 'member_added crosses nodes');

  const annOnThree = await presenceMember(t, three, CHANNEL, 'ann');
  t.equal(annOnThree.roster.count, 2, 'ann’s second socket, on another node, is the same member');
  await presenceMember(t, three, CHANNEL, 'dave');
  t.match(await bobOnTwo.client.next('pusher_internal:member_added'), { data: { user_id: 'dave' } }, 'in the Pusher dialect on node 2');
  t.match(await annOnOne.client.next('broadcastt_internal:member_added'), { data: { user_id: 'dave' } });
  t.notOk(bobOnTwo.client.received.some((f) => f.event === 'pusher_internal:member_added' && f.data.user_id === 'ann'), 'no member_added for ann’s second socket');

  for (const node of [one, two, three]) {
    t.same(users(await signedGet(node, `/apps/${DEMO_APP.id}/channels/${CHANNEL}/users`)), ['ann', 'bob', 'dave'], `users from ${node.http}`);
  }
  t.same((await signedGet(two, `/apps/${DEMO_APP.id}/channels/${CHANNEL}`, { info: 'user_count,subscription_count' })).body, { occupied: true, user_count: 3, subscription_count: 4 });
  t.same((await signedGet(one, `/apps/${DEMO_APP.id}/channels`, { filter_by_prefix: 'presence-', info: 'user_count' })).body, { channels: { [CHANNEL]: { user_count: 3 } } });

  // Public channel occupancy is cluster-wide too.
  const listener = await TestClient.established(three.wsUrl());
  t.teardown(() => listener.client.close());
  listener.client.send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
  await listener.client.next('broadcastt_internal:subscription_succeeded');
  await until(async () => (await signedGet(one, `/apps/${DEMO_APP.id}/channels/news`, { info: 'subscription_count' })).body.subscription_count === 1, 'node 1 to see node 3’s subscriber');

  annOnOne.client.send({ event: 'broadcastt:unsubscribe', data: { channel: CHANNEL } });
  await until(async () => (await signedGet(two, `/apps/${DEMO_APP.id}/channels/${CHANNEL}`, { info: 'subscription_count' })).body.subscription_count === 3, 'ann’s node 1 socket to leave');
  t.notOk(bobOnTwo.client.received.some((f) => f.event === 'pusher_internal:member_removed'), 'ann is still on node 3: no member_removed');

  // Node 3 dies without a word: ann (only there now) and dave leave the cluster within the stated bound.
  const killedAt = Date.now();
  three.process.kill('SIGKILL');
  const removed = new Set<string>();
  while (removed.size < 2) removed.add((await bobOnTwo.client.next('pusher_internal:member_removed', NODE_TIMEOUT_MS + HEARTBEAT_MS + 5000)).data.user_id as string);
  t.same([...removed].sort(), ['ann', 'dave'], 'member_removed for each member only node 3 had');
  t.ok(Date.now() - killedAt <= NODE_TIMEOUT_MS + HEARTBEAT_MS + 2000, `within redisNodeTimeoutMs + redisHeartbeatMs (+ slack): ${Date.now() - killedAt} ms`);
  t.same(users(await signedGet(one, `/apps/${DEMO_APP.id}/channels/${CHANNEL}/users`)), ['bob'], 'the roster lost them');
  t.equal((await signedGet(one, `/apps/${DEMO_APP.id}/channels/news`, { info: 'subscription_count' })).body.subscription_count, 0, 'and the counts');

  // The other two carry on.
  t.equal((await signedPost(one, `/apps/${DEMO_APP.id}/events`, { name: 'still-here', channel: CHANNEL, data: '{}' })).status, 200);
  await bobOnTwo.client.next('still-here');
  const carol = await presenceMember(t, one, CHANNEL, 'carol');
  t.same(carol.roster.ids.sort(), ['bob', 'carol']);
});

t.test('connection quotas count every node’s connections, as of the last heartbeat', async (t) => {
  const config = join(tmpdir(), `gateway-quota-${process.pid}.json`);
  writeFileSync(config, JSON.stringify({ apps: [{ ...DEMO_APP, maxConnections: 3 }] }));
  const nodes = await startNodes(t, 3, [...FAST_CLUSTER, '--config', config]);
  const [one, two, three] = nodes as [GatewayProcess, GatewayProcess, GatewayProcess];
  const clients = await Promise.all(nodes.map((node) => TestClient.established(node.wsUrl())));
  t.teardown(() => Promise.all(clients.map(({ client }) => client.close())));
  // Each node learns the others' counts from its next heartbeat: one connection each fills the quota of 3.
  for (const node of [one, two, three]) {
    await until(async () => (await tryConnect(node.wsUrl())) === WsErrors.OverConnectionQuota.code, `${node.http} to count the others’ connections`);
  }
  await clients[1]?.client.close();
  await until(async () => (await tryConnect(three.wsUrl())) === 'established', 'node 3 to see node 2’s connection gone');
});

/** Connects and disconnects again: 'established', or the close code of a refusal. */
async function tryConnect(url: string): Promise<'established' | number> {
  const client = await TestClient.connect(url);
  const established = client.next((f) => f.event.endsWith(':connection_established')).then(
    () => 'established' as const,
    () => undefined,
  );
  const outcome = await Promise.race([established, client.closed.then(({ code }) => code)]);
  await client.close();
  return outcome ?? (await client.closed).code;
}

/** A client of `node` subscribed to each of `channels`, once each subscription succeeded. */
async function subscribed(t: Test, node: GatewayProcess, channels: readonly string[]): Promise<TestClient> {
  const { client } = await TestClient.established(node.wsUrl());
  t.teardown(() => client.close());
  for (const channel of channels) {
    client.send({ event: 'broadcastt:subscribe', data: { channel } });
    await client.next((f) => f.event === 'broadcastt_internal:subscription_succeeded' && f.channel === channel);
  }
  return client;
}

t.test('a Redis restart is survived: local delivery goes on, then the nodes rejoin and write their state again', STANDALONE_ONLY, async (t) => {
  const redis = await startRedis(t);
  const nodes = await startNodes(t, 3, [...FAST_CLUSTER, '--log-level', 'info'], redis.url);
  const [one, two, three] = nodes as [GatewayProcess, GatewayProcess, GatewayProcess];
  const ann = await presenceMember(t, one, CHANNEL, 'ann');
  const bob = await presenceMember(t, two, CHANNEL, 'bob');
  await ann.client.next('broadcastt_internal:member_added');

  const dave = await presenceMember(t, three, CHANNEL, 'dave');
  // Node 3 follows many channels: each SSUBSCRIBE must be made again on reconnect (D21).
  const channels = Array.from({ length: 20 }, (_, i) => `news-${i}`);
  const reader = await subscribed(t, three, channels);
  const rejoined = Promise.all(nodes.map((node) => waitFor(node.process.stderr, /cluster state written again/)));
  await redis.stop();
  t.equal((await signedPost(one, `/apps/${DEMO_APP.id}/events`, { name: 'local', channel: CHANNEL, data: '{}' })).status, 200, 'REST publish still accepted');
  await ann.client.next('local');
  t.equal((await signedGet(one, `/apps/${DEMO_APP.id}/channels/${CHANNEL}/users`)).status, 503, 'a cluster-wide query says it cannot answer');
  const carol = await presenceMember(t, one, CHANNEL, 'carol');
  t.ok(carol.roster.ids.includes('carol'), 'presence subscriptions still complete, from this node’s roster');
  // A channel node 3 starts following while Redis is away: its subscription completes, and follows on reconnect.
  const late = await subscribed(t, three, ['news-late']);

  await redis.start();
  await rejoined;
  await until(async () => {
    const listed = await signedGet(two, `/apps/${DEMO_APP.id}/channels/${CHANNEL}/users`);
    return listed.status === 200 && users(listed).join() === 'ann,bob,carol,dave';
  }, 'node 2 to see nodes 1 and 3’s members again');
  await until(async () => {
    await signedPost(two, `/apps/${DEMO_APP.id}/events`, { name: 'across', channel: CHANNEL, data: '{}' });
    return ann.client.pending().some((f) => f.event === 'across');
  }, 'publishes to cross nodes again');
  for (const [client, channel] of [...channels.map((channel) => [reader, channel] as const), [late, 'news-late'] as const]) {
    await until(async () => {
      await signedPost(one, `/apps/${DEMO_APP.id}/events`, { name: 'again', channel, data: '{}' });
      return client.pending().some((f) => f.event === 'again' && f.channel === channel);
    }, `${channel} to reach node 3 again`);
  }
  t.pass('the nodes came back without restarting, following every channel they had');
  for (const node of nodes) t.equal(node.process.exitCode, null);
  for (const { client } of [bob, dave]) t.equal(client.ws.readyState, 1, 'clients stayed connected throughout');
});
