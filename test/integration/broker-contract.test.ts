import { nanoid } from 'nanoid';
import t from 'tap';
import type { Broker } from '../../src/cluster/broker.js';
import { type ClusterMessage, decodeClusterMessage, encodeClusterMessage, type PublishMessage } from '../../src/cluster/cluster-message.js';
import { MemoryHub } from '../../src/cluster/memory-broker.js';
import { RedisBroker } from '../../src/cluster/redis-broker.js';
import { partitionOf } from '../../src/cluster/redis-names.js';
import { RedisShardedBroker, type ShardedBrokerSettings } from '../../src/cluster/redis-sharded-broker.js';
import { createLogger } from '../../src/log.js';
import { ON_REDIS_CLUSTER, testRedisTarget } from '../helpers/redis.js';
import { until } from '../helpers/ws-client.js';

/** The contract must hold for the real thing: a redis-server of this file's own (or REDIS_URL). */
const REDIS = await testRedisTarget(t);
const SHARDED: ShardedBrokerSettings = { commandTimeoutMs: 1000, maxPendingBytes: 1 << 20, partitions: 16, lingerMs: 0 };
/** The one channel the contract's messages are on: order is per channel. */
const CHANNEL = 'WyJ-ch_==';

/** A sharded broker following CHANNEL from its start, as a node with subscribers there does. */
function following(broker: RedisShardedBroker): Broker {
  return {
    start: async (receive) => {
      await broker.start(receive);
      await broker.follow('app', CHANNEL);
    },
    send: (m) => broker.send(m),
    close: () => broker.close(),
  };
}

type Factory = (nodeId: string, prefix: string) => Broker;

const implementations: Array<[string, () => Factory]> = [
  [
    'memory hub',
    () => {
      const hubs = new Map<string, MemoryHub>();
      return (_nodeId, prefix) => {
        if (!hubs.has(prefix)) hubs.set(prefix, new MemoryHub());
        return (hubs.get(prefix) as MemoryHub).broker();
      };
    },
  ],
  ['redis sharded', () => (nodeId, prefix) => following(new RedisShardedBroker(REDIS, prefix, nodeId, createLogger('silent'), SHARDED))],
  // The old routing, standalone Redis only.
  ...(ON_REDIS_CLUSTER ? [] : [['redis fanout', () => (nodeId: string, prefix: string) => new RedisBroker(REDIS as string, prefix, nodeId, createLogger('silent'), { commandTimeoutMs: 1000, maxPendingBytes: 1 << 20 })] as [string, () => Factory]]),
];

const message = (origin: string, n: number): PublishMessage => ({ kind: 'publish', origin, appId: 'app', channel: CHANNEL, frame: `{"event":"e","channel":"c","data":"{\\"n\\":${n}}"}` });

for (const [name, makeFactory] of implementations) {
  t.test(`${name}: every other node receives each message once, in order; the origin never does`, async (t) => {
    const factory = makeFactory();
    const prefix = `test-${nanoid(8)}`;
    const nodes = ['a', 'b', 'c'].map((id) => ({ id, broker: factory(id, prefix), got: [] as ClusterMessage[] }));
    for (const node of nodes) await node.broker.start((m) => node.got.push(m));
    t.teardown(() => Promise.all(nodes.map((n) => n.broker.close())));
    const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    for (let n = 0; n < 20; n++) a.broker.send(message('a', n));
    b.broker.send({ ...message('b', 99), exceptSocketId: '12.34' });
    await until(() => b.got.length === 20 && c.got.length === 21 && a.got.length === 1, 'every delivery');
    t.same(b.got, Array.from({ length: 20 }, (_, n) => message('a', n)), 'b got a’s messages in order');
    // Two publishers' messages have no order between them: b's is found by its origin.
    t.same(c.got.find((m) => m.origin === 'b'), { ...message('b', 99), exceptSocketId: '12.34' }, 'the socket exclusion travels');
    t.same(a.got, [{ ...message('b', 99), exceptSocketId: '12.34' }], 'a got only b’s');
  });

  t.test(`${name}: deployments with different prefixes do not hear each other`, async (t) => {
    const factory = makeFactory();
    const [first, second] = [`test-${nanoid(8)}`, `test-${nanoid(8)}`];
    const heard = { x2: [] as ClusterMessage[], y: [] as ClusterMessage[] };
    const x = factory('x', first);
    const x2 = factory('x2', first);
    const y = factory('y', second);
    const z = factory('z', second);
    await Promise.all([x.start(() => {}), x2.start((m) => heard.x2.push(m)), y.start((m) => heard.y.push(m)), z.start(() => {})]);
    t.teardown(() => Promise.all([x, x2, y, z].map((b) => b.close())));
    x.send(message('x', 1));
    await until(() => heard.x2.length === 1, 'the first deployment to receive');
    // Sent after x's message was received: y, on the other prefix, gets this marker and nothing before it.
    z.send(message('z', 2));
    await until(() => heard.y.length === 1, 'the marker');
    t.same(heard.y, [message('z', 2)], 'nothing from the other deployment');
  });
}

