import t from 'tap';
import { HttpErrors } from '../../src/errors.js';
import { signRequestQuery } from '../../src/http/request-signature.js';
import { DEMO_APP, httpRequest, type Running, signedGet, signedPost, startGateway } from '../helpers/gateway.js';
import { pusherClient, pusherServer } from '../helpers/pusher.js';
import { type Frame, TestClient, until } from '../helpers/ws-client.js';

const RULE = { prefix: 'chat-', size: 20, ttlSeconds: 60 };
const CHANNEL = 'chat-room';
const EVENTS = `/apps/${DEMO_APP.id}/events`;

function historyGateway(t: Parameters<typeof startGateway>[0]): Promise<Running> {
  return startGateway(t, { apps: [{ ...DEMO_APP, history: [RULE], maxRecoveredEvents: 10 }] });
}

const publish = (running: Running, n: number, channel = CHANNEL) => signedPost(running, EVENTS, { name: 'message', channel, data: JSON.stringify({ n }) });
const isMessage = (f: Frame) => f.event === 'message';
const numberOf = (f: Frame) => (f.data as { n: number }).n;

/** A client of `dialect` subscribed to the channel (with `since`, if given), and the answer it got. */
async function subscriber(t: Parameters<typeof startGateway>[0], running: Running, dialect: 'broadcastt' | 'pusher', since?: { epoch: string; offset: number }) {
  const { client } = await TestClient.established(running.wsUrl(`/app/${DEMO_APP.key}${dialect === 'pusher' ? '?protocol=7' : ''}`));
  t.teardown(() => client.close());
  client.send({ event: `${dialect}:subscribe`, data: { channel: CHANNEL, ...(since && { since }) } });
  const answer = await client.next(`${dialect}_internal:subscription_succeeded`);
  return { client, answer: answer.data as { epoch: string; offset: number; recovered?: boolean } };
}

t.test('a client back with since gets exactly the events it missed, then the live ones, while publishing goes on during the replay', async (t) => {
  const running = await historyGateway(t);
  const first = await subscriber(t, running, 'broadcastt');
  t.match(first.answer, { epoch: /./, offset: 0 });
  for (let n = 1; n <= 3; n++) await publish(running, n);
  const got = [await first.client.next(isMessage), await first.client.next(isMessage), await first.client.next(isMessage)];
  t.same(got.map(numberOf), [1, 2, 3]);
  t.same(
    got.map((f) => f.offset),
    [1, 2, 3],
    'events carry their offset at the top level',
  );
  await first.client.close();
  for (let n = 4; n <= 8; n++) await publish(running, n);

  let next = 9;
  let publishing = true;
  const publisher = (async () => {
    while (publishing) await publish(running, next++);
  })();
  const back = await subscriber(t, running, 'pusher', { epoch: first.answer.epoch, offset: 3 });
  await until(() => back.client.received.filter(isMessage).some((f) => numberOf(f) > back.answer.offset), 'live events after the replay');
  publishing = false;
  await publisher;
  const last = next - 1;
  await until(() => back.client.received.filter(isMessage).some((f) => numberOf(f) === last), `event ${last}`);
  t.match(back.answer, { epoch: first.answer.epoch, recovered: true });
  t.ok(back.answer.offset >= 8, `answered at offset ${back.answer.offset}, with events published during the subscribe`);
  const events = back.client.received.filter(isMessage);
  t.same(
    events.map(numberOf),
    Array.from({ length: last - 3 }, (_, i) => i + 4),
    `4–${last}: each once, in order`,
  );
  t.same(
    events.map((f) => f.offset),
    events.map(numberOf),
  );
  t.equal(back.client.received.findIndex((f) => f.event === 'pusher_internal:subscription_succeeded'), 1, 'the answer first, then the replay');
});

t.test('an unknown epoch, a trimmed position or one too far behind is answered recovered: false, with nothing replayed', async (t) => {
  const running = await historyGateway(t);
  const { answer } = await subscriber(t, running, 'broadcastt');
  for (let n = 1; n <= 25; n++) await publish(running, n);
  const positions: Array<[string, { epoch: string; offset: number }]> = [
    ['an unknown epoch', { epoch: 'not-this-one', offset: 24 }],
    ['a trimmed position (20 kept)', { epoch: answer.epoch, offset: 2 }],
    ['more than maxRecoveredEvents (10) behind', { epoch: answer.epoch, offset: 12 }],
  ];
  let top = 25;
  for (const [label, since] of positions) {
    const back = await subscriber(t, running, 'broadcastt', since);
    t.same(back.answer, { epoch: answer.epoch, offset: top, recovered: false }, label);
    await publish(running, ++top);
    t.equal(numberOf(await back.client.next(isMessage)), top, `${label}: only live events follow`);
    await back.client.close();
  }
  const near = await subscriber(t, running, 'broadcastt', { epoch: answer.epoch, offset: 20 });
  t.match(near.answer, { recovered: true }, 'within the limits it recovers');
});

t.test('GET /channels/:name/history pages the kept events for backends, signed like every REST call', async (t) => {
  const running = await historyGateway(t);
  for (let n = 1; n <= 5; n++) await publish(running, n);
  const path = `/apps/${DEMO_APP.id}/channels/${CHANNEL}/history`;
  const all = await signedGet(running, path);
  t.equal(all.status, 200);
  t.match(all.body, { epoch: /./, offset: 5 });
  t.notOk('recovered' in all.body, 'no since: no recovered');
  t.same(
    (all.body.events as Array<{ event: string; channel: string; data: string; offset: number }>)[0],
    { event: 'message', channel: CHANNEL, data: '{"n":1}', offset: 1 },
    'each event as subscribers got it',
  );
  const page = await signedGet(running, path, { since: '2', limit: '2', epoch: all.body.epoch as string });
  t.match(page.body, { offset: 5, recovered: true });
  t.same(
    (page.body.events as Array<{ offset: number }>).map((e) => e.offset),
    [3, 4],
  );
  const otherEpoch = await signedGet(running, path, { since: '2', epoch: 'old' });
  t.match(otherEpoch.body, { recovered: false });
  t.same(
    (otherEpoch.body.events as Array<{ offset: number }>).map((e) => e.offset),
    [1, 2, 3, 4, 5],
    'another epoch: from the oldest kept',
  );

  const none = await signedGet(running, `/apps/${DEMO_APP.id}/channels/news/history`);
  t.same(none, { status: HttpErrors.NoHistory.status, body: { error: `${HttpErrors.NoHistory.message}: news` } });
  const bad = await signedGet(running, path, { since: '-1' });
  t.same(bad, { status: 400, body: { error: 'Invalid request: since must be a whole number of at least 0, got "-1"' } });
  t.equal((await signedGet(running, path, { limit: '0' })).status, 400);
  const unsigned = await httpRequest(`${running.http}${path}?${signRequestQuery({ ...DEMO_APP, secret: 'wrong-secret' }, 'GET', path, '')}`);
  t.equal(unsigned.status, 401);
});

t.test('pusher-js and the pusher library work unchanged on history channels', async (t) => {
  const running = await historyGateway(t);
  const client = pusherClient(t, running);
  const received: unknown[] = [];
  const channel = client.subscribe(CHANNEL);
  channel.bind('message', (data: unknown) => received.push(data));
  await new Promise<void>((resolve) => channel.bind('pusher:subscription_succeeded', () => resolve()));
  await pusherServer(running).trigger(CHANNEL, 'message', { n: 1 });
  await until(() => received.length === 1, 'the event');
  t.same(received, [{ n: 1 }]);
});
