import { nanoid } from 'nanoid';
import t, { type Test } from 'tap';
import { type GatewayProcess, startNodes } from '../helpers/cluster.js';
import { DEMO_APP, httpRequest, signedPost } from '../helpers/gateway.js';
import { scrape, valueOf } from '../helpers/metrics.js';
import { ON_REDIS_CLUSTER, testRedis } from '../helpers/redis.js';
import { TestClient, until } from '../helpers/ws-client.js';

/** Publications in the first test, and after the new subscriber's answer in the second. */
const PUBLISHES = 50;

/** The messages from other nodes a gateway process has received (GET / health). */
async function received(node: GatewayProcess): Promise<number> {
  return (await httpRequest(`${node.http}/`)).body.clusterMessagesReceived as number;
}

async function subscriber(t: Test, node: GatewayProcess, channel: string): Promise<TestClient> {
  const { client } = await TestClient.established(node.wsUrl());
  t.teardown(() => client.close());
  client.send({ event: 'broadcastt:subscribe', data: { channel } });
  await client.next('broadcastt_internal:subscription_succeeded');
  return client;
}

const routings: Array<['sharded' | 'fanout', number]> = [
  ['sharded', 0],
  // The old routing shows the count can be other than zero: every node gets every publish.
  ...(ON_REDIS_CLUSTER ? [] : [['fanout', PUBLISHES] as ['fanout', number]]),
];

for (const [routing, expected] of routings) {
  t.test(`${routing} routing: a node without subscribers on a channel receives ${expected} of its ${PUBLISHES} publications`, async (t) => {
    const [one, two] = (await startNodes(t, 2, ['--redis-routing', routing, '--metrics-port', '0'])) as [GatewayProcess, GatewayProcess];
    const client = await subscriber(t, one, 'only-on-one');
    const before = await received(two);
    for (let n = 0; n < PUBLISHES; n++) await signedPost(one, `/apps/${DEMO_APP.id}/events`, { name: 'tick', channel: 'only-on-one', data: JSON.stringify({ n }) });
    await until(() => client.received.filter((f) => f.event === 'tick').length === PUBLISHES, 'every publication on node 1');
    // A message for every node, sent after them: once node 2 has it, it has had whatever it was sent before.
    await signedPost(one, `/apps/${DEMO_APP.id}/users/nobody/terminate_connections`, {});
    await until(async () => (await received(two)) > before + expected, 'the termination to reach node 2');
    t.equal((await received(two)) - before, expected + 1, `node 2 received ${expected} publications and the termination`);
    const metrics = await scrape(Number(new URL(two.metrics ?? '').port));
    t.equal(valueOf(metrics, 'broadcastt_cluster_messages_received_total', { app_id: DEMO_APP.id, kind: 'publish' }), expected, 'and its metrics say so');
  });
}

t.test('a subscriber arriving mid-stream on a new node gets every publication sent after its subscription_succeeded, once, in order', async (t) => {
  // One Redis and one prefix for both nodes, started apart.
  const [redis, prefix] = [await testRedis(t), `test-${nanoid(8)}`];
  const [one] = (await startNodes(t, 1, ['--redis-prefix', prefix], redis)) as [GatewayProcess];
  let sent = 0;
  let stop = false;
  // One publisher, each publish answered before the next: their order is the channel's.
  const publishing = (async () => {
    while (!stop) {
      sent++;
      await signedPost(one, `/apps/${DEMO_APP.id}/events`, { name: 'seq', channel: 'stream', data: JSON.stringify({ n: sent }) });
    }
  })();
  t.teardown(() => {
    stop = true;
    return publishing;
  });
  await until(() => sent > 10, 'publishing to be under way');
  const [two] = (await startNodes(t, 1, ['--redis-prefix', prefix], redis)) as [GatewayProcess];
  const client = await subscriber(t, two, 'stream');
  // Sent from here on: after the answer.
  const firstAfter = sent + 1;
  await until(() => sent >= firstAfter + PUBLISHES, 'more publications');
  stop = true;
  await publishing;
  await until(() => client.received.some((f) => f.event === 'seq' && (f.data as { n: number }).n === sent), 'the last publication');
  const numbers = client.received.filter((f) => f.event === 'seq').map((f) => (f.data as { n: number }).n);
  const from = numbers.indexOf(firstAfter);
  t.ok(from >= 0, `publication ${firstAfter}, the first sent after the answer, arrived`);
  t.same(
    numbers.slice(from),
    Array.from({ length: sent - firstAfter + 1 }, (_, i) => firstAfter + i),
    'and every one after it, once, in order',
  );
  t.same(numbers, [...numbers].sort((a, b) => a - b), 'none out of order or repeated before it either');
  t.equal(new Set(numbers).size, numbers.length);
});
