import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { type Subscribed, start } from '../../src/client/index.js';
import { HttpErrors, WsErrors } from '../../src/errors.js';
import { type GatewayProcess, startNodes } from '../helpers/cluster.js';
import { DEMO_APP, signedPost } from '../helpers/gateway.js';
import { startRedis, STANDALONE_ONLY } from '../helpers/redis.js';
import { type Frame, TestClient, until } from '../helpers/ws-client.js';

/** Short timings through the settings users have, so faults play out in seconds. */
const FAST = ['--redis-heartbeat-ms', '200', '--redis-node-timeout-ms', '1000', '--redis-command-timeout-ms', '500'];
const CHANNEL = 'chat-room';
const EVENTS = `/apps/${DEMO_APP.id}/events`;

/** The demo app with a history rule, as a config file the CLI reads. */
function historyConfig(t: Test): string[] {
  const file = join(mkdtempSync(join(tmpdir(), 'history-')), 'gateway.json');
  writeFileSync(file, JSON.stringify({ apps: [{ ...DEMO_APP, history: [{ prefix: 'chat-', size: 100, ttlSeconds: 60 }] }] }));
  t.teardown(() => rmSync(dirname(file), { recursive: true, force: true }));
  return ['--config', file, ...FAST];
}

const publish = (node: GatewayProcess, n: number) => signedPost(node, EVENTS, { name: 'message', channel: CHANNEL, data: JSON.stringify({ n }) });
const isMessage = (f: Frame) => f.event === 'message';
const numberOf = (f: Frame) => (f.data as { n: number }).n;

async function subscriber(t: Test, node: GatewayProcess, dialect: 'broadcastt' | 'pusher', since?: { epoch: string; offset: number }) {
  const { client } = await TestClient.established(node.wsUrl(dialect === 'pusher' ? '?protocol=7' : ''));
  t.teardown(() => client.close());
  client.send({ event: `${dialect}:subscribe`, data: { channel: CHANNEL, ...(since && { since }) } });
  const answer = await client.next(`${dialect}_internal:subscription_succeeded`);
  return { client, answer: answer.data as { epoch: string; offset: number; recovered?: boolean } };
}

t.test('three nodes: a client whose node was SIGKILLed resumes on another and gets exactly what it missed, publishing racing the replay', async (t) => {
  const [one, two, three] = (await startNodes(t, 3, historyConfig(t))) as [GatewayProcess, GatewayProcess, GatewayProcess];
  const first = await subscriber(t, one, 'broadcastt');
  for (let n = 1; n <= 3; n++) t.equal((await publish(two, n)).status, 200, 'REST answers once Redis kept it');
  const got = [await first.client.next(isMessage), await first.client.next(isMessage), await first.client.next(isMessage)];
  t.same(got.map((f) => [numberOf(f), f.offset]), [
    [1, 1],
    [2, 2],
    [3, 3],
  ]);

  one.process.kill('SIGKILL');
  await first.client.closed;
  for (let n = 4; n <= 8; n++) await publish(two, n);
  let next = 9;
  let publishing = true;
  const publisher = (async () => {
    while (publishing) await publish(two, next++);
  })();
  const back = await subscriber(t, three, 'pusher', { epoch: first.answer.epoch, offset: 3 });
  await until(() => back.client.received.filter(isMessage).some((f) => numberOf(f) > back.answer.offset + 2), 'live events after the replay');
  publishing = false;
  await publisher;
  const last = next - 1;
  await until(() => back.client.received.filter(isMessage).some((f) => numberOf(f) === last), `event ${last}`);
  t.match(back.answer, { epoch: first.answer.epoch, recovered: true });
  const events = back.client.received.filter(isMessage);
  t.same(
    events.map(numberOf),
    Array.from({ length: last - 3 }, (_, i) => i + 4),
    `4–${last}: each once, in order, answered at ${back.answer.offset}`,
  );
  t.same(
    events.map((f) => f.offset),
    events.map(numberOf),
    'offsets assigned once for the cluster',
  );

  const stale = await subscriber(t, two, 'broadcastt', { epoch: 'an-epoch-from-elsewhere', offset: 3 });
  t.same(stale.answer, { epoch: first.answer.epoch, offset: last, recovered: false }, 'an unknown epoch is never recovered');
});

