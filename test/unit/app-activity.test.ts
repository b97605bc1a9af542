import t from 'tap';
import { AppActivity, REFUSALS_KEPT } from '../../src/console/app-activity.js';
import { HttpErrors, SubscriptionErrors, WsErrors } from '../../src/errors.js';
import { FakeConnection, makeSession } from '../helpers/fake-connection.js';

t.test('publishes are counted per app', async (t) => {
  const activity = new AppActivity();
  for (let i = 0; i < 3; i++) activity.published('a');
  activity.published('b');
  t.equal(activity.publishedCount('a'), 3);
  t.equal(activity.publishedCount('b'), 1);
  t.equal(activity.publishedCount('c'), 0);
});

t.test('refusals are numbered per app, read after a number, and only the latest are kept', async (t) => {
  let now = 5;
  const activity = new AppActivity(() => now++);
  const refuse = (i: number) => activity.refused('a', { source: 'frame', name: 'InvalidMessage', code: WsErrors.InvalidMessage.code, message: `bad ${i}` });
  for (let i = 1; i <= REFUSALS_KEPT + 20; i++) refuse(i);
  activity.refused('b', { source: 'rest', name: 'InvalidSignature', code: HttpErrors.InvalidSignature.status, message: 'no', request: 'POST /apps/b/events' });
  const kept = activity.refusalsSince('a');
  t.equal(kept.length, REFUSALS_KEPT);
  t.match(kept[0], { seq: 21, message: 'bad 21', time: 25 });
  t.match(kept.at(-1), { seq: REFUSALS_KEPT + 20 });
  t.same(activity.refusalsSince('a', REFUSALS_KEPT + 18).map((r) => r.seq), [REFUSALS_KEPT + 19, REFUSALS_KEPT + 20]);
  t.match(activity.refusalsSince('b'), [{ seq: 1, source: 'rest', request: 'POST /apps/b/events' }]);
  t.same(activity.refusalsSince('c'), []);
});

t.test('the node notes refused subscriptions, frames and connections of an app, and counts its publishes', async (t) => {
  const { node, app, session, send } = makeSession({ app: { maxConnections: 1 } });
  send({ event: 'broadcastt:subscribe', data: { channel: 'private-x' } });
  send({ event: 'broadcastt:nonsense' });
  node.open(new FakeConnection(), { path: `/app/${app.key}`, query: '' });
  t.match(node.activity.refusalsSince(app.id), [
    { source: 'subscribe', name: 'AuthError', code: SubscriptionErrors.AuthError.status, channel: 'private-x', socketId: session.socketId },
    { source: 'frame', name: 'UnknownEvent', code: WsErrors.UnknownEvent.code, socketId: session.socketId },
    { source: 'connect', name: 'OverConnectionQuota', code: WsErrors.OverConnectionQuota.code },
  ]);
  node.publishEvent(app.id, 'news', 'e', '{}');
  node.publishEvent(app.id, 'elsewhere', 'e', '{}');
  t.equal(node.activity.publishedCount(app.id), 2, 'every publish, whether anyone listens or not');
});
