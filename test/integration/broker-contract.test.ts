import { nanoid } from 'nanoid';
import t from 'tap';
import type { Broker } from '../../src/cluster/broker.js';
import { type ClusterMessage, decodeClusterMessage, encodeClusterMessage, type PublishMessage } from '../../src/cluster/cluster-message.js';
import { MemoryHub } from '../../src/cluster/memory-broker.js';
import { RedisBroker } from '../../src/cluster/redis-broker.js';
import { createLogger } from '../../src/log.js';
import { testRedis } from '../helpers/redis.js';
import { until } from '../helpers/ws-client.js';

/** The contract must hold for the real thing: a redis-server of this file's own (or REDIS_URL). */
const REDIS_URL = await testRedis(t);

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
  ['redis', () => (nodeId, prefix) => new RedisBroker(REDIS_URL, prefix, nodeId, createLogger('silent'), { commandTimeoutMs: 1000, maxPendingBytes: 1 << 20 })],
];

const message = (origin: string, n: number): PublishMessage => ({ kind: 'publish', origin, appId: 'app', channel: `WyJ-ch_${n}==`, frame: `{"event":"e","channel":"c","data":"{\\"n\\":${n}}"}` });

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
    t.same(c.got.at(-1), { ...message('b', 99), exceptSocketId: '12.34' }, 'the socket exclusion travels');
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

t.test('the wire form round-trips every field, frames with newlines included', async (t) => {
  const response: ClusterMessage = { kind: 'response', origin: 'n3', target: 'n1', appId: 'app', channel: 'lobby', id: 'n1.abc', payload: '{"a":"x\ny"}' };
  const terminate: ClusterMessage = { kind: 'terminate', origin: 'n2', appId: 'app', userId: 'user\nwith newline' };
  const cached: ClusterMessage = { ...message('n1', 3), channel: 'cache-prices', cached: true };
  const count: ClusterMessage = { kind: 'count', origin: 'n2', appId: 'app', channel: '#server-to-user-a:b|c' };
  const user: ClusterMessage = { kind: 'user', origin: 'n3', appId: 'app', event: 'offline', userId: 'auth0|42\nx' };
  const stored: ClusterMessage = { kind: 'stored', origin: 'n1', appId: 'app', channel: 'chat-1', epoch: 'Ab-_9', offset: 12, frame: '{"event":"e","channel":"chat-1","data":"{}","offset":12}' };
  const messages = [message('n1', 1), { ...message('n2', 2), exceptSocketId: '1.2', frame: 'line one\nline two' }, response, terminate, cached, count, user, stored, { ...stored, exceptSocketId: '3.4' }];
  for (const m of messages) {
    t.same(decodeClusterMessage(encodeClusterMessage(m)), m);
  }
  t.equal(decodeClusterMessage('user\nn1\napp\nmaybe\nann'), undefined, 'a user event is online or offline');
  t.equal(decodeClusterMessage('publish\ntoo\nfew'), undefined);
  t.equal(decodeClusterMessage('other\na\nb\nc\nd\ne\nf'), undefined);
});
