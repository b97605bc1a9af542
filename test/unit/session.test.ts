import t, { type Test } from 'tap';
import { ChannelIndex } from '../../src/channels/channel-index.js';
import { ProtocolError, SubscriptionErrors, WsErrors } from '../../src/errors.js';
import { authenticateUser, authorizeChannel } from '../../src/protocol/channel-auth.js';
import { refuse } from '../../src/protocol/admission.js';
import { FakeConnection, makeSession, settled } from '../helpers/fake-connection.js';

const SOCKET_ID = /^\d+\.\d+$/;

/** Asserts the connection got exactly one frame, a non-fatal error with `code`, and is still open. */
function assertNonFatalError(
  t: Test,
  connection: FakeConnection,
  code: number,
  message: RegExp,
  prefix = 'broadcastt',
): void {
  t.same(
    connection.decoded().map((f) => f.event),
    [`${prefix}:error`],
    'exactly one error frame',
  );
  t.match(connection.last().data, { code, message });
  t.equal(connection.closed, undefined, 'connection stays open');
}

t.test('connection_established', async (t) => {
  for (const dialect of ['broadcastt', 'pusher'] as const) {
    t.test(`is sent in the ${dialect} dialect with a socket id and activity_timeout`, async (t) => {
      const { session, connection, config } = makeSession({ dialect });
      session.open();
      const [frame] = connection.frames();
      t.equal(frame?.event, `${dialect}:connection_established`);
      t.type(frame?.data, 'string', 'data is JSON text, not an object');
      t.same(connection.last().data, { socket_id: '123.456', activity_timeout: config.activityTimeout });
      t.match(connection.last().data, { socket_id: SOCKET_ID });
      t.notOk('channel' in (frame ?? {}), 'no channel on a connection frame');
    });
  }

  t.test('reports activity_timeout in seconds', async (t) => {
    const { session, connection } = makeSession({ config: { activityTimeout: 7 } });
    session.open();
    t.match(connection.last().data, { activity_timeout: 7 });
  });
});

t.test('subscribe', async (t) => {
  t.test('with object data succeeds with the channel and data "{}"', async (t) => {
    const { send, connection, index, app, session } = makeSession();
    send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
    t.same(connection.decoded(), [{ event: 'broadcastt_internal:subscription_succeeded', channel: 'news', data: {} }]);
    t.type(connection.frames()[0]?.data, 'string');
    t.equal(index.subscriberCount(app.id, 'news'), 1);
    t.ok(session.channels.includes('news'));
  });

  t.test('with data as a JSON string succeeds too', async (t) => {
    const { send, connection, index, app } = makeSession();
    send({ event: 'broadcastt:subscribe', data: JSON.stringify({ channel: 'news' }) });
    t.same(connection.decoded(), [{ event: 'broadcastt_internal:subscription_succeeded', channel: 'news', data: {} }]);
    t.equal(index.subscriberCount(app.id, 'news'), 1);
  });

  t.test('answers in the pusher dialect on a pusher connection', async (t) => {
    const { send, connection } = makeSession({ dialect: 'pusher' });
    send({ event: 'pusher:subscribe', data: { channel: 'news' } });
    t.same(connection.decoded(), [{ event: 'pusher_internal:subscription_succeeded', channel: 'news', data: {} }]);
  });

  t.test('accepts either prefix and answers in the connection dialect', async (t) => {
    const { send, connection } = makeSession({ dialect: 'broadcastt' });
    send({ event: 'pusher:subscribe', data: { channel: 'news' } });
    t.same(connection.decoded(), [{ event: 'broadcastt_internal:subscription_succeeded', channel: 'news', data: {} }]);
  });

  t.test('ignores auth and channel_data on public channels', async (t) => {
    const { send, connection } = makeSession();
    send({ event: 'broadcastt:subscribe', data: { channel: 'news', auth: 'x:y', channel_data: '{}' } });
    t.match(connection.last(), { event: 'broadcastt_internal:subscription_succeeded', channel: 'news' });
  });

  t.test('twice is harmless: one membership, both answered', async (t) => {
    const { send, connection, index, app, session } = makeSession();
    send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
    send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
    t.same(
      connection.decoded().map((f) => [f.event, f.channel]),
      [
        ['broadcastt_internal:subscription_succeeded', 'news'],
        ['broadcastt_internal:subscription_succeeded', 'news'],
      ],
    );
    t.equal(index.subscriberCount(app.id, 'news'), 1);
    t.equal(session.channels.length, 1);
  });

  t.test('makes the session receive what is published on the channel', async (t) => {
    const { send, connection, index, app } = makeSession();
    send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
    connection.clear();
    const members = index.publish(app.id, 'news', () => JSON.stringify({ event: 'headline', channel: 'news', data: '{"n":1}' }));
    t.equal(members, 1);
    t.same(connection.decoded(), [{ event: 'headline', channel: 'news', data: { n: 1 } }]);
  });
});