t.test('a Redis restarted empty starts a new epoch: publishing fails while it is down, and no old position is recovered', STANDALONE_ONLY, async (t) => {
  const redis = await startRedis(t);
  const [one, two] = (await startNodes(t, 2, historyConfig(t), redis.url)) as [GatewayProcess, GatewayProcess];
  const before = await subscriber(t, one, 'broadcastt');
  for (let n = 1; n <= 3; n++) await publish(two, n);
  await until(() => before.client.received.filter(isMessage).length === 3, 'events 1–3');

  redis.freeze();
  const { client: frozen } = await TestClient.established(one.wsUrl());
  t.teardown(() => frozen.close());
  frozen.send({ event: 'broadcastt:subscribe', data: { channel: CHANNEL } });
  t.match(await frozen.next('broadcastt:subscription_error'), { data: { type: 'HistoryUnavailable' } }, 'a frozen Redis: refused within redisCommandTimeoutMs');
  redis.thaw();

  await redis.stop();
  const refused = await publish(two, 4);
  t.same(refused.status, HttpErrors.ClusterUnavailable.status, 'a publication that cannot be kept is refused, not delivered unkept');
  const { client: meanwhile } = await TestClient.established(one.wsUrl());
  t.teardown(() => meanwhile.close());
  meanwhile.send({ event: 'broadcastt:subscribe', data: { channel: CHANNEL } });
  t.match(await meanwhile.next('broadcastt:subscription_error'), { channel: CHANNEL, data: { type: 'HistoryUnavailable', status: 503, error: /redis is not connected/ } });
  await redis.start();
  // Until both nodes are back on Redis: one publishes again and the other's subscription is made again.
  let next = 5;
  let kept = 0;
  await until(
    async () => {
      if ((await publish(two, next++)).status === 200) kept++;
      return before.client.received.filter(isMessage).some((f) => numberOf(f) >= 5);
    },
    'publications to reach the live client again',
    15_000,
  );
  const latest = before.client.received.filter(isMessage).at(-1)?.offset as number;
  t.ok(latest <= kept, `the stream started over: offset ${latest} of ${kept} kept since`);

  const back = await subscriber(t, two, 'broadcastt', { epoch: before.answer.epoch, offset: 3 });
  t.equal(back.answer.recovered, false);
  t.not(back.answer.epoch, before.answer.epoch, 'a new epoch');
  t.equal(back.answer.offset, kept);
  t.notOk(back.client.received.some(isMessage), 'nothing replayed');
});

t.test('a node whose Redis subscription dropped notices the gap, and its clients reconnect and recover what it missed', STANDALONE_ONLY, async (t) => {
  const redis = await startRedis(t);
  const [one, two] = (await startNodes(t, 2, historyConfig(t), redis.url)) as [GatewayProcess, GatewayProcess];
  const exp = start({ url: one.wsUrl(), key: DEMO_APP.key, minBackoffMs: 50, maxBackoffMs: 200 });
  t.teardown(() => exp.stop());
  const got: number[] = [];
  const subscribed: Subscribed[] = [];
  exp.on('subscribed', (detail) => subscribed.push(detail as Subscribed));
  await exp.getChannel(CHANNEL).listen('message', (payload) => got.push((payload as { n: number }).n));
  const raw = await subscriber(t, one, 'broadcastt');
  for (let n = 1; n <= 3; n++) await publish(two, n);
  await until(() => got.length === 3, 'events 1–3');

  // Every node's subscription is cut; what is published before they subscribe again never reaches them.
  execFileSync('redis-cli', ['-u', redis.url, 'CLIENT', 'KILL', 'TYPE', 'pubsub']);
  t.equal((await publish(two, 4)).status, 200, 'kept in the stream all the same');
  let next = 5;
  await until(
    async () => {
      await publish(two, next++);
      return got.length > 0 && (got.at(-1) as number) >= 6;
    },
    'events after the gap',
    10_000,
  );
  const last = next - 1;
  await until(() => got.at(-1) === last, `event ${last}`);
  t.same(
    got,
    Array.from({ length: last }, (_, i) => i + 1),
    `1–${last}: the missed event recovered, nothing twice`,
  );
  t.match(subscribed.at(-1), { wasRecovering: true, recovered: true }, 'by a resubscription that recovered');
  t.match(await raw.client.next('broadcastt:error'), { data: { code: WsErrors.MissedEvents.code } }, 'a plain client is told, not left with a silent gap');
  t.equal((await raw.client.closed).code, WsErrors.MissedEvents.code);
});
