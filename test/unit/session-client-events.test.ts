import t from 'tap';
import { WsErrors } from '../../src/errors.js';
import { authorizeChannel } from '../../src/protocol/channel-auth.js';
import { assertNonFatalError, makeNode, makeSession, settled } from '../helpers/fake-connection.js';

t.test('client events are rejected non-fatally', async (t) => {
  const on = makeNode();
  const { send, connection, app } = makeSession({ on });
  send({ event: 'broadcastt:subscribe', data: { channel: 'chat' } });
  const other = makeSession({ socketId: '9.9', on });
  other.send({ event: 'broadcastt:subscribe', data: { channel: 'chat' } });
  other.connection.clear();
  connection.clear();

  send({ event: 'client-typing', channel: 'chat', data: { who: 'me' } });
  assertNonFatalError(t, connection, WsErrors.ClientEventRejected.code, new RegExp(app.id));
  t.same(other.connection.frames(), [], 'nothing reaches the other subscriber');
});

t.test('client events: relayed to the other subscribers of private and presence channels only', async (t) => {
  const appOptions = { clientEvents: true, maxClientEventsPerSecond: 2, maxEventDataBytes: 64 };
  const on = makeNode({ app: appOptions });
  const { app, clock } = on;
  const sender = makeSession({ socketId: '1.1', on });
  const receiver = makeSession({ socketId: '1.2', on, dialect: 'pusher' });
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
    ['public channel', { event: 'client-x', channel: 'news', data: {} }, /only allowed on private- and presence- channels/],
    ['encrypted channel', { event: 'client-x', channel: 'private-encrypted-x', data: {} }, /only allowed on private- and presence- channels/],
    ['not subscribed', { event: 'client-x', channel: 'private-other', data: {} }, /subscribe to private-other/],
  ];
  sender.send({ event: 'client-x', channel: 'private-chat', data: {} });
  t.match(sender.connection.last(), { event: 'broadcastt:error', data: { code: WsErrors.OverLimit.code, message: /maxClientEventsPerSecond: at most 2 client events per second/ } }, 'rate: 4301 naming the limit');
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
