import t from 'tap';
import { SubscriptionErrors, WsErrors } from '../../src/errors.js';
import { authorizeChannel } from '../../src/protocol/channel-auth.js';
import { assertNonFatalError, assertRefusedSubscription, makeNode, makeSession } from '../helpers/fake-connection.js';

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
    const members = index.deliver(app.id, 'news', () => JSON.stringify({ event: 'headline', channel: 'news', data: '{"n":1}' }));
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
    const on = makeNode();
    const a = makeSession({ socketId: '1.1', on });
    const b = makeSession({ socketId: '1.2', on });
    a.send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
    b.send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
    a.send({ event: 'broadcastt:unsubscribe', data: { channel: 'news' } });
    a.connection.clear();
    b.connection.clear();
    t.equal(a.index.deliver(a.app.id, 'news', () => JSON.stringify({ event: 'e', channel: 'news', data: '{}' })), 1);
    t.same(a.connection.frames(), []);
    t.equal(b.connection.frames().length, 1);
  });
});

t.test('invalid channel names', async (t) => {
  t.test('a name over maxChannelNameLength (164) is refused with InvalidChannel', async (t) => {
    const { send, connection, index } = makeSession();
    const name = 'x'.repeat(165);
    send({ event: 'broadcastt:subscribe', data: { channel: name } });
    assertRefusedSubscription(t, connection, name, 'InvalidChannel', /165 characters, over the limit of 164/);
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
    assertRefusedSubscription(t, connection, 'abcdef', 'InvalidChannel', /over the limit of 5/);
  });

  for (const name of ['bad channel', 'a:b', 'ünï', '#x']) {
    t.test(`${JSON.stringify(name)} (bad charset) is a subscription_error for that name, naming data.channel`, async (t) => {
      const { send, connection, index } = makeSession();
      send({ event: 'broadcastt:subscribe', data: { channel: name } });
      assertRefusedSubscription(t, connection, name, 'InvalidChannel', /data\.channel must be one or more of letters/);
      t.equal(index.channelCount(), 0);
    });
  }

  t.test('an empty name names no channel: a non-fatal InvalidChannel error frame', async (t) => {
    const { send, connection } = makeSession();
    send({ event: 'broadcastt:subscribe', data: { channel: '' } });
    assertNonFatalError(t, connection, WsErrors.InvalidChannel.code, /data\.channel/);
  });
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
  t.same(connection.decoded().map((f) => [f.event, f.channel]), [['broadcastt:error', undefined], ['broadcastt:subscription_error', 'c']], 'the 4301, then the subscription_error');
  t.match(connection.decoded()[0]?.data, { code: WsErrors.OverLimit.code, message: /maxChannelsPerConnection: at most 2 channels per connection/, channel: 'c' });
  t.match(connection.last(), { data: { type: 'TooManyChannels', error: /at most 2 per connection/ } });
  t.equal(connection.closed, undefined, 'the connection stays');
  t.equal(index.subscriberCount(app.id, 'c'), 0);
  t.equal(session.channels.length, 2);

  connection.clear();
  send({ event: 'broadcastt:subscribe', data: { channel: 'a' } });
  t.match(connection.last(), { event: 'broadcastt_internal:subscription_succeeded', channel: 'a' }, 'resubscribing at the limit still succeeds');

  send({ event: 'broadcastt:unsubscribe', data: { channel: 'a' } });
  send({ event: 'broadcastt:subscribe', data: { channel: 'c' } });
  t.match(connection.last(), { event: 'broadcastt_internal:subscription_succeeded', channel: 'c' }, 'room again after leaving one');
});
