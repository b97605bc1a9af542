import { nanoid } from 'nanoid';
import t, { type Test } from 'tap';
import type { HistoryRule } from '../../src/apps/app-registry.js';
import type { ClusterMessage } from '../../src/cluster/cluster-message.js';
import type { HistoryStore, StoredPublication } from '../../src/cluster/history-store.js';
import { MemoryHistoryStore } from '../../src/cluster/memory-history-store.js';
import { RedisHistoryStore } from '../../src/cluster/redis-history-store.js';
import { historyKey, partitionOf } from '../../src/cluster/redis-names.js';
import { RedisShardedBroker } from '../../src/cluster/redis-sharded-broker.js';
import { createLogger } from '../../src/log.js';
import { redisCli, testRedisTarget } from '../helpers/redis.js';
import { until } from '../helpers/ws-client.js';

/** The contract must hold for the real thing: a redis-server of this file's own (or REDIS_URL). */
const REDIS = await testRedisTarget(t);
const PARTITIONS = 16;
const BROKER = { commandTimeoutMs: 1000, maxPendingBytes: 1 << 20, partitions: PARTITIONS, lingerMs: 0 };
/** Short, so that expiry plays out in seconds against a real Redis (whose TTLs are whole seconds). */
const TTL_SECONDS = 1;
const POSITION_TTL_SECONDS = 2;
const RULE: HistoryRule = { prefix: 'chat-', size: 5, ttlSeconds: TTL_SECONDS };

interface Harness {
  readonly store: HistoryStore;
  /** Appends and resolves to the publication as nodes deliver it. */
  append(appId: string, channel: string, frame: string, exceptSocketId?: string): Promise<StoredPublication>;
  /** Lets time pass. */
  elapse(ms: number): Promise<void>;
}

const implementations: Array<[string, (t: Test) => Promise<Harness>]> = [
  [
    'memory',
    async (t) => {
      const clock = { now: 1_000_000 };
      const store = new MemoryHistoryStore({ maxBytes: 1 << 20, positionTtlMs: POSITION_TTL_SECONDS * 1000, now: () => clock.now });
      await store.start();
      t.teardown(() => store.close());
      return {
        store,
        append: async (appId, channel, frame, exceptSocketId) => publicationOf(store.append(appId, channel, RULE, frame, exceptSocketId)),
        elapse: async (ms) => {
          clock.now += ms;
        },
      };
    },
  ],
  [
    'redis',
    async (t) => {
      const prefix = `test-${nanoid(8)}`;
      const log = createLogger('silent');
      const store = new RedisHistoryStore(REDIS, prefix, 'node-a', log, { commandTimeoutMs: 1000, maxPendingBytes: 1 << 20, positionTtlSeconds: POSITION_TTL_SECONDS, partitions: PARTITIONS });
      // What a node following the channel receives: the publications Redis publishes as it appends them.
      const observer = new RedisShardedBroker(REDIS, prefix, 'observer', log, BROKER);
      const heard: StoredPublication[] = [];
      await Promise.all([store.start(), observer.start((message: ClusterMessage) => message.kind === 'stored' && heard.push(message))]);
      t.teardown(() => Promise.all([store.close(), observer.close()]));
      return {
        store,
        async append(appId, channel, frame, exceptSocketId) {
          await observer.follow(appId, channel);
          const before = heard.length;
          await store.append(appId, channel, RULE, frame, exceptSocketId);
          await until(() => heard.length > before, 'the publication');
          return publicationOf(heard[before] as StoredPublication);
        },
        elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      };
    },
  ],
];

/** A publication's fields, as both kinds of store give it (a cluster message also names its kind and origin). */
function publicationOf({ appId, channel, epoch, offset, frame, exceptSocketId }: StoredPublication): StoredPublication {
  return { appId, channel, epoch, offset, frame, ...(exceptSocketId === undefined ? {} : { exceptSocketId }) };
}

const frame = (n: number) => JSON.stringify({ event: 'message', channel: 'chat-1', data: JSON.stringify({ n }) });

for (const [name, makeHarness] of implementations) {
  t.test(`${name}: offsets count from 1 within an epoch, each frame carries its own, and reads page after an offset`, async (t) => {
    const { store, append } = await makeHarness(t);
    const empty = await store.read('app', 'chat-1', RULE, 0, 10);
    t.match(empty, { offset: 0, events: [] }, 'a channel never published on is at offset 0');
    t.ok(empty.epoch.length > 0, 'with an epoch');
    const first = await append('app', 'chat-1', frame(1), '1.2');
    t.same(first, { appId: 'app', channel: 'chat-1', epoch: empty.epoch, offset: 1, frame: `${frame(1).slice(0, -1)},"offset":1}`, exceptSocketId: '1.2' });
    t.same(JSON.parse(first.frame), { event: 'message', channel: 'chat-1', data: '{"n":1}', offset: 1 }, 'still JSON');
    for (let n = 2; n <= 4; n++) t.equal((await append('app', 'chat-1', frame(n))).offset, n);
    const read = await store.read('app', 'chat-1', RULE, 1, 2);
    t.same(
      read.events.map((e) => [e.offset, (JSON.parse(e.frame) as { offset: number }).offset]),
      [
        [2, 2],
        [3, 3],
      ],
      'after offset 1, at most 2',
    );
    t.match(read, { epoch: empty.epoch, offset: 4 });
    t.same((await store.read('app', 'chat-1', RULE, 4, 10)).events, [], 'nothing after the last');
  });

  t.test(`${name}: a stream keeps its latest rule.size publications; apps and channels are apart`, async (t) => {
    const { store, append } = await makeHarness(t);
    for (let n = 1; n <= 8; n++) await append('app', 'chat-1', frame(n));
    await append('app', 'chat-2', frame(1));
    await append('other', 'chat-1', frame(1));
    const read = await store.read('app', 'chat-1', RULE, 0, 100);
    t.same(
      read.events.map((e) => e.offset),
      [4, 5, 6, 7, 8],
    );
    t.equal((await store.read('app', 'chat-2', RULE, 0, 100)).offset, 1);
    t.equal((await store.read('other', 'chat-1', RULE, 0, 100)).offset, 1);
  });

  t.test(`${name}: frames go ttlSeconds after the last publication; the position outlives them, then goes too`, async (t) => {
    const { store, append, elapse } = await makeHarness(t);
    const { epoch } = await append('app', 'chat-1', frame(1));
    await append('app', 'chat-1', frame(2));
    await elapse(TTL_SECONDS * 1000 + 200);
    t.same(await store.read('app', 'chat-1', RULE, 0, 100), { epoch, offset: 2, events: [] }, 'frames gone, position kept');
    await elapse(POSITION_TTL_SECONDS * 1000 + 200);
    const renewed = await store.read('app', 'chat-1', RULE, 0, 100);
    t.not(renewed.epoch, epoch, 'a new epoch');
    t.equal(renewed.offset, 0);
    t.same(await append('app', 'chat-1', frame(3)), { appId: 'app', channel: 'chat-1', epoch: renewed.epoch, offset: 1, frame: `${frame(3).slice(0, -1)},"offset":1}` });
  });
}

