import t from 'tap';
import { type CachedEvent, type CacheLimits, SingleNodeStore } from '../../src/cluster/cluster-store.js';
import { authenticateUser, authorizeChannel } from '../../src/protocol/channel-auth.js';
import { makeNode, makeSession, settled } from '../helpers/fake-connection.js';

type SessionFixture = ReturnType<typeof makeSession>;
const subscribe = (s: SessionFixture, channel: string, channelData?: string) =>
  s.send({ event: `${s.session.dialect}:subscribe`, data: { channel, ...(channel.startsWith('p') ? authorizeChannel(s.app, s.session.socketId, channel, channelData) : {}) } });
const events = (s: SessionFixture) => s.connection.decoded().map((f) => [f.event, f.channel]);

t.test('cache channels: a new subscriber gets the last server event right after subscription_succeeded, else cache_miss', async (t) => {
  const on = makeNode({ app: { clientEvents: true } });
  const first = makeSession({ socketId: '1.1', on, dialect: 'pusher' });
  subscribe(first, 'cache-prices');
  await settled();
  t.same(events(first), [
    ['pusher_internal:subscription_succeeded', 'cache-prices'],
    ['pusher:cache_miss', 'cache-prices'],
  ]);
  t.same(first.connection.last().data, {}, 'cache_miss data is "{}"');

  on.node.publishEvent(on.app.id, 'cache-prices', 'tick', '{"p":1}');
  on.node.publishEvent(on.app.id, 'cache-prices', 'tick', '{"p":2}');
  on.node.publishEvent(on.app.id, 'prices', 'tick', '{"p":3}');
  const late = makeSession({ socketId: '1.2', on });
  subscribe(late, 'cache-prices');
  subscribe(late, 'prices');
  await settled();
  t.same(late.connection.decoded(), [
    { event: 'broadcastt_internal:subscription_succeeded', channel: 'cache-prices', data: {} },
    { event: 'broadcastt_internal:subscription_succeeded', channel: 'prices', data: {} },
    { event: 'tick', channel: 'cache-prices', data: { p: 2 } },
  ], 'the last event of the cache channel only');

  // Client events are not cached (as in Pusher): a private cache channel keeps only what the server sent.
  subscribe(first, 'private-cache-room');
  first.send({ event: 'client-typing', channel: 'private-cache-room', data: {} });
  const other = makeSession({ socketId: '1.3', on });
  subscribe(other, 'private-cache-room');
  await settled();
  t.same(events(other).slice(-2), [
    ['broadcastt_internal:subscription_succeeded', 'private-cache-room'],
    ['broadcastt:cache_miss', 'private-cache-room'],
  ]);
});

t.test('presence cache channels: the cached event follows the roster', async (t) => {
  const on = makeNode();
  on.node.publishEvent(on.app.id, 'presence-cache-room', 'state', '{"s":1}');
  const s = makeSession({ socketId: '1.1', on });
  subscribe(s, 'presence-cache-room', '{"user_id":"ann"}');
  await settled();
  await settled();
  t.same(events(s), [
    ['broadcastt_internal:subscription_succeeded', 'presence-cache-room'],
    ['state', 'presence-cache-room'],
  ]);
});

/** A single node's store whose cache reads answer when the test lets them. */
class SlowReads extends SingleNodeStore {
  readonly waiting: Array<() => void> = [];

  override async cachedEvent(appId: string, channel: string, limits: CacheLimits, noteMiss: boolean): Promise<CachedEvent> {
    const answer = await super.cachedEvent(appId, channel, limits, noteMiss);
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    return answer;
  }
}

t.test('a cached event delivered while the read waits wins: no older event is replayed after a newer one', async (t) => {
  const store = new SlowReads();
  const on = makeNode({ store });
  on.node.publishEvent(on.app.id, 'cache-x', 'v', '1');
  const s = makeSession({ socketId: '1.1', on });
  subscribe(s, 'cache-x');
  await settled();
  on.node.publishEvent(on.app.id, 'cache-x', 'v', '2');
  for (const answer of store.waiting) answer();
  await settled();
  t.same(s.connection.decoded().map((f) => [f.event, f.data]), [
    ['broadcastt_internal:subscription_succeeded', {}],
    ['v', 2],
  ], 'the read (of 1) came after 2 was delivered, and was dropped');
});

t.test('subscription counts: every change, in each subscriber’s dialect, not on presence or user channels', async (t) => {
  const on = makeNode({ app: { subscriptionCount: true } });
  const counts = (s: SessionFixture) => s.connection.decoded().filter((f) => f.event.endsWith('_internal:subscription_count')).map((f) => [f.event, f.channel, f.data]);
  const a = makeSession({ socketId: '1.1', on });
  const b = makeSession({ socketId: '1.2', on, dialect: 'pusher' });
  subscribe(a, 'news');
  await settled();
  subscribe(b, 'news');
  await settled();
  t.same(counts(a), [
    ['broadcastt_internal:subscription_count', 'news', { subscription_count: 1 }],
    ['broadcastt_internal:subscription_count', 'news', { subscription_count: 2 }],
  ]);
  t.same(counts(b), [['pusher_internal:subscription_count', 'news', { subscription_count: 2 }]]);
  b.send({ event: 'pusher:unsubscribe', data: { channel: 'news' } });
  await settled();
  t.same(counts(a).at(-1), ['broadcastt_internal:subscription_count', 'news', { subscription_count: 1 }]);

  subscribe(a, 'presence-room', '{"user_id":"ann"}');
  a.send({ event: 'broadcastt:signin', data: authenticateUser(a.app, '1.1', { id: 'ann' }) });
  subscribe(a, '#server-to-user-ann');
  await settled();
  for (const channel of ['presence-room', '#server-to-user-ann']) t.ok(events(a).some(([event, on]) => event === 'broadcastt_internal:subscription_succeeded' && on === channel), `subscribed to ${channel}`);
  t.equal(counts(a).length, 3, 'none for the presence channel or the user channel');

  const off = makeSession({ socketId: '1.1' });
  subscribe(off, 'news');
  await settled();
  t.same(counts(off), [], 'none while the app has subscriptionCount off');
});
