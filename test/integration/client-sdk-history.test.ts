import t from 'tap';
import { type Client, type Subscribed, start } from '../../src/client/index.js';
import type { HistoryStore } from '../../src/cluster/history-store.js';
import { MemoryHistoryStore } from '../../src/cluster/memory-history-store.js';
import { DEMO_APP, startGateway } from '../helpers/gateway.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/ws-client.js';

const HISTORY = [
  { prefix: 'chat-', size: 50, ttlSeconds: 60 },
  { prefix: 'tiny-', size: 2, ttlSeconds: 60 },
];

t.test('the SDK resumes each history channel where it was after a dropped connection, and says whether it recovered', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, history: HISTORY }] });
  const proxy = await startTcpProxy(t, running.port);
  const exp: Client = start({ url: `ws://127.0.0.1:${proxy.port}/app/${DEMO_APP.key}`, key: DEMO_APP.key, minBackoffMs: 50, maxBackoffMs: 200 });
  t.teardown(() => exp.stop());
  const subscribed: Subscribed[] = [];
  exp.on('subscribed', (detail) => subscribed.push(detail as Subscribed));
  const chat: number[] = [];
  const tiny: number[] = [];
  const offsets: Array<number | undefined> = [];
  await exp.getChannel('chat-room').listen('message', (payload, _respond, message) => {
    chat.push((payload as { n: number }).n);
    offsets.push(message.offset);
  });
  await exp.getChannel('tiny-room').listen('message', (payload) => tiny.push((payload as { n: number }).n));
  const publish = (channel: string, n: number) => running.gateway.publish(DEMO_APP.id, channel, 'message', { n });
  for (let n = 1; n <= 3; n++) publish('chat-room', n);
  publish('tiny-room', 1);
  await until(() => chat.length === 3 && tiny.length === 1, 'the first events');
  t.same(offsets, [1, 2, 3], 'listeners see each event’s offset');
  t.match(exp.getChannel('chat-room').position, { offset: 3 });

  const offline = new Promise((resolve) => exp.on('offline', resolve));
  proxy.cut();
  await offline;
  await until(() => running.gateway.health().connections === 0, 'the gateway to see the connection go');
  for (let n = 4; n <= 8; n++) publish('chat-room', n);
  for (let n = 2; n <= 5; n++) publish('tiny-room', n);
  await until(() => subscribed.length === 4, 'both channels resubscribed');
  publish('chat-room', 9);
  await until(() => chat.length === 9, 'the live event after the missed ones');
  t.same(chat, [1, 2, 3, 4, 5, 6, 7, 8, 9], 'without application code: what was missed, then live, each once');
  t.same(tiny, [1], 'nothing partial where the stream had dropped some');
  const after = Object.fromEntries(subscribed.slice(2).map((s) => [s.channel, s]));
  t.match(after['chat-room'], { wasRecovering: true, recovered: true, position: { offset: 3 } }, 'recovered from 3: events 4–8 follow the answer');
  t.match(after['tiny-room'], { wasRecovering: true, recovered: false, position: { offset: 5 } }, 'recovered: false, so the app reloads');
  t.match(subscribed[0], { channel: 'chat-room', wasRecovering: false, recovered: false, position: { offset: 0 } });
  t.match(exp.getChannel('chat-room').position, { offset: 9 });
});

t.test('a subscription refused for now (HistoryUnavailable) is made again after a backoff, and listen() resolves then', async (t) => {
  const memory = new MemoryHistoryStore({ maxBytes: 1 << 20, positionTtlMs: 60_000 });
  let failures = 2;
  // The store a gateway is given: its first reads fail, as a cluster's do while Redis is away.
  const history: HistoryStore = {
    start: () => memory.start(),
    close: () => memory.close(),
    append: (...args) => memory.append(...args),
    read: (...args) => (failures-- > 0 ? Promise.reject(new Error('redis is not connected')) : memory.read(...args)),
  };
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, history: HISTORY }], history });
  const exp = start({ url: `ws://127.0.0.1:${running.port}/app/${DEMO_APP.key}`, key: DEMO_APP.key, minBackoffMs: 20, maxBackoffMs: 50 });
  t.teardown(() => exp.stop());
  const got: unknown[] = [];
  await exp.getChannel('chat-room').listen('message', (payload) => got.push(payload));
  t.equal(failures, -1, 'answered on the third attempt');
  running.gateway.publish(DEMO_APP.id, 'chat-room', 'message', { n: 1 });
  await until(() => got.length === 1, 'an event');
});