t.test('unsubscribe', async (t) => {
  t.test('leaves the channel without an answer', async (t) => {
    const { send, connection, index, app, session } = makeSession();
    send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
    connection.clear();
    send({ event: 'broadcastt:unsubscribe', data: { channel: 'news' } });
    t.same(connection.frames(), []);
    t.equal(index.subscriberCount(app.id, 'news'), 0);
    t.equal(session.channels.length, 0);
  });

  t.test('accepts data as a JSON string', async (t) => {
    const { send, index, app } = makeSession();
    send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
    send({ event: 'pusher:unsubscribe', data: JSON.stringify({ channel: 'news' }) });
    t.equal(index.subscriberCount(app.id, 'news'), 0);
  });

  t.test('of a channel never subscribed is a silent no-op', async (t) => {
    const { send, connection } = makeSession();
    send({ event: 'broadcastt:unsubscribe', data: { channel: 'never' } });
    t.same(connection.frames(), []);
    t.equal(connection.closed, undefined);
  });

  t.test('stops delivery to this session only', async (t) => {
    const a = makeSession({ socketId: '1.1' });
    const b = makeSession({ socketId: '1.2', index: a.index });
    a.send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
    b.send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
    a.send({ event: 'broadcastt:unsubscribe', data: { channel: 'news' } });
    a.connection.clear();
    b.connection.clear();
    t.equal(a.index.publish(a.app.id, 'news', () => JSON.stringify({ event: 'e', channel: 'news', data: '{}' })), 1);
    t.same(a.connection.frames(), []);
    t.equal(b.connection.frames().length, 1);
  });
});

t.test('ping is answered with pong and data "{}"', async (t) => {
  for (const dialect of ['broadcastt', 'pusher'] as const) {
    const { send, connection } = makeSession({ dialect });
    send({ event: `${dialect}:ping`, data: {} });
    const [frame] = connection.frames();
    t.same(frame, { event: `${dialect}:pong`, data: '{}' }, dialect);
  }
});

t.test('a client pong is accepted silently', async (t) => {
  const { send, connection } = makeSession();
  send({ event: 'broadcastt:pong' });
  t.same(connection.frames(), []);
});

