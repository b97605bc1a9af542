import t from 'tap';
import { SubscriptionErrors } from '../../src/errors.js';
import { authorizeChannel } from '../../src/protocol/channel-auth.js';
import { makeNode, makeSession, settled } from '../helpers/fake-connection.js';

t.test('presence channels refuse bad channel_data, forged auth and full rooms with subscription_error', async (t) => {
  const { send, connection, index, app } = makeSession({ socketId: '1.1', app: { maxPresenceMembers: 1, maxPresenceUserInfoBytes: 16 } });
  const channel = 'presence-room';
  const join = (channelData: string | undefined, signWith: { key: string; secret: string } = app) =>
    send({ event: 'broadcastt:subscribe', data: { channel, ...authorizeChannel(signWith, '1.1', channel, channelData), channel_data: channelData } });
  const cases: Array<[string, () => void, string]> = [
    ['no channel_data', () => send({ event: 'broadcastt:subscribe', data: { channel, auth: authorizeChannel(app, '1.1', channel).auth } }), 'InvalidChannelData'],
    ['forged', () => join('{"user_id":"1"}', { key: app.key, secret: 'guessed-secret' }), 'AuthError'],
    ['not JSON', () => join('{user'), 'InvalidChannelData'],
    ['no user_id', () => join('{"user_info":{}}'), 'InvalidChannelData'],
    ['user_info too large', () => join(JSON.stringify({ user_id: '1', user_info: { name: 'x'.repeat(50) } })), 'UserInfoTooLarge'],
  ];
  for (const [label, act, type] of cases) {
    act();
    t.match(connection.last(), { event: 'broadcastt:subscription_error', channel, data: { type, status: SubscriptionErrors[type as 'AuthError'].status } }, label);
  }
  t.equal(index.channelCount(), 0, 'never subscribed');
  t.equal(connection.closed, undefined, 'the connection stays');
});

t.test('presence: members, member_added on a user\'s first socket only, member_removed on the last', async (t) => {
  const on = makeNode();
  const { app } = on;
  const first = makeSession({ socketId: '1.1', on });
  const alsoIn = (socketId: string, dialect: 'broadcastt' | 'pusher' = 'broadcastt') => makeSession({ socketId, dialect, on });
  const channel = 'presence-room';
  const join = async (s: ReturnType<typeof makeSession>, channelData: string) => {
    s.send({ event: `${s.session.dialect}:subscribe`, data: { channel, ...authorizeChannel(app, s.session.socketId, channel, channelData) } });
    await settled();
  };

  await join(first, '{"user_id":7,"user_info":{"name":"Ann"}}');
  t.match(first.connection.last(), {
    event: 'broadcastt_internal:subscription_succeeded',
    channel,
    data: { presence: { ids: ['7'], hash: { 7: { name: 'Ann' } }, count: 1 } },
  }, 'numeric user_id becomes a string');

  const watcher = alsoIn('1.2', 'pusher');
  await join(watcher, '{"user_id":"8"}');
  t.match(watcher.connection.last().data, { presence: { ids: ['7', '8'], count: 2 } });
  t.match(first.connection.last(), { event: 'broadcastt_internal:member_added', channel, data: { user_id: '8', user_info: {} } });

  const annAgain = alsoIn('1.3');
  await join(annAgain, '{"user_id":7,"user_info":{"name":"Ann"}}');
  t.match(annAgain.connection.last().data, { presence: { count: 2 } }, 'the same user is one member');
  t.equal(watcher.connection.decoded().filter((f) => f.event === 'pusher_internal:member_added').length, 0, 'no member_added for a second socket');

  first.send({ event: 'broadcastt:unsubscribe', data: { channel } });
  await settled();
  t.equal(watcher.connection.decoded().filter((f) => f.event === 'pusher_internal:member_removed').length, 0, 'Ann still has a socket');
  annAgain.session.close();
  await settled();
  t.match(watcher.connection.last(), { event: 'pusher_internal:member_removed', channel, data: { user_id: '7' } }, 'in the watcher\'s dialect');
});

t.test('presence: a full channel refuses new users but not more sockets of a member', async (t) => {
  const on = makeNode({ app: { maxPresenceMembers: 1 } });
  const { app } = on;
  const first = makeSession({ socketId: '1.1', on });
  const channel = 'presence-small';
  const join = async (s: ReturnType<typeof makeSession>, userId: string) => {
    s.send({ event: 'broadcastt:subscribe', data: { channel, ...authorizeChannel(app, s.session.socketId, channel, `{"user_id":"${userId}"}`) } });
    await settled();
  };
  await join(first, 'a');
  const stranger = makeSession({ socketId: '1.2', on });
  await join(stranger, 'b');
  t.match(stranger.connection.last(), { event: 'broadcastt:subscription_error', data: { type: 'MemberLimitReached', status: SubscriptionErrors.MemberLimitReached.status } });
  const sameUser = makeSession({ socketId: '1.3', on });
  await join(sameUser, 'a');
  t.match(sameUser.connection.last(), { event: 'broadcastt_internal:subscription_succeeded', data: { presence: { count: 1 } } });
});

t.test('presence user ids: "__proto__" is an ordinary member, and ids are at most maxPresenceUserIdLength', async (t) => {
  const on = makeNode({ app: { maxPresenceUserIdLength: 10 } });
  const { app } = on;
  const join = async (socketId: string, userId: string) => {
    const s = makeSession({ socketId, on });
    const channelData = JSON.stringify({ user_id: userId, user_info: { name: userId } });
    s.send({ event: 'broadcastt:subscribe', data: { channel: 'presence-odd', ...authorizeChannel(app, socketId, 'presence-odd', channelData) } });
    await settled();
    return s.connection.last();
  };
  await join('1.1', 'ann');
  const roster = (await join('1.2', '__proto__')).data as { presence: { ids: string[]; hash: Record<string, unknown>; count: number } };
  t.same(roster.presence.ids.sort(), ['__proto__', 'ann']);
  t.ok(Object.hasOwn(roster.presence.hash, '__proto__'), 'the hash has it as its own key');
  t.same(roster.presence.hash.__proto__, { name: '__proto__' });
  t.match(await join('1.3', 'x'.repeat(11)), { event: 'broadcastt:subscription_error', data: { type: 'InvalidChannelData', error: /user_id is 11 characters, over the limit of 10/ } });
});
