import t from 'tap';
import { ProtocolError, WsErrors } from '../../src/errors.js';
import { assertNonFatalError, assertRefusedSubscription, makeNode, makeSession } from '../helpers/fake-connection.js';

const SOCKET_ID = /^\d+\.\d+$/;

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
  const on = makeNode();
  const { send, session, index, app } = makeSession({ on });
  const other = makeSession({ socketId: '2.2', on });
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

t.test('a subscribe whose other fields are malformed is a subscription_error for its channel', async (t) => {
  const { send, connection } = makeSession();
  send({ event: 'broadcastt:subscribe', data: { channel: 'a', auth: 1 } });
  assertRefusedSubscription(t, connection, 'a', 'InvalidSubscription', /data\.auth must be string/);
});

t.test('an unexpected exception is logged and reported as a ServerError, for the subscribe’s channel', async (t) => {
  const failing = {
    join: () => {
      throw new Error('boom');
    },
    leave: () => {},
    deliver: () => {},
  };
  const { send, connection, log } = makeSession({ fanOut: failing });
  send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
  assertRefusedSubscription(t, connection, 'news', 'ServerError', /Internal server error while subscribing$/);
  t.notMatch(connection.last().data, { error: /boom/ }, 'internals are not leaked to the client');
  t.match(log.lines, [{ level: 'error', message: /unexpected error/ }]);
});

t.test('an unexpected exception handling another frame is a non-fatal ServerError naming what the frame named', async (t) => {
  const failing = {
    join: () => {},
    leave: () => {},
    deliver: () => {
      throw new Error('boom');
    },
  };
  const { send, connection, log } = makeSession({ fanOut: failing, app: { clientBroadcasts: 'all' } });
  send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
  connection.clear();
  send({ event: 'broadcastt:broadcast', data: { request_id: 'q', channel: 'news', name: 'hello' } });
  assertNonFatalError(t, connection, WsErrors.ServerError.code, new RegExp(WsErrors.ServerError.message));
  t.match(connection.last().data, { request_id: 'q', channel: 'news' });
  t.notMatch(connection.last().data, { message: /boom/ }, 'internals are not leaked to the client');
  t.match(log.lines, [{ level: 'error', message: /unexpected error/ }]);
});

t.test('a frame nested deeper than maxJsonDepth is refused before it is parsed, naming the limit, and logs nothing', async (t) => {
  const { send, connection, log } = makeSession({ config: { maxJsonDepth: 16 }, app: { clientBroadcasts: 'all' } });
  const deep = `{"event":"broadcastt:broadcast","data":{"request_id":"q","channel":"x","name":"e","payload":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`;
  send(deep);
  assertNonFatalError(t, connection, WsErrors.InvalidMessage.code, /the frame nests deeper than 16 levels/);
  connection.clear();
  send({ event: 'broadcastt:broadcast', data: { request_id: 'ok', channel: 'x', name: 'e', payload: { text: '[[[[[[[[[[[[[[[[[[[[[[' } } });
  t.notOk(connection.decoded().some((f) => f.event === 'broadcastt:error'), 'brackets in strings do not count');
  t.same(log.lines, [], 'refusals of bad input are not errors of the gateway');
});

t.test('unexpected errors are logged at most once per interval, however many', async (t) => {
  const failing = { join: () => {}, leave: () => {}, deliver: () => {
    throw new Error('boom');
  } };
  const { send, log } = makeSession({ fanOut: failing, app: { clientBroadcasts: 'all', maxBroadcastsPerSecond: 1000 } });
  send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
  for (let i = 0; i < 50; i++) send({ event: 'broadcastt:broadcast', data: { request_id: i, channel: 'news', name: 'e' } });
  t.equal(log.lines.filter((l) => l.level === 'error').length, 1);
});