t.test('bad input gets a non-fatal error frame naming the problem', async (t) => {
  const cases: Array<[string, string | object, number, RegExp]> = [
    ['invalid JSON', '{"event": "broadcastt:ping"', WsErrors.InvalidMessage.code, /not valid JSON/],
    ['an array', '[1, 2]', WsErrors.InvalidMessage.code, /must be a JSON object/],
    ['a string', '"broadcastt:ping"', WsErrors.InvalidMessage.code, /must be a JSON object/],
    ['null', 'null', WsErrors.InvalidMessage.code, /must be a JSON object/],
    ['missing event', { data: { channel: 'news' } }, WsErrors.InvalidMessage.code, /"event"/],
    ['event not a string', { event: 42 }, WsErrors.InvalidMessage.code, /"event"/],
    ['unknown event', { event: 'broadcastt:dance' }, WsErrors.UnknownEvent.code, /broadcastt:dance/],
    ['unprefixed event', { event: 'subscribe', data: { channel: 'news' } }, WsErrors.UnknownEvent.code, /"subscribe"/],
    ['internal prefix from a client', { event: 'pusher_internal:subscribe' }, WsErrors.UnknownEvent.code, /pusher_internal:subscribe/],
    ['subscribe without data', { event: 'broadcastt:subscribe' }, WsErrors.InvalidMessage.code, /data\.channel is required/],
    ['subscribe without data.channel', { event: 'broadcastt:subscribe', data: {} }, WsErrors.InvalidMessage.code, /data\.channel is required/],
    ['data.channel a number', { event: 'broadcastt:subscribe', data: { channel: 42 } }, WsErrors.InvalidMessage.code, /data\.channel must be string/],
    ['data.auth a number', { event: 'broadcastt:subscribe', data: { channel: 'a', auth: 1 } }, WsErrors.InvalidMessage.code, /data\.auth must be string/],
    ['data an array', { event: 'broadcastt:subscribe', data: ['news'] }, WsErrors.InvalidMessage.code, /data must be object/],
    ['data a string that is not JSON', { event: 'broadcastt:subscribe', data: 'news' }, WsErrors.InvalidMessage.code, /data is a string but not valid JSON/],
    ['data a JSON string of a non-object', { event: 'broadcastt:subscribe', data: '"news"' }, WsErrors.InvalidMessage.code, /data must be object/],
    ['unsubscribe without data.channel', { event: 'broadcastt:unsubscribe', data: {} }, WsErrors.InvalidMessage.code, /data\.channel is required/],
    ['client event without channel', { event: 'client-typing', data: {} }, WsErrors.InvalidMessage.code, /frame\.channel is required/],
  ];
  for (const [name, input, code, message] of cases) {
    t.test(name, async (t) => {
      const { send, connection } = makeSession();
      send(input);
      assertNonFatalError(t, connection, code, message);
    });
  }
});

t.test('errors are reported in the connection dialect', async (t) => {
  const { send, connection } = makeSession({ dialect: 'pusher' });
  send('nope');
  assertNonFatalError(t, connection, WsErrors.InvalidMessage.code, /not valid JSON/, 'pusher');
});

t.test('the connection keeps working after an error', async (t) => {
  const { send, connection } = makeSession();
  send('nope');
  send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
  t.same(
    connection.decoded().map((f) => f.event),
    ['broadcastt:error', 'broadcastt_internal:subscription_succeeded'],
  );
});

t.test('a binary frame is refused non-fatally', async (t) => {
  const { session, connection } = makeSession();
  session.receive(Buffer.from(JSON.stringify({ event: 'broadcastt:ping' })), true);
  assertNonFatalError(t, connection, WsErrors.BinaryNotSupported.code, /Binary frames are not supported/);
});

t.test('message size limit (maxMessageBytes)', async (t) => {
  const limit = 256;
  const frameOfBytes = (bytes: number) => {
    const base = JSON.stringify({ event: 'broadcastt:ping', data: { pad: '' } });
    return JSON.stringify({ event: 'broadcastt:ping', data: { pad: 'x'.repeat(bytes - base.length) } });
  };

  t.test('a frame of exactly the limit is handled', async (t) => {
    const { session, connection } = makeSession({ config: { maxMessageBytes: limit } });
    const text = frameOfBytes(limit);
    t.equal(Buffer.byteLength(text), limit);
    session.receive(Buffer.from(text), false);
    t.match(connection.last(), { event: 'broadcastt:pong' });
  });

  t.test('a larger frame gets a non-fatal error naming size and limit', async (t) => {
    const { session, connection } = makeSession({ config: { maxMessageBytes: limit } });
    session.receive(Buffer.from(frameOfBytes(limit + 1)), false);
    assertNonFatalError(t, connection, WsErrors.MessageTooLarge.code, /257 bytes, over the limit of 256/);
  });

  t.test('the limit counts bytes, not characters', async (t) => {
    const { session, connection } = makeSession({ config: { maxMessageBytes: limit } });
    const text = JSON.stringify({ event: 'broadcastt:ping', data: { pad: 'é'.repeat(120) } });
    t.ok(text.length <= limit && Buffer.byteLength(text) > limit, 'fits in characters, not in bytes');
    session.receive(Buffer.from(text), false);
    assertNonFatalError(t, connection, WsErrors.MessageTooLarge.code, /over the limit of 256/);
  });
});

