import t from 'tap';
import type { HistoryRule } from '../../src/apps/app-registry.js';
import type { HistoryStore, StreamRead } from '../../src/cluster/history-store.js';
import { MemoryHistoryStore } from '../../src/cluster/memory-history-store.js';
import { authorizeChannel } from '../../src/protocol/channel-auth.js';
import { type DecodedFrame, type FakeConnection, makeNode, makeSession, type NodeFixture, type NodeOptions, settled } from '../helpers/fake-connection.js';

const CHANNEL = 'chat-room';
const RULES: HistoryRule[] = [
  { prefix: 'chat-', size: 10, ttlSeconds: 60 },
  { prefix: 'presence-chat-', size: 10, ttlSeconds: 60 },
  { prefix: 'private-chat-', size: 10, ttlSeconds: 60 },
];

/**
 * The memory store, with reads held until the test lets them go: the window a cluster's Redis round trip
 * opens between joining a channel and answering it. `readsAt` says when a held read takes its snapshot: when
 * it is asked (publications during the hold come after it) or when it is let go (they are in it as well).
 */
class GatedHistory implements HistoryStore {
  readonly memory = new MemoryHistoryStore({ maxBytes: 1 << 20, positionTtlMs: 60_000 });
  readsAt: 'asked' | 'released' = 'asked';
  isGated = false;
  failReads = false;
  private readonly waiting: Array<() => void> = [];

  start = () => this.memory.start();
  close = () => this.memory.close();
  append: HistoryStore['append'] = (...args) => this.memory.append(...args);

  async read(appId: string, channel: string, rule: HistoryRule, after: number, limit: number): Promise<StreamRead> {
    if (this.failReads) throw new Error('redis is not connected');
    if (!this.isGated) return this.memory.read(appId, channel, rule, after, limit);
    const early = this.readsAt === 'asked' ? await this.memory.read(appId, channel, rule, after, limit) : undefined;
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    return early ?? this.memory.read(appId, channel, rule, after, limit);
  }

  /** Lets the held reads go, once those already asked for have reached their gate. */
  async release(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    for (const go of this.waiting.splice(0)) go();
  }
}

function historyNode(app: NodeOptions['app'] = {}, config: NodeOptions['config'] = {}): NodeFixture & { history: GatedHistory } {
  const history = new GatedHistory();
  return { ...makeNode({ app: { history: RULES, clientEvents: true, ...app }, config, history }), history };
}

const publish = (on: NodeFixture, n: number, channel = CHANNEL) => on.node.publishEvent(on.app.id, channel, 'message', JSON.stringify({ n }));
/** The `n` of each event the connection got, in order (the answers are left out). */
const numbers = (connection: FakeConnection) => connection.decoded().filter(isEvent).map((f) => (f.data as { n: number }).n);
const isEvent = (f: DecodedFrame) => f.event === 'message';
const offsets = (connection: FakeConnection) => connection.frames().filter(isEvent).map((f) => (f as unknown as { offset: number }).offset);
const answer = (connection: FakeConnection) => connection.decoded().find((f) => f.event.endsWith('subscription_succeeded'));

/** A client that got 1–3 live and left: its position is the epoch it was told and the offset of event 3. */
async function clientThatLeftAt3(on: NodeFixture) {
  const first = makeSession({ on, socketId: '1.1' });
  first.send({ event: 'broadcastt:subscribe', data: { channel: CHANNEL } });
  await settled();
  for (let n = 1; n <= 3; n++) publish(on, n);
  const { epoch } = answer(first.connection)?.data as { epoch: string; offset: number };
  t.same(numbers(first.connection), [1, 2, 3]);
  t.same(offsets(first.connection), [1, 2, 3], 'each event carries its offset');
  first.session.close();
  return { epoch, offset: 3 };
}