t.test('redis sharded: a node receives the channels it follows, from the answer to follow on; answers reach their target alone', async (t) => {
  const prefix = `test-${nanoid(8)}`;
  const log = createLogger('silent');
  // b lingers longer than the test lasts; d not at all.
  const nodes = [
    ['a', 0],
    ['b', 600_000],
    ['c', 0],
    ['d', 0],
  ].map(([id, lingerMs]) => ({ id, broker: new RedisShardedBroker(REDIS, prefix, id as string, log, { ...SHARDED, lingerMs: lingerMs as number }), got: [] as ClusterMessage[] }));
  for (const node of nodes) await node.broker.start((m) => node.got.push(m));
  t.teardown(() => Promise.all(nodes.map((n) => n.broker.close())));
  const [a, b, c, d] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
  const on = (channel: string, n: number): PublishMessage => ({ ...message('a', n), channel });
  const numbers = (got: ClusterMessage[]) => got.map((m) => (m.kind === 'publish' ? m.frame.slice(m.frame.indexOf('"data":') + 7, -1) : m.kind));
  await Promise.all([b.broker.follow('app', 'one'), d.broker.follow('app', 'one')]);
  t.equal(b.broker.follow('app', 'one'), undefined, 'a channel followed already is answered at once');
  for (let n = 0; n < 6; n++) a.broker.send(on(n % 2 === 0 ? 'one' : 'two', n));
  a.broker.send({ kind: 'response', origin: 'a', target: 'c', appId: 'app', channel: 'one', id: 'c.x', payload: '"p"' });
  a.broker.send({ kind: 'terminate', origin: 'a', appId: 'app', userId: 'ann' });
  await until(() => b.got.length === 4 && c.got.length === 2 && d.got.length === 4, 'the deliveries');
  // Order is kept per channel, not across them: on a Redis Cluster the channel, c's own channel and the one to
  // every node may be on three different masters.
  const publications = (got: ClusterMessage[]) => numbers(got.filter((m) => m.kind === 'publish'));
  t.same(publications(b.got), ['"{\\"n\\":0}"', '"{\\"n\\":2}"', '"{\\"n\\":4}"'], 'b: the channel it follows, in order');
  t.same(numbers(b.got).filter((kind) => kind === 'terminate'), ['terminate'], 'and what goes to every node');
  t.same(numbers(c.got).sort(), ['response', 'terminate'], 'c follows nothing: its answer and what goes to every node');

  // Left: b lingers and still receives; d does not linger, and a channel of the same partition, followed after,
  // is the witness (one connection, so in order): once its message arrives, the one before it would have.
  b.broker.unfollow('app', 'one');
  d.broker.unfollow('app', 'one');
  const witness = sameSlotAs('one');
  await d.broker.follow('app', witness);
  a.broker.send(on('one', 10));
  a.broker.send(on(witness, 11));
  await until(() => b.got.length === 5 && d.got.length === 5, 'the deliveries');
  t.same(numbers(b.got).at(-1), '"{\\"n\\":10}"', 'within its linger, b still receives the channel');
  t.same(numbers(d.got).at(-1), '"{\\"n\\":11}"', 'd, without linger, no longer does');
  // Followed again within the linger: nothing lost or repeated.
  t.equal(b.broker.follow('app', 'one'), undefined, 'followed again within the linger: still in place');
  a.broker.send(on('one', 12));
  await until(() => b.got.length === 6, 'the delivery');
  t.same(numbers(b.got).slice(-2), ['"{\\"n\\":10}"', '"{\\"n\\":12}"']);
});

/** A channel name in the partition of `channel` (so in the same hash slot), for ordering witnesses. */
function sameSlotAs(channel: string): string {
  const target = partitionOf('app', channel, SHARDED.partitions);
  for (let n = 0; ; n++) if (partitionOf('app', `witness-${n}`, SHARDED.partitions) === target) return `witness-${n}`;
}

t.test('the wire form round-trips every field, frames with newlines included', async (t) => {
  const response: ClusterMessage = { kind: 'response', origin: 'n3', target: 'n1', appId: 'app', channel: 'lobby', id: 'n1.abc', payload: '{"a":"x\ny"}' };
  const terminate: ClusterMessage = { kind: 'terminate', origin: 'n2', appId: 'app', userId: 'user\nwith newline' };
  const cached: ClusterMessage = { ...message('n1', 3), channel: 'cache-prices', cached: true };
  const count: ClusterMessage = { kind: 'count', origin: 'n2', appId: 'app', channel: '#server-to-user-a:b|c' };
  const user: ClusterMessage = { kind: 'user', origin: 'n3', appId: 'app', event: 'offline', userId: 'auth0|42\nx' };
  const stored: ClusterMessage = { kind: 'stored', origin: 'n1', appId: 'app', channel: 'chat-1', epoch: 'Ab-_9', offset: 12, frame: '{"event":"e","channel":"chat-1","data":"{}","offset":12}' };
  const messages = [{ kind: 'joined', origin: 'n4' } as ClusterMessage, message('n1', 1), { ...message('n2', 2), exceptSocketId: '1.2', frame: 'line one\nline two' }, response, terminate, cached, count, user, stored, { ...stored, exceptSocketId: '3.4' }];
  for (const m of messages) {
    t.same(decodeClusterMessage(encodeClusterMessage(m)), m);
  }
  t.equal(decodeClusterMessage('user\nn1\napp\nmaybe\nann'), undefined, 'a user event is online or offline');
  t.equal(decodeClusterMessage('publish\ntoo\nfew'), undefined);
  t.equal(decodeClusterMessage('other\na\nb\nc\nd\ne\nf'), undefined);
});
