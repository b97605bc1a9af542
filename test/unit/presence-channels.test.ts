import t, { type Test } from 'tap';
import type { App } from '../../src/apps/app-registry.js';
import { type ClusterStore, type MemberOutcome, SingleNodeStore } from '../../src/cluster/cluster-store.js';
import { MemoryHub } from '../../src/cluster/memory-broker.js';
import { MemoryStoreHub } from '../../src/cluster/memory-cluster-store.js';
import { SubscriptionErrors } from '../../src/errors.js';
import { authorizeChannel } from '../../src/protocol/channel-auth.js';
import { makeNode, makeSession, settled } from '../helpers/fake-connection.js';

const CHANNEL = 'presence-room';
type Fixture = ReturnType<typeof makeSession>;

/** An in-process cluster: gateway nodes joined by a memory broker and a memory store hub. */
function cluster(t: Test) {
  const [brokers, stores] = [new MemoryHub(), new MemoryStoreHub(5000)];
  return async (id: string, app: Partial<App> = {}) => {
    const on = makeNode({ id, app, broker: brokers.broker(), store: stores.store(id) });
    await on.node.start();
    t.teardown(() => on.node.drain(0));
    return { ...on, index: on.node.index, presence: on.node.presence, socket: (socketId: string) => makeSession({ socketId, on }) };
  };
}

function subscribe(s: Fixture, userId: string): void {
  const channelData = JSON.stringify({ user_id: userId });
  s.send({ event: 'broadcastt:subscribe', data: { channel: CHANNEL, ...authorizeChannel(s.app, s.session.socketId, CHANNEL, channelData) } });
}

const events = (s: Fixture, event: string) => s.connection.decoded().filter((f) => f.event === event).map((f) => (f.data as { user_id: string }).user_id);

t.test('two nodes: one roster, member_added once per cluster and never to the joining socket', async (t) => {
  const node = cluster(t);
  const [a, b] = [await node('a'), await node('b')];
  const ann = a.socket('1.1');
  subscribe(ann, 'ann');
  await settled();
  const bob = b.socket('2.1');
  subscribe(bob, 'bob');
  await settled();
  t.match(bob.connection.last(), { event: 'broadcastt_internal:subscription_succeeded', data: { presence: { count: 2 } } });
  t.same(events(ann, 'broadcastt_internal:member_added'), ['bob']);
  t.same(events(bob, 'broadcastt_internal:member_added'), [], 'not its own');
  const annOnB = b.socket('2.2');
  subscribe(annOnB, 'ann');
  await settled();
  t.same(events(bob, 'broadcastt_internal:member_added'), [], 'ann’s socket on another node is no new member');
  ann.session.close();
  await settled();
  t.same(events(bob, 'broadcastt_internal:member_removed'), [], 'ann still has a socket on b');
  annOnB.session.close();
  await settled();
  t.same(events(bob, 'broadcastt_internal:member_removed'), ['ann']);
});

t.test('the member limit holds across nodes, for every socket of a refused user', async (t) => {
  const node = cluster(t);
  const [a, b] = [await node('a', { maxPresenceMembers: 1 }), await node('b', { maxPresenceMembers: 1 })];
  subscribe(a.socket('1.1'), 'ann');
  await settled();
  const [first, second] = [b.socket('2.1'), b.socket('2.2')];
  subscribe(first, 'bob');
  subscribe(second, 'bob');
  await settled();
  for (const s of [first, second]) t.match(s.connection.last(), { event: 'broadcastt:subscription_error', data: { type: 'MemberLimitReached', status: SubscriptionErrors.MemberLimitReached.status } });
  t.equal(b.index.subscriberCount('test-app', CHANNEL), 0);
  t.same(await b.presence.members('test-app', CHANNEL), [{ userId: 'ann', userInfo: {} }], 'bob was never recorded');
});

/** A single-node store whose admissions wait until the test lets them through. */
function gatedStore(): { store: ClusterStore; open: () => void } {
  const store = new SingleNodeStore();
  let open = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  store.addMember = async (): Promise<MemberOutcome> => {
    await gate;
    return 'added';
  };
  return { store, open };
}