t.test('invalid channel names', async (t) => {
  t.test('a name over maxChannelNameLength (164) is refused with InvalidChannel', async (t) => {
    const { send, connection, index } = makeSession();
    const name = 'x'.repeat(165);
    send({ event: 'broadcastt:subscribe', data: { channel: name } });
    assertNonFatalError(t, connection, WsErrors.InvalidChannel.code, /165 characters, over the limit of 164/);
    t.equal(index.channelCount(), 0);
  });

  t.test('a name of exactly 164 characters is accepted', async (t) => {
    const { send, connection } = makeSession();
    send({ event: 'broadcastt:subscribe', data: { channel: 'x'.repeat(164) } });
    t.match(connection.last(), { event: 'broadcastt_internal:subscription_succeeded' });
  });

  t.test('the length limit is the app setting', async (t) => {
    const { send, connection } = makeSession({ app: { maxChannelNameLength: 5 } });
    send({ event: 'broadcastt:subscribe', data: { channel: 'abcdef' } });
    assertNonFatalError(t, connection, WsErrors.InvalidChannel.code, /over the limit of 5/);
  });

  for (const name of ['bad channel', 'a:b', 'ünï', '#x', '']) {
    t.test(`${JSON.stringify(name)} (bad charset) is refused non-fatally, naming data.channel`, async (t) => {
      const { send, connection, index } = makeSession();
      send({ event: 'broadcastt:subscribe', data: { channel: name } });
      t.equal(connection.frames().length, 1);
      t.match(connection.last(), { event: 'broadcastt:error', data: { code: WsErrors.InvalidChannel.code, message: /data\.channel must be one or more of letters/ } });
      t.equal(connection.closed, undefined);
      t.equal(index.channelCount(), 0);
    });
  }

  t.test('a bad charset is reported with the InvalidChannel code', async (t) => {
    const { send, connection } = makeSession();
    send({ event: 'broadcastt:subscribe', data: { channel: 'bad channel' } });
    t.match(connection.last().data, { code: WsErrors.InvalidChannel.code }, 'InvalidChannel code');
  });
});

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
  const first = makeSession({ socketId: '1.1' });
  const { index, app } = first;
  const presence = first.context.presence;
  const alsoIn = (socketId: string, dialect: 'broadcastt' | 'pusher' = 'broadcastt') => makeSession({ socketId, dialect, index, presence });
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

t.test('private and encrypted channels need the auth signed for this socket', async (t) => {
  for (const channel of ['private-orders', 'private-encrypted-orders']) {
    for (const dialect of ['broadcastt', 'pusher'] as const) {
      t.test(`${channel} (${dialect})`, async (t) => {
        const { send, connection, index, session, app } = makeSession({ dialect, socketId: '1.1' });
        const refusals: Array<[string, unknown]> = [
          ['no auth', undefined],
          ['garbage', 'not-a-signature'],
          ['another socket', authorizeChannel(app, '1.2', channel).auth],
          ['another channel', authorizeChannel(app, '1.1', 'private-other').auth],
          ['another key', authorizeChannel({ key: 'other-key', secret: app.secret }, '1.1', channel).auth],
          ['another secret', authorizeChannel({ key: app.key, secret: 'other-secret' }, '1.1', channel).auth],
        ];
        for (const [label, auth] of refusals) {
          send({ event: `${dialect}:subscribe`, data: { channel, auth } });
          t.match(
            connection.last(),
            { event: `${dialect}:subscription_error`, channel, data: { type: 'AuthError', status: SubscriptionErrors.AuthError.status } },
            label,
          );
        }
        t.equal(index.channelCount(), 0, 'never subscribed');
        t.equal(connection.closed, undefined, 'the connection stays');

        send({ event: `${dialect}:subscribe`, data: { channel, ...authorizeChannel(app, '1.1', channel) } });
        t.match(connection.last(), { event: `${dialect}_internal:subscription_succeeded`, channel, data: {} });
        t.ok(session.channels.includes(channel));
      });
    }
  }

  t.test('"privatex" is an ordinary public channel', async (t) => {
    const { send, connection } = makeSession();
    send({ event: 'broadcastt:subscribe', data: { channel: 'privatex' } });
    t.match(connection.last(), { event: 'broadcastt_internal:subscription_succeeded', channel: 'privatex' });
  });
});

