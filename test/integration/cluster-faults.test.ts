import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { WsErrors } from '../../src/errors.js';
import { type GatewayProcess, presenceMember, startNodes } from '../helpers/cluster.js';
import { DEMO_APP, signedGet, signedPost } from '../helpers/gateway.js';
import { startRedis } from '../helpers/redis.js';
import { TestClient, until } from '../helpers/ws-client.js';

/** Short timings through the settings users have, so faults play out in seconds. */
const HEARTBEAT_MS = 200;
const NODE_TIMEOUT_MS = 1000;
const COMMAND_TIMEOUT_MS = 300;
const FAST = ['--redis-heartbeat-ms', String(HEARTBEAT_MS), '--redis-node-timeout-ms', String(NODE_TIMEOUT_MS), '--redis-command-timeout-ms', String(COMMAND_TIMEOUT_MS)];
const CHANNEL = 'presence-room';

/** The process's resident memory in MB, from /proc. */
function rssMB(node: GatewayProcess): number {
  const status = readFileSync(`/proc/${node.process.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** A client's view of a presence channel: its roster, then every member_added and member_removed it got. */
function viewOf(member: Awaited<ReturnType<typeof presenceMember>>, prefix: string): string[] {
  const view = new Set(member.roster.ids);
  for (const frame of member.client.received) {
    if (frame.event === `${prefix}_internal:member_added`) view.add(frame.data.user_id as string);
    if (frame.event === `${prefix}_internal:member_removed`) view.delete(frame.data.user_id as string);
  }
  return [...view].sort();
}

t.test('a frozen Redis under publish load: memory stays bounded, queries fail fast with 503, and the cluster comes back', async (t) => {
  const redis = await startRedis(t);
  // The demo app with a backend event limit above what this loop can send (about 500 batches of 10 a second
  // here): the test is about a frozen Redis, and the app's rate limit would otherwise answer part of it with 429.
  const dir = mkdtempSync(join(tmpdir(), 'cluster-faults-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'gateway.json');
  writeFileSync(config, JSON.stringify({ apps: [{ ...DEMO_APP, maxBackendEventsPerSecond: 1_000_000 }] }));
  const [one, two] = (await startNodes(t, 2, [...FAST, '--config', config, '--redis-max-pending-bytes', String(1 << 20)], redis.url)) as [GatewayProcess, GatewayProcess];
  const listener = await presenceMember(t, two, CHANNEL, 'listener');
  const batch = { batch: Array.from({ length: 10 }, (_, i) => ({ name: 'load', channel: CHANNEL, data: JSON.stringify({ i, pad: 'x'.repeat(9000) }) })) };
  const path = `/apps/${DEMO_APP.id}/events`;
  for (let i = 0; i < 50; i++) await signedPost(one, path, batch); // warm up: JIT, buffers and heap at their working size
  const before = rssMB(one);

  redis.freeze();
  let peak = before;
  const loadUntil = Date.now() + 4000;
  let sent = 0;
  const refusals: string[] = [];
  while (Date.now() < loadUntil) {
    const answer = await signedPost(one, path, batch);
    if (answer.status !== 200) refusals.push(`${answer.status} ${JSON.stringify(answer.body)}`);
    sent++;
    if (sent % 20 === 0) peak = Math.max(peak, rssMB(one));
  }
  t.same(refusals, [], `REST publishing goes on: ${sent} batches accepted`);
  const asked = Date.now();
  const query = await signedGet(one, `/apps/${DEMO_APP.id}/channels/${CHANNEL}/users`);
  const answeredIn = Date.now() - asked;
  t.equal(query.status, 503, 'a cluster-wide query answers 503 ClusterUnavailable');
  t.ok(answeredIn < COMMAND_TIMEOUT_MS + 1000, `within redisCommandTimeoutMs (${answeredIn} ms)`);
  const joinedAt = Date.now();
  const late = await presenceMember(t, one, CHANNEL, 'late');
  t.ok(late.roster.ids.includes('late') && Date.now() - joinedAt < COMMAND_TIMEOUT_MS + 1000, 'a presence subscription is decided on the node, within the timeout');
  peak = Math.max(peak, rssMB(one));
  t.ok(peak - before < 64, `RSS grew by ${(peak - before).toFixed(1)} MB while ${sent} batches of 90 KB were published to a frozen Redis (${before.toFixed(0)} → ${peak.toFixed(0)} MB)`);

  redis.thaw();
  await until(async () => {
    await signedPost(one, path, { name: 'across', channel: CHANNEL, data: '{}' });
    return listener.client.pending().some((f) => f.event === 'across');
  }, 'publishes to cross nodes again');
  t.ok(rssMB(one) - before < 64, `and after the thaw (${rssMB(one).toFixed(0)} MB)`);
  await until(async () => (await signedGet(two, `/apps/${DEMO_APP.id}/channels/${CHANNEL}/users`)).status === 200, 'queries to answer again');
});

t.test('SIGTERM of a clustered node tells the others its users left before it lets go of Redis', async (t) => {
  // A node timeout far longer than the test: only the leaving node itself can announce the departure in time.
  const [one, three] = (await startNodes(t, 2, ['--redis-heartbeat-ms', '200', '--redis-node-timeout-ms', '60000'])) as [GatewayProcess, GatewayProcess];
  const observer = await presenceMember(t, one, CHANNEL, 'observer');
  await presenceMember(t, three, CHANNEL, 'leaver');
  await observer.client.next('broadcastt_internal:member_added');
  const stoppedAt = Date.now();
  three.process.kill('SIGTERM');
  t.match(await observer.client.next('broadcastt_internal:member_removed', 5000), { data: { user_id: 'leaver' } });
  t.ok(Date.now() - stoppedAt < 5000, 'as the node shuts down, not after its timeout');
  t.same(viewOf(observer, 'broadcastt'), ['observer']);
});

t.test('after a Redis pause longer than the node timeout, every client’s presence view equals the cluster’s', async (t) => {
  const redis = await startRedis(t);
  const nodes = (await startNodes(t, 3, FAST, redis.url)) as [GatewayProcess, GatewayProcess, GatewayProcess];
  const names = ['ann', 'bob', 'cat'];
  const members = await Promise.all(names.map((name, i) => presenceMember(t, nodes[i] as GatewayProcess, CHANNEL, name)));
  await until(() => members.every((m) => viewOf(m, 'broadcastt').length === 3), 'everyone to see everyone');

  redis.freeze();
  await new Promise((resolve) => setTimeout(resolve, NODE_TIMEOUT_MS * 3));
  redis.thaw();
  // Long enough for every node to heartbeat a few times and any wrong removal to have happened.
  await new Promise((resolve) => setTimeout(resolve, NODE_TIMEOUT_MS + 5 * HEARTBEAT_MS));
  await until(async () => (await signedGet(nodes[0], `/apps/${DEMO_APP.id}/channels/${CHANNEL}/users`)).status === 200, 'queries to answer again');
  const cluster = ((await signedGet(nodes[0], `/apps/${DEMO_APP.id}/channels/${CHANNEL}/users`)).body.users as Array<{ id: string }>).map((u) => u.id).sort();
  t.same(cluster, ['ann', 'bob', 'cat'], 'the cluster still has all three');
  members.forEach((member, i) => t.same(viewOf(member, 'broadcastt'), cluster, `${names[i]}’s view`));
});

t.test('responses to broadcasts that wait on no live node never cross Redis, and are rate-limited per connection', async (t) => {
  const redis = await startRedis(t);
  const [one] = (await startNodes(t, 2, FAST, redis.url)) as [GatewayProcess, GatewayProcess];
  const publishes = () => {
    const stats = execFileSync('redis-cli', ['-u', redis.url, 'INFO', 'commandstats'], { encoding: 'utf8' });
    // PUBLISH under the fanout routing, SPUBLISH under the sharded one.
    return Number(/cmdstat_publish:calls=(\d+)/.exec(stats)?.[1] ?? 0) + Number(/cmdstat_spublish:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  };
  const { client } = await TestClient.established(one.wsUrl());
  t.teardown(() => client.close());
  const before = publishes();
  for (let i = 0; i < 150; i++) client.send({ event: 'broadcastt:response', data: { id: `nosuchnode.${i}`, channel: 'news', payload: 'x'.repeat(1000) } });
  const refusal = await client.next('broadcastt:error');
  t.match(refusal.data, { code: WsErrors.ResponseRejected.code, message: /over the limit of 100 responses per second/, channel: 'news' });
  t.equal(publishes() - before, 0, 'not one of them was published to Redis');
});