for (const readsAt of ['asked', 'released'] as const) {
  t.test(`a client back with since gets exactly what it missed, then live events, while publications race the read (read ${readsAt})`, async (t) => {
    const on = historyNode();
    const since = await clientThatLeftAt3(on);
    for (let n = 4; n <= 8; n++) publish(on, n);
    on.history.isGated = true;
    on.history.readsAt = readsAt;
    const back = makeSession({ on, socketId: '1.2' });
    back.send({ event: 'broadcastt:subscribe', data: { channel: CHANNEL, since } });
    await settled();
    publish(on, 9);
    publish(on, 10);
    t.same(back.connection.sent, [], 'nothing reaches the socket before its answer');
    t.equal(on.node.index.subscriberCount(on.app.id, CHANNEL), 1, 'but it is a member already');
    await on.history.release();
    await settled();
    publish(on, 11);
    const frames = back.connection.decoded();
    t.match(frames[0], { event: 'broadcastt_internal:subscription_succeeded', channel: CHANNEL, data: { epoch: since.epoch, offset: readsAt === 'asked' ? 8 : 10, recovered: true } });
    t.same(numbers(back.connection), [4, 5, 6, 7, 8, 9, 10, 11], 'no gap, no duplicate');
    t.same(offsets(back.connection), [4, 5, 6, 7, 8, 9, 10, 11]);
  });
}

t.test('a position the stream cannot continue is answered recovered: false with the current position, and nothing replayed', async (t) => {
  const cases: Array<[string, (since: { epoch: string; offset: number }) => { epoch: string; offset: number }, Parameters<typeof historyNode>[0]]> = [
    ['an unknown epoch', (since) => ({ epoch: 'gone-by', offset: since.offset }), {}],
    ['a trimmed position (the stream keeps 10)', (since) => ({ ...since, offset: 1 }), {}],
    ['more missed than maxRecoveredEvents', (since) => since, { maxRecoveredEvents: 4 }],
    ['a position after the stream’s last', (since) => ({ ...since, offset: 99 }), {}],
  ];
  for (const [label, position, app] of cases) {
    const on = historyNode(app);
    const since = await clientThatLeftAt3(on);
    for (let n = 4; n <= 12; n++) publish(on, n);
    const back = makeSession({ on, socketId: '1.2' });
    back.send({ event: 'broadcastt:subscribe', data: { channel: CHANNEL, since: position(since) } });
    await settled();
    publish(on, 13);
    t.same(answer(back.connection)?.data, { epoch: since.epoch, offset: 12, recovered: false }, label);
    t.same(numbers(back.connection), [13], `${label}: only what comes after the answer`);
  }
});

t.test('without since the answer is the position alone; since is ignored on channels without history', async (t) => {
  const on = historyNode();
  publish(on, 1);
  const fresh = makeSession({ on, socketId: '1.1' });
  fresh.send({ event: 'broadcastt:subscribe', data: { channel: CHANNEL } });
  await settled();
  t.match(answer(fresh.connection)?.data, { offset: 1 });
  t.notOk('recovered' in (answer(fresh.connection)?.data as object), 'no recovered without since');
  fresh.send({ event: 'broadcastt:subscribe', data: { channel: 'news', since: { epoch: 'e', offset: 4 } } });
  t.match(fresh.connection.last(), { event: 'broadcastt_internal:subscription_succeeded', channel: 'news', data: {} });
  t.same(Object.keys(fresh.connection.last().data as object), [], 'news keeps no history: "{}"');
  publish(on, 2, 'news');
  t.notOk('offset' in (fresh.connection.frames().at(-1) as object), 'and its events carry no offset');
});

t.test('a subscribe repeated while the first is answered gets that answer only; left meanwhile, nothing at all', async (t) => {
  const on = historyNode();
  on.history.isGated = true;
  const { connection, send, session } = makeSession({ on, socketId: '1.1' });
  send({ event: 'broadcastt:subscribe', data: { channel: CHANNEL } });
  send({ event: 'broadcastt:subscribe', data: { channel: CHANNEL } });
  await on.history.release();
  await settled();
  t.equal(connection.decoded().filter((f) => f.event.endsWith('subscription_succeeded')).length, 1);
  connection.clear();
  send({ event: 'broadcastt:subscribe', data: { channel: CHANNEL } });
  t.same(connection.decoded(), [{ event: 'broadcastt_internal:subscription_succeeded', channel: CHANNEL, data: {} }], 'joined: answered again, as before');

  connection.clear();
  send({ event: 'broadcastt:unsubscribe', data: { channel: CHANNEL } });
  send({ event: 'broadcastt:subscribe', data: { channel: CHANNEL } });
  send({ event: 'broadcastt:unsubscribe', data: { channel: CHANNEL } });
  publish(on, 1);
  await on.history.release();
  await settled();
  t.same(connection.sent, [], 'unsubscribed while its answer was prepared: nothing');
  t.equal(on.node.index.subscriberCount(on.app.id, CHANNEL), 0);
  t.same(session.channels, []);
});