t.test('channels per connection are limited by maxChannelsPerConnection', async (t) => {
  const { send, connection, index, app, session } = makeSession({ app: { maxChannelsPerConnection: 2 } });
  send({ event: 'broadcastt:subscribe', data: { channel: 'a' } });
  send({ event: 'broadcastt:subscribe', data: { channel: 'b' } });
  connection.clear();

  send({ event: 'broadcastt:subscribe', data: { channel: 'c' } });
  assertNonFatalError(t, connection, WsErrors.TooManyChannels.code, /at most 2 per connection/);
  t.equal(index.subscriberCount(app.id, 'c'), 0);
  t.equal(session.channels.length, 2);

  connection.clear();
  send({ event: 'broadcastt:subscribe', data: { channel: 'a' } });
  t.match(connection.last(), { event: 'broadcastt_internal:subscription_succeeded', channel: 'a' }, 'resubscribing at the limit still succeeds');

  send({ event: 'broadcastt:unsubscribe', data: { channel: 'a' } });
  send({ event: 'broadcastt:subscribe', data: { channel: 'c' } });
  t.match(connection.last(), { event: 'broadcastt_internal:subscription_succeeded', channel: 'c' }, 'room again after leaving one');
});

t.test('client events are rejected non-fatally', async (t) => {
  const { send, connection, index, app } = makeSession();
  send({ event: 'broadcastt:subscribe', data: { channel: 'chat' } });
  const other = makeSession({ socketId: '9.9', index });
  other.send({ event: 'broadcastt:subscribe', data: { channel: 'chat' } });
  other.connection.clear();
  connection.clear();

  send({ event: 'client-typing', channel: 'chat', data: { who: 'me' } });
  assertNonFatalError(t, connection, WsErrors.ClientEventRejected.code, new RegExp(app.id));
  t.same(other.connection.frames(), [], 'nothing reaches the other subscriber');
});

t.test('fail()', async (t) => {
  t.test('with a fatal error sends the error frame, then closes with the same code', async (t) => {
    const { session, connection } = makeSession({ dialect: 'pusher' });
    session.fail(new ProtocolError('ServerRestarting'));
    t.same(connection.decoded(), [
      { event: 'pusher:error', data: { code: WsErrors.ServerRestarting.code, message: WsErrors.ServerRestarting.message } },
    ]);
    t.same(connection.closed, { code: WsErrors.ServerRestarting.code, reason: WsErrors.ServerRestarting.message });
    t.equal(connection.sentAfterClose, 0, 'the error frame went out before the close');
  });

  t.test('with a non-fatal error only sends the error frame', async (t) => {
    const { session, connection } = makeSession();
    session.fail(new ProtocolError('UnknownEvent', 'detail'));
    t.same(connection.decoded(), [
      { event: 'broadcastt:error', data: { code: WsErrors.UnknownEvent.code, message: `${WsErrors.UnknownEvent.message}: detail` } },
    ]);
    t.equal(connection.closed, undefined);
  });

  t.test('after close() sends nothing', async (t) => {
    const { session, connection } = makeSession();
    session.close();
    session.fail(new ProtocolError('ServerRestarting'));
    t.same(connection.frames(), []);
    t.equal(connection.closed, undefined);
  });
});

