import { setTimeout as sleep } from 'node:timers/promises';
import { nanoid } from 'nanoid';
import t, { type Test } from 'tap';
import { type ClusterStore, type NodeSnapshot, ONLINE_USERS } from '../../src/cluster/cluster-store.js';
import { MemoryStoreHub } from '../../src/cluster/memory-cluster-store.js';
import { RedisClusterStore } from '../../src/cluster/redis-cluster-store.js';
import { createLogger } from '../../src/log.js';
import { testRedisTarget } from '../helpers/redis.js';
import { until } from '../helpers/ws-client.js';

/** The contract must hold for the real thing: a redis-server of this file's own (or REDIS_URL). */
const REDIS = await testRedisTarget(t);
const NODE_TIMEOUT_MS = 300;

interface Cluster {
  /** A node's store, started with the given snapshot of what it owns. */
  join(nodeId: string, snapshot?: () => NodeSnapshot): Promise<ClusterStore>;
  /** Lets time pass: long enough, with `NODE_TIMEOUT_MS`, for a node that stopped heartbeating to expire. */
  elapse(ms: number): Promise<void>;
}

const EMPTY: NodeSnapshot = { members: [], subscriptions: [] };

const implementations: Array<[string, (t: Test) => Cluster]> = [
  [
    'memory hub',
    (t) => {
      const clock = { now: 1_000_000 };
      const hub = new MemoryStoreHub(NODE_TIMEOUT_MS, () => clock.now);
      return {
        async join(nodeId, snapshot = () => EMPTY) {
          const store = hub.store(nodeId);
          await store.start(snapshot);
          t.teardown(() => store.close());
          return store;
        },
        async elapse(ms) {
          clock.now += ms;
        },
      };
    },
  ],
  [
    'redis',
    (t) => {
      const prefix = `test-${nanoid(8)}`;
      return {
        async join(nodeId, snapshot = () => EMPTY) {
          const store = new RedisClusterStore(REDIS, prefix, nodeId, NODE_TIMEOUT_MS, createLogger('silent'), 1000);
          await store.start(snapshot);
          t.teardown(() => store.close());
          return store;
        },
        elapse: (ms) => sleep(ms),
      };
    },
  ],
];

const member = (userId: string, userInfo: unknown = { name: userId }) => ({ userId, userInfo });

/** Lets more than a node timeout pass while `live` keep heartbeating, as running nodes do. */
async function passWhileBeating(cluster: Cluster, ...live: ClusterStore[]): Promise<void> {
  for (let step = 0; step < 4; step++) {
    await cluster.elapse(NODE_TIMEOUT_MS / 3);
    for (const store of live) await store.heartbeat(new Map());
  }
}
const byId = (members: Array<{ userId: string }>) => [...members].sort((x, y) => x.userId.localeCompare(y.userId));

