import t from 'tap';
import { WsErrors } from '../../src/errors.js';
import { authenticateUser } from '../../src/protocol/channel-auth.js';
import { resolveChannel } from '../../src/protocol/channel-name.js';
import { makeNode, makeSession, settled } from '../helpers/fake-connection.js';

const signIn = (s: ReturnType<typeof makeSession>, user: { id: string } & Record<string, unknown>) =>
  s.send({ event: `${s.session.dialect}:signin`, data: authenticateUser(s.app, s.session.socketId, user) });

t.test('a user channel is joined only by a connection signed in as its user', async (t) => {
  const on = makeNode();
  const ann = makeSession({ socketId: '1.1', on, dialect: 'pusher' });
  const bob = makeSession({ socketId: '1.2', on });
  const subscribe = (s: ReturnType<typeof makeSession>, channel: string) => {
    s.connection.clear();
    s.send({ event: `${s.session.dialect}:subscribe`, data: { channel, auth: '' } });
    return s.connection.last();
  };
  t.match(subscribe(ann, '#server-to-user-ann'), { event: 'pusher:subscription_error', data: { type: 'NotThisUsersChannel', status: 403, error: /not signed in/ } }, 'not signed in');
  signIn(ann, { id: 'ann' });
  signIn(bob, { id: 'bob' });
  t.same(subscribe(ann, '#server-to-user-ann'), { event: 'pusher_internal:subscription_succeeded', channel: '#server-to-user-ann', data: {} }, 'its own, with the empty auth pusher-js sends');
  t.match(subscribe(bob, '#server-to-user-ann'), { event: 'broadcastt:subscription_error', channel: '#server-to-user-ann', data: { type: 'NotThisUsersChannel', error: /another user/ } });
  on.node.publishEvent(on.app.id, '#server-to-user-ann', 'hello', '{}');
  t.equal(on.node.index.subscriberCount(on.app.id, '#server-to-user-ann'), 1, 'only ann is in it');
  t.match(ann.connection.last(), { event: 'hello', channel: '#server-to-user-ann' }, 'and gets what is published there');

  // Signing in again as someone else leaves the old user's channel.
  signIn(ann, { id: 'carl' });
  t.equal(on.node.index.subscriberCount(on.app.id, '#server-to-user-ann'), 0);
  t.equal(subscribe(ann, '#server-to-user-carl').event, 'pusher_internal:subscription_succeeded');
});

t.test('user channel names: any user id without control characters, within the length limit, never flagged', async (t) => {
  const app = { id: 'app', maxChannelNameLength: 40 };
  t.same(resolveChannel('#server-to-user-auth0|5f3a:x y', app), { wire: '#server-to-user-auth0|5f3a:x y', name: '#server-to-user-auth0|5f3a:x y', system: false, consumer: false, type: 'user' });
  t.throws(() => resolveChannel('#server-to-user-', app), { name: 'ProtocolError', code: WsErrors.InvalidChannel.code }, 'an id is needed');
  t.throws(() => resolveChannel('#server-to-user-a\nb', app), { code: WsErrors.InvalidChannel.code }, 'no control characters');
  t.throws(() => resolveChannel(`#server-to-user-${'x'.repeat(30)}`, app), { code: WsErrors.InvalidChannel.code, message: /over the limit of 40/ });
  t.throws(() => resolveChannel({ name: '#server-to-user-ann', consumer: true }, app), { message: /no system or consumer flag/ });
  t.throws(() => resolveChannel('#other', app), { code: WsErrors.InvalidChannel.code }, 'no other name holds #');
});