t.test('close() leaves every channel, once', async (t) => {
  const { send, session, index, app } = makeSession();
  const other = makeSession({ socketId: '2.2', index });
  for (const channel of ['a', 'b', 'c']) send({ event: 'broadcastt:subscribe', data: { channel } });
  other.send({ event: 'broadcastt:subscribe', data: { channel: 'b' } });

  session.close();
  t.equal(index.subscriberCount(app.id, 'a'), 0);
  t.equal(index.subscriberCount(app.id, 'b'), 1, 'other members stay');
  t.equal(index.subscriberCount(app.id, 'c'), 0);
  t.equal(index.channelCount(), 1);
  t.equal(session.channels.length, 0);

  session.close();
  t.equal(index.subscriberCount(app.id, 'b'), 1, 'a second close() changes nothing');
});

t.test('nothing unexpected is logged while handling bad input', async (t) => {
  const { send, log } = makeSession();
  send('nope');
  send({ event: 'broadcastt:dance' });
  send({ event: 'broadcastt:subscribe', data: { channel: 'private-x' } });
  t.same(log.lines, []);
});

t.test('an unexpected exception is logged and reported as a non-fatal ServerError', async (t) => {
  const failing = new ChannelIndex({
    join: () => {
      throw new Error('boom');
    },
    leave: () => {},
    deliver: () => {},
  });
  const { send, connection, log } = makeSession({ index: failing });
  send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
  assertNonFatalError(t, connection, WsErrors.ServerError.code, new RegExp(WsErrors.ServerError.message));
  t.notMatch(connection.last().data, { message: /boom/ }, 'internals are not leaked to the client');
  t.match(log.lines, [{ level: 'error', message: /unexpected error/ }]);
});

t.test('refuse() sends the error in the requested dialect, then closes with its code', async (t) => {
  const connection = new FakeConnection();
  refuse(connection, 'pusher', new ProtocolError('AppNotFound'));
  t.same(connection.decoded(), [
    { event: 'pusher:error', data: { code: WsErrors.AppNotFound.code, message: WsErrors.AppNotFound.message } },
  ]);
  t.same(connection.closed, { code: WsErrors.AppNotFound.code, reason: WsErrors.AppNotFound.message });
  t.equal(connection.sentAfterClose, 0);
});

t.test('presence: a full channel refuses new users but not more sockets of a member', async (t) => {
  const first = makeSession({ socketId: '1.1', app: { maxPresenceMembers: 1 } });
  const { index, app } = first;
  const presence = first.context.presence;
  const channel = 'presence-small';
  const join = async (s: ReturnType<typeof makeSession>, userId: string) => {
    s.send({ event: 'broadcastt:subscribe', data: { channel, ...authorizeChannel(app, s.session.socketId, channel, `{"user_id":"${userId}"}`) } });
    await settled();
  };
  await join(first, 'a');
  const stranger = makeSession({ socketId: '1.2', app: { maxPresenceMembers: 1 }, index, presence });
  await join(stranger, 'b');
  t.match(stranger.connection.last(), { event: 'broadcastt:subscription_error', data: { type: 'MemberLimitReached', status: SubscriptionErrors.MemberLimitReached.status } });
  const sameUser = makeSession({ socketId: '1.3', app: { maxPresenceMembers: 1 }, index, presence });
  await join(sameUser, 'a');
  t.match(sameUser.connection.last(), { event: 'broadcastt_internal:subscription_succeeded', data: { presence: { count: 1 } } });
});