t.test('a stream that cannot be read refuses the subscription with HistoryUnavailable and leaves the channel', async (t) => {
  const on = historyNode();
  on.history.failReads = true;
  const { connection, send, session } = makeSession({ on, socketId: '1.1' });
  send({ event: 'broadcastt:subscribe', data: { channel: CHANNEL } });
  await settled();
  t.match(connection.decoded(), [{ event: 'broadcastt:subscription_error', channel: CHANNEL, data: { type: 'HistoryUnavailable', status: 503, error: /redis is not connected/ } }]);
  t.equal(on.node.index.subscriberCount(on.app.id, CHANNEL), 0);
  t.same(session.channels, []);
});

t.test('a hold that outgrows maxBackpressureBytes refuses the subscription rather than grow', async (t) => {
  const on = historyNode({}, { maxBackpressureBytes: 65536 });
  on.history.isGated = true;
  const { connection, send } = makeSession({ on, socketId: '1.1' });
  send({ event: 'broadcastt:subscribe', data: { channel: CHANNEL } });
  for (let n = 0; n < 20; n++) on.node.publishEvent(on.app.id, CHANNEL, 'message', JSON.stringify({ n, pad: 'x'.repeat(4000) }));
  await on.history.release();
  await settled();
  t.match(connection.decoded(), [{ event: 'broadcastt:subscription_error', channel: CHANNEL, data: { type: 'HistoryUnavailable', error: /over 65536 bytes of events arrived/ } }]);
  t.equal(on.node.index.subscriberCount(on.app.id, CHANNEL), 0);
});

t.test('presence channels with history: roster and position in one answer, member events and publications in order after it', async (t) => {
  const on = historyNode();
  const channel = 'presence-chat-1';
  const member = (socketId: string, userId: string, since?: unknown) => {
    const s = makeSession({ on, socketId });
    const channelData = JSON.stringify({ user_id: userId });
    s.send({ event: 'broadcastt:subscribe', data: { channel, ...authorizeChannel(on.app, socketId, channel, channelData), ...(since === undefined ? {} : { since }) } });
    return s;
  };
  const ann = member('1.1', 'ann');
  await settled();
  publish(on, 1, channel);
  const { epoch } = answer(ann.connection)?.data as { epoch: string };
  publish(on, 2, channel);
  on.history.isGated = true;
  const bob = member('1.2', 'bob', { epoch, offset: 0 });
  await settled();
  await settled();
  publish(on, 3, channel);
  await on.history.release();
  await settled();
  t.match(answer(bob.connection)?.data, { presence: { ids: ['ann', 'bob'], count: 2 }, epoch, offset: 2, recovered: true });
  t.same(numbers(bob.connection), [1, 2, 3]);
  t.match(ann.connection.decoded().filter((f) => f.event !== 'message').at(-1), { event: 'broadcastt_internal:member_added', data: { user_id: 'bob' } });
});

t.test('client events on a history channel are kept: the sender is spared live, a client back later gets them', async (t) => {
  const on = historyNode();
  const channel = 'private-chat-1';
  const join = (socketId: string, since?: unknown) => {
    const s = makeSession({ on, socketId });
    s.send({ event: 'broadcastt:subscribe', data: { channel, ...authorizeChannel(on.app, socketId, channel), ...(since === undefined ? {} : { since }) } });
    return s;
  };
  const sender = join('1.1');
  await settled();
  const { epoch, offset } = answer(sender.connection)?.data as { epoch: string; offset: number };
  sender.send({ event: 'client-typing', channel, data: { who: 'ann' } });
  t.equal(sender.connection.decoded().filter((f) => f.event === 'client-typing').length, 0, 'not echoed');
  const later = join('1.2', { epoch, offset });
  await settled();
  t.match(later.connection.frames().at(-1), { event: 'client-typing', channel, data: '{"who":"ann"}', offset: 1 });
});