for (const [name, makeCluster] of implementations) {
  t.test(`${name}: a user's first node adds the member, later nodes know it, the last node out removes it`, async (t) => {
    const cluster = makeCluster(t);
    const [a, b] = [await cluster.join('a'), await cluster.join('b')];
    t.equal(await a.addMember('app', 'presence-room', member('u:1'), 100), 'added');
    t.equal(await b.addMember('app', 'presence-room', member('u:1'), 100), 'known', 'another node already has the user');
    t.equal(await a.addMember('app', 'presence-other', member('u:1'), 100), 'added', 'channels are separate');
    t.equal(await b.addMember('other-app', 'presence-room', member('u:1'), 100), 'added', 'apps are separate');
    t.equal(await a.removeMember('app', 'presence-room', 'u:1', true), false, 'b still has the user');
    t.equal(await b.removeMember('app', 'presence-room', 'u:1', true), true, 'gone from the cluster');
    t.equal(await b.addMember('app', 'presence-room', member('u:1'), 100), 'added', 'back again: added again');
  });

  t.test(`${name}: members and subscription counts are read from the other live nodes`, async (t) => {
    const cluster = makeCluster(t);
    const [a, b, c] = [await cluster.join('a'), await cluster.join('b'), await cluster.join('c')];
    await a.addMember('app', 'presence-room', member('1', { name: 'Ann' }), 100);
    await b.addMember('app', 'presence-room', member('1', { name: 'Ann' }), 100);
    await b.addMember('app', 'presence-room', member('2', [1, 'two']), 100);
    t.same(byId(await c.otherMembers('app', 'presence-room')), [member('1', { name: 'Ann' }), member('2', [1, 'two'])], 'each user once, with its info');
    t.same(byId(await a.otherMembers('app', 'presence-room')), [member('1', { name: 'Ann' }), member('2', [1, 'two'])], 'b’s members');
    t.same(await b.otherMembers('app', 'presence-room'), [member('1', { name: 'Ann' })], 'a’s members');
    t.same(await c.otherMembers('app', 'presence-empty'), []);

    a.setSubscriptions('app', 'news', 3);
    a.setSubscriptions('app', 'sport', 1);
    b.setSubscriptions('app', 'news', 2);
    b.setSubscriptions('other-app', 'news', 7);
    await until(async () => (await c.otherSubscriptionCount('app', 'news')) === 5, 'the counts to be written');
    t.same([...(await c.otherSubscriptions('app'))].sort(), [['news', 5], ['sport', 1]]);
    t.same([...(await a.otherSubscriptions('app'))], [['news', 2]], 'not its own');
    t.equal(await a.otherSubscriptionCount('app', 'news'), 2);
    a.setSubscriptions('app', 'sport', 0);
    await until(async () => (await c.otherSubscriptions('app')).size === 1, 'sport to be gone');
    t.equal(await c.otherSubscriptionCount('app', 'sport'), 0);
  });

  t.test(`${name}: the member limit counts distinct users over the live nodes`, async (t) => {
    const cluster = makeCluster(t);
    const [a, b, c] = [await cluster.join('a'), await cluster.join('b'), await cluster.join('c')];
    t.equal(await a.addMember('app', 'presence-small', member('1'), 2), 'added');
    t.equal(await b.addMember('app', 'presence-small', member('2'), 2), 'added');
    t.equal(await c.addMember('app', 'presence-small', member('3'), 2), 'full', 'a third user does not fit');
    t.same(byId(await a.otherMembers('app', 'presence-small')), [member('2')], 'and was not recorded');
    t.equal(await c.addMember('app', 'presence-small', member('1'), 2), 'known', 'a member’s further node always fits');
  });

  t.test(`${name}: heartbeats carry each node's connections to the others`, async (t) => {
    const cluster = makeCluster(t);
    const [a, b, c] = [await cluster.join('a'), await cluster.join('b'), await cluster.join('c')];
    await a.heartbeat(new Map([['app', 3], ['other-app', 1]]));
    await b.heartbeat(new Map([['app', 4]]));
    t.same([...(await c.heartbeat(new Map([['app', 100]]))).otherConnections].sort(), [['app', 7], ['other-app', 1]]);
    await a.heartbeat(new Map([['other-app', 1]]));
    t.same([...(await b.heartbeat(new Map())).otherConnections].sort(), [['app', 100], ['other-app', 1]], 'a’s count for app is replaced, not added');
  });

  t.test(`${name}: a node that stops heartbeating disappears within its timeout, and its members depart once`, async (t) => {
    const cluster = makeCluster(t);
    const [a, b] = [await cluster.join('a'), await cluster.join('b')];
    await a.addMember('app', 'presence-room', member('shared'), 100);
    await b.addMember('app', 'presence-room', member('shared'), 100);
    await b.addMember('app', 'presence-room', member('only-b'), 100);
    await b.addMember('other-app', 'presence-x', member('b:2'), 100);
    b.setSubscriptions('app', 'news', 2);
    await b.heartbeat(new Map([['app', 5]]));
    await until(async () => (await a.otherSubscriptionCount('app', 'news')) === 2, 'b’s counts');
    t.same((await a.heartbeat(new Map())).otherConnections.get('app'), 5);

    // b stops heartbeating, as if its process were killed; a keeps going. The step that passed b's timeout
    // already removed it, so elapse in smaller steps until a's heartbeat reports it.
    let beat = await a.heartbeat(new Map());
    for (let step = 0; step < 8 && beat.departed.length === 0; step++) {
      await cluster.elapse(NODE_TIMEOUT_MS / 3);
      beat = await a.heartbeat(new Map());
    }
    t.same(await a.otherMembers('app', 'presence-room'), [], 'reads ignore it once its timeout passed');
    t.equal(await a.otherSubscriptionCount('app', 'news'), 0);
    t.same(beat.otherConnections, new Map());
    t.same(
      [...beat.departed].sort((x, y) => x.userId.localeCompare(y.userId)),
      [
        { appId: 'other-app', channel: 'presence-x', userId: 'b:2' },
        { appId: 'app', channel: 'presence-room', userId: 'only-b' },
      ],
      'users only b had; not the one a still has',
    );
    t.same((await a.heartbeat(new Map())).departed, [], 'reported once');
    t.equal(await a.removeMember('app', 'presence-room', 'shared', true), true, 'a was the last with "shared"');
  });

  t.test(`${name}: a node taken for dead writes its state again when it heartbeats`, async (t) => {
    const cluster = makeCluster(t);
    const mine: NodeSnapshot = { members: [{ appId: 'app', channel: 'presence-room', userId: '9', userInfo: { back: true } }], subscriptions: [['app', 'presence-room', 1]] };
    const a = await cluster.join('a');
    const b = await cluster.join('b', () => mine);
    await b.addMember('app', 'presence-room', member('9', { back: true }), 100);
    await b.heartbeat(new Map());
    await passWhileBeating(cluster, a);
    t.same(await a.otherMembers('app', 'presence-room'), [], 'b was removed');
    const back = await b.heartbeat(new Map());
    t.equal(back.rejoined, true, 'b hears that its members must be announced again');
    t.equal((await b.heartbeat(new Map())).rejoined, false, 'once');
    await until(async () => (await a.otherMembers('app', 'presence-room')).length === 1 && (await a.otherSubscriptionCount('app', 'presence-room')) === 1, 'b’s state to return');
    t.same(await a.otherMembers('app', 'presence-room'), [member('9', { back: true })]);
  });

  t.test(`${name}: after a pause in which every node expired, the first back removes nobody`, async (t) => {
    const cluster = makeCluster(t);
    const [a, b, c] = [await cluster.join('a'), await cluster.join('b'), await cluster.join('c')];
    await b.addMember('app', 'presence-room', member('on-b'), 100);
    await c.addMember('app', 'presence-room', member('on-c'), 100);
    for (const store of [a, b, c]) await store.heartbeat(new Map());
    await cluster.elapse(NODE_TIMEOUT_MS * 3); // Redis frozen, or unreachable for everyone
    const first = await a.heartbeat(new Map());
    t.same(first.departed, [], 'a was expired itself: it takes nobody for dead');
    t.equal(first.rejoined, false, 'its state was never lost');
    await b.heartbeat(new Map());
    // c really died during the pause: a removes it once a's own entry is live again.
    await cluster.elapse(NODE_TIMEOUT_MS / 4);
    const second = await a.heartbeat(new Map());
    t.same(second.departed, [{ appId: 'app', channel: 'presence-room', userId: 'on-c' }], 'c, which stayed silent, is removed');
    t.same(await a.otherMembers('app', 'presence-room'), [member('on-b')], 'b, which came back, is not');
  });

  t.test(`${name}: a node that leaves reports the members only it held`, async (t) => {
    const cluster = makeCluster(t);
    const [a, b] = [await cluster.join('a'), await cluster.join('b')];
    await a.addMember('app', 'presence-room', member('shared'), 100);
    await b.addMember('app', 'presence-room', member('shared'), 100);
    await b.addMember('app', 'presence-room', member('only-b'), 100);
    t.same(await b.close(), [{ appId: 'app', channel: 'presence-room', userId: 'only-b' }]);
  });

  t.test(`${name}: a node that leaves takes its entries with it at once`, async (t) => {
    const cluster = makeCluster(t);
    const [a, b] = [await cluster.join('a'), await cluster.join('b')];
    await b.addMember('app', 'presence-room', member('1'), 100);
    b.setSubscriptions('app', 'news', 1);
    await until(async () => (await a.otherSubscriptionCount('app', 'news')) === 1, 'b’s count');
    await b.close();
    t.same(await a.otherMembers('app', 'presence-room'), []);
    t.equal(await a.otherSubscriptionCount('app', 'news'), 0);
  });

  t.test(`${name}: a followed channel is occupied once cluster-wide; its departure is pending until settled, and a return cancels it`, async (t) => {
    const cluster = makeCluster(t);
    const [a, b] = [await cluster.join('a'), await cluster.join('b')];
    const news = { kind: 'channel', appId: 'app', channel: 'news' } as const;
    t.equal(await a.occupy('app', 'news'), 'occupied', 'the first node anywhere');
    t.equal(await b.occupy('app', 'news'), 'known', 'a second node');
    t.equal(await a.occupy('other-app', 'news'), 'occupied', 'apps are separate');
    t.equal(await a.vacate('app', 'news', 60_000), false, 'b still has subscribers');
    t.equal(await b.vacate('app', 'news', 60_000), true, 'the last node out: the departure is pending');
    t.equal(await a.occupy('app', 'news'), 'returned', 'back within the grace: cancelled, no channel_occupied');
    t.equal(await b.settle(news), false, 'so the grace timer finds nothing to settle');
    t.equal(await a.vacate('app', 'news', 60_000), true);
    t.equal(await a.settle(news), true, 'settled once');
    t.equal(await b.settle(news), false, 'and by nobody else');
    t.equal(await b.occupy('app', 'news'), 'occupied', 'after that, occupied again');
  });

  t.test(`${name}: two nodes occupying at once: exactly one is first`, async (t) => {
    const cluster = makeCluster(t);
    const [a, b, c] = [await cluster.join('a'), await cluster.join('b'), await cluster.join('c')];
    for (let round = 0; round < 5; round++) {
      const outcomes = await Promise.all([a.occupy('app', `race-${round}`), b.occupy('app', `race-${round}`), c.occupy('app', `race-${round}`)]);
      t.same(outcomes.filter((outcome) => outcome === 'occupied').length, 1, `round ${round}: ${outcomes.join(', ')}`);
      const vacated = await Promise.all([a.vacate('app', `race-${round}`, 0), b.vacate('app', `race-${round}`, 0), c.vacate('app', `race-${round}`, 0)]);
      t.same(vacated.filter(Boolean).length, 1, `round ${round}: one last node`);
    }
  });

  t.test(`${name}: a member's departure is pending with its removal, and cancelled by its return on another node`, async (t) => {
    const cluster = makeCluster(t);
    const [a, b] = [await cluster.join('a'), await cluster.join('b')];
    const departure = { kind: 'member', appId: 'app', channel: 'presence-room', userId: 'u:1' } as const;
    t.equal(await a.addMember('app', 'presence-room', member('u:1'), 100, true), 'added');
    t.equal(await a.removeMember('app', 'presence-room', 'u:1', true, 60_000), true);
    t.equal(await b.addMember('app', 'presence-room', member('u:1'), 100, true), 'returned', 'back on b: member_added for clients, none for webhooks');
    t.equal(await a.settle(departure), false, 'nothing left to settle');
    t.equal(await b.removeMember('app', 'presence-room', 'u:1', true, 60_000), true);
    t.equal(await b.settle(departure), true);
    t.equal(await a.addMember('app', 'presence-room', member('u:1'), 100, true), 'added', 'after the grace: added');
    t.equal(await a.removeMember('app', 'presence-room', 'u:1', true), true, 'without a grace period nothing is pending');
    t.equal(await a.settle(departure), false);
  });

  t.test(`${name}: departures not settled in time are taken by any node's sweep, once`, async (t) => {
    const cluster = makeCluster(t);
    const [a, b] = [await cluster.join('a'), await cluster.join('b')];
    await a.occupy('app', 'news');
    t.equal(await a.vacate('app', 'news', 50), true);
    await a.addMember('app', 'presence-room', member('u'), 100, true);
    await a.removeMember('app', 'presence-room', 'u', true, 50);
    t.same(await b.dueDepartures(['app'], 0), [], 'not due yet');
    await cluster.elapse(200);
    t.same(await b.dueDepartures(['app'], 1000), [], 'not late yet');
    t.same(await b.dueDepartures(['other-app'], 0), [], 'only the apps asked for');
    const due = await b.dueDepartures(['other-app', 'app'], 100);
    t.same(due.sort((x, y) => x.kind.localeCompare(y.kind)), [
      { kind: 'channel', appId: 'app', channel: 'news' },
      { kind: 'member', appId: 'app', channel: 'presence-room', userId: 'u' },
    ]);
    t.same(await a.dueDepartures(['app'], 0), [], 'taken once');
    t.equal(await a.settle({ kind: 'channel', appId: 'app', channel: 'news' }), false);
  });

  t.test(`${name}: a dead or leaving node's followed channels that nobody else has are due at once`, async (t) => {
    const cluster = makeCluster(t);
    const [a, b, c] = [await cluster.join('a'), await cluster.join('b'), await cluster.join('c')];
    await a.occupy('app', 'shared');
    await b.occupy('app', 'shared');
    await b.occupy('app', 'only-b');
    await c.occupy('app', 'only-c');
    for (const store of [a, b, c]) await store.heartbeat(new Map());
    await c.close();
    t.same(await a.dueDepartures(['app'], 60_000), [{ kind: 'channel', appId: 'app', channel: 'only-c' }], 'c left');
    // b stops heartbeating.
    let due: Array<{ channel: string }> = [];
    for (let step = 0; step < 8 && due.length === 0; step++) {
      await cluster.elapse(NODE_TIMEOUT_MS / 3);
      await a.heartbeat(new Map());
      due = await a.dueDepartures(['app'], 60_000);
    }
    t.same(due, [{ kind: 'channel', appId: 'app', channel: 'only-b' }], 'only what no live node has');
    t.same(await a.dueDepartures(['app'], 60_000), [], 'once');
    t.equal(await a.vacate('app', 'shared', 0), true, 'a is now the last with "shared"');
  });

  t.test(`${name}: a node taken for dead writes its followed channels again`, async (t) => {
    const cluster = makeCluster(t);
    const a = await cluster.join('a');
    const b = await cluster.join('b', () => ({ ...EMPTY, occupied: [['app', 'news']] }));
    await b.occupy('app', 'news');
    await b.heartbeat(new Map());
    await passWhileBeating(cluster, a);
    t.same(await a.dueDepartures(['app'], 60_000), [{ kind: 'channel', appId: 'app', channel: 'news' }], 'b was taken for dead');
    t.equal((await b.heartbeat(new Map())).rejoined, true);
    t.equal(await b.occupy('app', 'news'), 'occupied', 'asked again on rejoining: channel_occupied is due again');
    t.equal(await a.occupy('app', 'news'), 'known', 'its entry is back');
  });

  t.test(`${name}: a cache channel's last event is kept for the cluster, until its TTL, for new subscribers`, async (t) => {
    const cluster = makeCluster(t);
    const [a, b] = [await cluster.join('a'), await cluster.join('b')];
    const limits = { ttlMs: NODE_TIMEOUT_MS * 2, maxChannels: 2 };
    t.same(await b.cachedEvent('app', 'cache-x', limits, false), { isFirstMiss: false }, 'nothing yet; misses noted only when asked');
    await a.cacheEvent('app', 'cache-x', 'first', limits);
    await a.cacheEvent('app', 'cache-x', 'second', limits);
    t.same(await b.cachedEvent('app', 'cache-x', limits, true), { frame: 'second', isFirstMiss: false }, 'the last event, from any node');
    t.same(await b.cachedEvent('other-app', 'cache-x', limits, false), { isFirstMiss: false }, 'apps are separate');
    await a.close();
    t.same(await b.cachedEvent('app', 'cache-x', limits, false), { frame: 'second', isFirstMiss: false }, 'it outlives the node that wrote it');
    await cluster.elapse(limits.ttlMs + 50);
    t.same(await b.cachedEvent('app', 'cache-x', limits, false), { isFirstMiss: false }, 'gone after its TTL');
  });

  t.test(`${name}: an app keeps at most maxChannels cached events; a channel's first miss is noted once`, async (t) => {
    const cluster = makeCluster(t);
    const [a, b] = [await cluster.join('a'), await cluster.join('b')];
    const limits = { ttlMs: NODE_TIMEOUT_MS * 2, maxChannels: 2 };
    for (const channel of ['cache-1', 'cache-2', 'cache-3']) {
      await a.cacheEvent('app', channel, channel, limits);
      await cluster.elapse(2);
    }
    t.same(await b.cachedEvent('app', 'cache-1', limits, false), { isFirstMiss: false }, 'the one written longest ago is forgotten');
    t.same(await b.cachedEvent('app', 'cache-3', limits, false), { frame: 'cache-3', isFirstMiss: false });
    const [first, second] = await Promise.all([a.cachedEvent('app', 'cache-9', limits, true), b.cachedEvent('app', 'cache-9', limits, true)]);
    t.same([first.isFirstMiss, second.isFirstMiss].sort(), [false, true], 'of two nodes missing at once, one notes the miss');
    t.same(await a.cachedEvent('app', 'cache-9', limits, true), { isFirstMiss: false }, 'not noted again');
    await b.cacheEvent('app', 'cache-9', 'filled', limits);
    await cluster.elapse(limits.ttlMs + 50);
    t.same(await a.cachedEvent('app', 'cache-9', limits, true), { isFirstMiss: true }, 'an event in between clears the noted miss');
  });

  t.test(`${name}: a user is online from its first node to its last; a dead node takes its users offline once`, async (t) => {
    const cluster = makeCluster(t);
    const [a, b] = [await cluster.join('a'), await cluster.join('b')];
    t.equal(await a.userOnline('app', 'ann'), true, 'first in the cluster');
    t.equal(await b.userOnline('app', 'ann'), false, 'already online on a');
    t.equal(await b.userOnline('app', 'auth0|bob'), true);
    t.same((await a.onlineElsewhere('app', ['ann', 'auth0|bob', 'carl'])).sort(), ['ann', 'auth0|bob'], 'a reads what the others have');
    t.same(await a.onlineElsewhere('other-app', ['auth0|bob']), [], 'apps are separate');
    t.equal(await a.userOffline('app', 'ann'), false, 'b still has ann');
    t.equal(await b.userOffline('app', 'ann'), true, 'the last one: offline');
    let beat = await a.heartbeat(new Map());
    for (let step = 0; step < 8 && beat.departed.length === 0; step++) {
      await cluster.elapse(NODE_TIMEOUT_MS / 3);
      beat = await a.heartbeat(new Map());
    }
    t.same(beat.departed, [{ appId: 'app', channel: ONLINE_USERS, userId: 'auth0|bob' }], 'b died: its users are offline');
  });

  t.test(`${name}: a node taken for dead writes its signed-in users again`, async (t) => {
    const cluster = makeCluster(t);
    const a = await cluster.join('a');
    const b = await cluster.join('b', () => ({ ...EMPTY, users: [['app', 'ann']] }));
    await b.userOnline('app', 'ann');
    await b.heartbeat(new Map());
    await passWhileBeating(cluster, a);
    t.same(await a.onlineElsewhere('app', ['ann']), [], 'b was removed');
    t.equal((await b.heartbeat(new Map())).rejoined, true);
    await until(async () => (await a.onlineElsewhere('app', ['ann'])).length === 1, 'b’s users to return');
    t.same(await b.close(), [{ appId: 'app', channel: ONLINE_USERS, userId: 'ann' }], 'and to leave with it');
  });

  t.test(`${name}: deployments with different prefixes (or hubs) do not see each other`, async (t) => {
    const [first, second] = [makeCluster(t), makeCluster(t)];
    const a = await first.join('a');
    const b = await second.join('b');
    await b.addMember('app', 'presence-room', member('1'), 100);
    t.equal(await a.addMember('app', 'presence-room', member('1'), 100), 'added');
    t.same(await a.otherMembers('app', 'presence-room'), []);
  });
}