t.test('client events: relayed to the other subscribers of private and presence channels only', async (t) => {
  const appOptions = { clientEvents: true, maxClientEventsPerSecond: 2, maxEventDataBytes: 64 };
  const sender = makeSession({ socketId: '1.1', app: appOptions });
  const { index, app, clock } = sender;
  const presence = sender.context.presence;
  const receiver = makeSession({ socketId: '1.2', app: appOptions, index, presence, dialect: 'pusher' });
  for (const s of [sender, receiver]) {
    s.send({ event: 'pusher:subscribe', data: { channel: 'private-chat', ...authorizeChannel(app, s.session.socketId, 'private-chat') } });
    s.send({ event: 'pusher:subscribe', data: { channel: 'presence-room', ...authorizeChannel(app, s.session.socketId, 'presence-room', `{"user_id":"${s.session.socketId}"}`) } });
  }
  await settled();
  const before = sender.connection.decoded().length;

  sender.send({ event: 'client-typing', channel: 'private-chat', data: { on: true } });
  t.same(receiver.connection.last(), { event: 'client-typing', channel: 'private-chat', data: { on: true } });
  sender.send({ event: 'client-typing', channel: 'presence-room', data: '{"on":false}' });
  t.same(receiver.connection.last(), { event: 'client-typing', channel: 'presence-room', data: { on: false }, user_id: '1.1' }, 'presence events carry user_id');
  t.equal(sender.connection.decoded().length, before, 'never echoed to the sender');

  const refusals: Array<[string, unknown, RegExp]> = [
    ['rate', { event: 'client-x', channel: 'private-chat', data: {} }, /over the limit of 2 client events per second/],
    ['public channel', { event: 'client-x', channel: 'news', data: {} }, /only allowed on private- and presence- channels/],
    ['encrypted channel', { event: 'client-x', channel: 'private-encrypted-x', data: {} }, /only allowed on private- and presence- channels/],
    ['not subscribed', { event: 'client-x', channel: 'private-other', data: {} }, /subscribe to private-other/],
  ];
  for (const [label, frame, message] of refusals) {
    sender.send(frame);
    t.match(sender.connection.last(), { event: 'broadcastt:error', data: { code: WsErrors.ClientEventRejected.code, message } }, label);
  }
  clock.now += 1000;
  sender.send({ event: 'client-x', channel: 'private-chat', data: { pad: 'x'.repeat(100) } });
  t.match(sender.connection.last(), { data: { code: WsErrors.ClientEventRejected.code, message: /over the limit of 64 bytes/ } }, 'size');
  sender.send({ event: 'client-x', channel: 'private-chat', data: { ok: 1 } });
  t.same(receiver.connection.last(), { event: 'client-x', channel: 'private-chat', data: { ok: 1 } }, 'a new second, a new budget');
  t.equal(sender.connection.closed, undefined, 'refusals never close the connection');
});

t.test('user sign-in: signin_success for a valid signature; 4009 and close otherwise', async (t) => {
  for (const dialect of ['broadcastt', 'pusher'] as const) {
    const ok = makeSession({ socketId: '1.1', dialect });
    const userData = '{"id":"42","name":"Ann"}';
    ok.send({ event: `${dialect}:signin`, data: authenticateUser(ok.app, '1.1', userData) });
    t.same(ok.connection.last(), { event: `${dialect}:signin_success`, data: { user_data: userData } });
    t.same(ok.signedIn, ['42']);
  }
  const cases: Array<[string, (app: { key: string; secret: string }) => unknown]> = [
    ['wrong secret', (app) => authenticateUser({ key: app.key, secret: 'wrong-secret' }, '1.1', { id: '1' })],
    ['another socket', (app) => authenticateUser(app, '1.2', { id: '1' })],
    ['no id', (app) => authenticateUser(app, '1.1', '{"name":"x"}')],
    ['id not a string', (app) => authenticateUser(app, '1.1', '{"id":7}')],
  ];
  for (const [label, sign] of cases) {
    const s = makeSession({ socketId: '1.1' });
    s.send({ event: 'broadcastt:signin', data: sign(s.app) });
    t.match(s.connection.last(), { event: 'broadcastt:error', data: { code: WsErrors.Unauthorized.code } }, label);
    t.equal(s.connection.closed?.code, WsErrors.Unauthorized.code, `${label}: closed with 4009`);
    t.same(s.signedIn, []);
  }
});