t.test('a watchlist that is not a list of at most maxWatchlistSize ids is refused (4313); the sign-in stands', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['too long', ['a', 'b', 'c'], /3 user ids, over the limit of 2/],
    ['not an array', 'a,b', /must be an array of user ids/],
    ['an empty id', ['a', ''], /watchlist\[1\] must be a non-empty string or a number/],
  ];
  for (const [label, watchlist, message] of cases) {
    const s = makeSession({ socketId: '1.1', app: { watchlistEvents: true, maxWatchlistSize: 2 } });
    signIn(s, { id: 'ann', watchlist });
    t.same(
      s.connection.decoded().map((f) => f.event),
      ['broadcastt:signin_success', 'broadcastt:error'],
      label,
    );
    t.match(s.connection.last().data, { code: WsErrors.WatchlistRejected.code, message }, label);
    t.equal(s.connection.closed, undefined);
    t.same(s.node.sessions.ofUser(s.app, 'ann'), [s.session], 'signed in without it');
  }
  const off = makeSession({ socketId: '1.1', app: { maxWatchlistSize: 1 } });
  signIn(off, { id: 'ann', watchlist: ['a', 'b', 'c'] });
  t.same(off.connection.decoded().map((f) => f.event), ['broadcastt:signin_success'], 'ignored while the app has watchlistEvents off');
});

t.test('watchlist: the watched users online at sign-in, then each change, once per user across its connections', async (t) => {
  const on = makeNode({ app: { watchlistEvents: true } });
  const carl = makeSession({ socketId: '1.3', on });
  signIn(carl, { id: 'carl' });
  const ann = makeSession({ socketId: '1.1', on, dialect: 'pusher' });
  signIn(ann, { id: 'ann', watchlist: ['bob', 'carl', 42] });
  await settled();
  t.same(ann.connection.last(), { event: 'pusher_internal:watchlist_events', data: { events: [{ name: 'online', user_ids: ['carl'] }] } });

  const watched = () => ann.connection.decoded().filter((f) => f.event === 'pusher_internal:watchlist_events').map((f) => f.data);
  ann.connection.clear();
  const bob = [makeSession({ socketId: '1.4', on }), makeSession({ socketId: '1.5', on })];
  for (const s of bob) signIn(s, { id: 'bob' });
  await settled();
  bob[0]?.session.close();
  await settled();
  t.same(watched(), [{ events: [{ name: 'online', user_ids: ['bob'] }] }], 'online on the first connection; still online with one left');
  bob[1]?.session.close();
  carl.session.close();
  await settled();
  t.same(watched().slice(1), [{ events: [{ name: 'offline', user_ids: ['bob'] }] }, { events: [{ name: 'offline', user_ids: ['carl'] }] }]);

  ann.session.close();
  await settled();
  const late = makeSession({ socketId: '1.6', on });
  signIn(late, { id: 'dave', watchlist: ['ann'] });
  await settled();
  t.same(late.connection.decoded().map((f) => f.event), ['broadcastt:signin_success'], 'nobody online: no event');
});

t.test('watchlist: signing in again as the same user changes the watchlist only; as another user, the first goes offline', async (t) => {
  const on = makeNode({ app: { watchlistEvents: true } });
  const watcher = makeSession({ socketId: '1.1', on });
  signIn(watcher, { id: 'wendy', watchlist: ['ann', 'bob'] });
  const ann = makeSession({ socketId: '1.2', on });
  signIn(ann, { id: 'ann' });
  await settled();
  watcher.connection.clear();
  signIn(ann, { id: 'ann', watchlist: ['wendy'] });
  await settled();
  t.same(ann.connection.last(), { event: 'broadcastt_internal:watchlist_events', data: { events: [{ name: 'online', user_ids: ['wendy'] }] } }, 'its new watchlist');
  t.same(watcher.connection.decoded(), [], 'ann never went offline');
  signIn(ann, { id: 'bob' });
  await settled();
  t.same(watcher.connection.decoded().map((f) => f.data), [{ events: [{ name: 'offline', user_ids: ['ann'] }] }, { events: [{ name: 'online', user_ids: ['bob'] }] }]);
  watcher.connection.clear();
  signIn(watcher, { id: 'wendy' });
  ann.session.close();
  await settled();
  t.same(watcher.connection.decoded().map((f) => f.event), ['broadcastt:signin_success'], 'a sign-in without a watchlist drops the old one');
});