t.test('redis: a stream whose position was lost starts a new epoch from offset 1, its old entries gone', async (t) => {
  const prefix = `test-${nanoid(8)}`;
  const store = new RedisHistoryStore(REDIS, prefix, 'node-a', createLogger('silent'), { commandTimeoutMs: 1000, maxPendingBytes: 1 << 20, positionTtlSeconds: 60, partitions: PARTITIONS });
  await store.start();
  t.teardown(() => store.close());
  for (let n = 1; n <= 3; n++) await store.append('app', 'chat-1', RULE, frame(n), undefined);
  const before = await store.read('app', 'chat-1', RULE, 0, 10);
  // As when Redis evicts or loses the meta key alone: the stream key with IDs 1–3 is still there.
  redisCli(REDIS, ['DEL', `${historyKey(prefix, partitionOf('app', 'chat-1', PARTITIONS), 'app', 'chat-1')}:meta`]);
  await store.append('app', 'chat-1', RULE, frame(4), undefined);
  const after = await store.read('app', 'chat-1', RULE, 0, 10);
  t.not(after.epoch, before.epoch);
  t.same(
    after.events.map((e) => e.offset),
    [1],
    'only the new life’s publication',
  );
});

t.test('redis: a read for a subscriber resolves only once the node has been sent every publication it saw', async (t) => {
  const prefix = `test-${nanoid(8)}`;
  const log = createLogger('silent');
  const store = new RedisHistoryStore(REDIS, prefix, 'node-a', log, { commandTimeoutMs: 1000, maxPendingBytes: 1 << 24, positionTtlSeconds: 60, partitions: PARTITIONS });
  // The node's broker: publications to the node, and the read's marker to its store, as ClusterNode routes them.
  const broker = new RedisShardedBroker(REDIS, prefix, 'node-a', log, BROKER);
  const heard: number[] = [];
  await Promise.all([store.start(), broker.start((m) => (m.kind === 'stored' ? heard.push(m.offset) : m.kind === 'marker' && store.marked(m.id)))]);
  await broker.follow('app', 'chat-1');
  t.teardown(() => Promise.all([store.close(), broker.close()]));
  const big = JSON.stringify({ event: 'e', channel: 'chat-1', data: JSON.stringify('x'.repeat(8000)) });
  for (let round = 0; round < 5; round++) {
    const appends = Array.from({ length: 20 }, () => store.append('app', 'chat-1', RULE, big, undefined));
    const read = await store.read('app', 'chat-1', RULE, 0, 0, true);
    t.equal(heard.at(-1), read.offset, `round ${round}: offset ${read.offset} had arrived when the read answered`);
    await Promise.all(appends);
  }
  const lost = new RedisHistoryStore(REDIS, prefix, 'node-b', log, { commandTimeoutMs: 300, maxPendingBytes: 1 << 20, positionTtlSeconds: 60, partitions: PARTITIONS });
  await lost.start();
  t.teardown(() => lost.close());
  await t.rejects(lost.read('app', 'chat-1', RULE, 0, 0, true), /not sent the channel's publications within 300 ms/, 'a node that never hears its marker refuses');
});

t.test('memory: over maxBytes, the streams used least recently are dropped whole', async (t) => {
  const store = new MemoryHistoryStore({ maxBytes: 65536, positionTtlMs: 60_000 });
  t.teardown(() => store.close());
  const big = JSON.stringify({ event: 'e', channel: 'c', data: JSON.stringify('x'.repeat(4000)) });
  const first = store.append('app', 'chat-0', RULE, big, undefined);
  for (let i = 1; i <= 20; i++) store.append('app', `chat-${i}`, RULE, big, undefined);
  t.ok(store.size.bytes <= 65536, `${store.size.bytes} bytes held`);
  t.ok(store.size.streams < 21, `${store.size.streams} streams kept`);
  const recent = await store.read('app', 'chat-20', RULE, 0, 10);
  t.equal(recent.offset, 1, 'the last one used is kept');
  const oldest = await store.read('app', 'chat-0', RULE, 0, 10);
  t.not(oldest.epoch, first.epoch, 'the first one was dropped: a new epoch');
  t.equal(oldest.offset, 0);
});