t.test('a socket that unsubscribes or closes while its admission waits leaves again once admitted', async (t) => {
  const { store, open } = gatedStore();
  const on = makeNode({ store });
  const { index, presence } = on.node;
  const watcher = makeSession({ socketId: '1.1', on });
  subscribe(watcher, 'watcher');
  const quitter = makeSession({ socketId: '1.2', on });
  subscribe(quitter, 'quitter');
  quitter.send({ event: 'broadcastt:unsubscribe', data: { channel: CHANNEL } });
  const closer = makeSession({ socketId: '1.3', on });
  subscribe(closer, 'closer');
  closer.session.close();
  open();
  await settled();
  t.equal(index.subscriberCount('test-app', CHANNEL), 1, 'only the watcher joined');
  t.notOk(quitter.connection.decoded().some((f) => f.event === 'broadcastt_internal:subscription_succeeded'), 'no answer after unsubscribing');
  t.same(await presence.members('test-app', CHANNEL), [{ userId: 'watcher', userInfo: {} }]);
  // They were admitted before they were let go, so the watcher may see them in its roster or come: whichever it
  // saw, it also sees them go, and its view ends right.
  const roster = watcher.connection.decoded().find((f) => f.event === 'broadcastt_internal:subscription_succeeded')?.data as { presence: { ids: string[] } };
  const seen = new Set([...roster.presence.ids, ...events(watcher, 'broadcastt_internal:member_added')]);
  for (const gone of events(watcher, 'broadcastt_internal:member_removed')) seen.delete(gone);
  t.same([...seen], ['watcher']);
  t.same(events(watcher, 'broadcastt_internal:member_removed').sort(), ['closer', 'quitter']);
  t.same(quitter.session.channels, []);
});

t.test('while the store cannot be reached, presence is decided on this node and the log says so once', async (t) => {
  const store = new SingleNodeStore();
  const down = () => Promise.reject(new Error('connection is closed'));
  Object.assign(store, { addMember: down, removeMember: down, otherMembers: down });
  const on = makeNode({ store });
  const ann = makeSession({ socketId: '1.1', on });
  const bob = makeSession({ socketId: '1.2', on });
  subscribe(ann, 'ann');
  await settled();
  subscribe(bob, 'bob');
  await settled();
  t.match(bob.connection.last(), { event: 'broadcastt_internal:subscription_succeeded', data: { presence: { ids: ['ann', 'bob'] } } });
  t.same(events(ann, 'broadcastt_internal:member_added'), ['bob']);
  bob.session.close();
  await settled();
  t.same(events(ann, 'broadcastt_internal:member_removed'), ['bob']);
  await t.rejects(on.node.presence.members('test-app', CHANNEL), /connection is closed/, 'queries say they cannot answer');
  t.equal(ann.log.lines.filter((l) => l.level === 'warn').length, 1, 'one warning, not one per call');
});

t.test('two users joining at the same moment on two nodes each end up seeing the other', async (t) => {
  const node = cluster(t);
  const [a, b] = [await node('a'), await node('b')];
  const [ann, bob] = [a.socket('1.1'), b.socket('2.1')];
  subscribe(ann, 'ann');
  subscribe(bob, 'bob');
  for (let i = 0; i < 5; i++) await settled();
  /** The roster, then the member events in the order they came: what a client believes. */
  const view = (s: Fixture) => {
    const seen = new Set<string>();
    for (const frame of s.connection.decoded()) {
      const data = frame.data as { presence?: { ids: string[] }; user_id?: string };
      if (frame.event.endsWith('subscription_succeeded')) for (const id of data.presence?.ids ?? []) seen.add(id);
      if (frame.event.endsWith('member_added')) seen.add(data.user_id as string);
      if (frame.event.endsWith('member_removed')) seen.delete(data.user_id as string);
    }
    return [...seen].sort();
  };
  t.same(view(ann), ['ann', 'bob']);
  t.same(view(bob), ['ann', 'bob']);
  const first = (s: Fixture) => s.connection.decoded()[0]?.event;
  t.equal(first(ann), 'broadcastt_internal:subscription_succeeded', 'the roster comes before any member event');
  t.equal(first(bob), 'broadcastt_internal:subscription_succeeded');
});
