import t from 'tap';
import { WsErrors } from '../../src/errors.js';
import { makeSession } from '../helpers/fake-connection.js';

/** The session's periodic sweep: RFC 6455 pings, 4201 for silent peers, eviction of slow consumers. */
t.test('liveness sweep', async (t) => {
  t.test('does nothing before activityTimeout', async (t) => {
    const { session, connection, clock, node } = makeSession();
    session.sweep(clock.now + node.limits.activityTimeoutMs - 1);
    t.equal(connection.pings, 0);
    t.equal(connection.closed, undefined);
  });

  t.test('pings once after activityTimeout of silence', async (t) => {
    const { session, connection, clock, node } = makeSession();
    clock.now += node.limits.activityTimeoutMs;
    session.sweep(clock.now);
    t.equal(connection.pings, 1);
    clock.now += 1000;
    session.sweep(clock.now);
    t.equal(connection.pings, 1, 'no second ping while waiting for the answer');
    t.equal(connection.closed, undefined);
  });

  t.test('closes with PongNotReceived after pongTimeout with no activity', async (t) => {
    const { session, connection, clock, node } = makeSession();
    clock.now += node.limits.activityTimeoutMs;
    session.sweep(clock.now);
    clock.now += node.limits.pongTimeoutMs - 1;
    session.sweep(clock.now);
    t.equal(connection.closed, undefined, 'not yet');

    clock.now += 1;
    session.sweep(clock.now);
    t.match(connection.closed, { code: WsErrors.PongNotReceived.code, reason: /Pong reply not received/ });
    t.same(connection.decoded(), [
      { event: 'broadcastt:error', data: { code: WsErrors.PongNotReceived.code, message: WsErrors.PongNotReceived.message } },
    ]);
  });

  t.test('does not close if markAlive() came after the ping', async (t) => {
    const { session, connection, clock, node } = makeSession();
    clock.now += node.limits.activityTimeoutMs;
    session.sweep(clock.now);
    clock.now += 10;
    session.markAlive();
    clock.now += node.limits.pongTimeoutMs;
    session.sweep(clock.now);
    t.equal(connection.closed, undefined);
    t.equal(connection.pings, 1);

    clock.now += node.limits.activityTimeoutMs;
    session.sweep(clock.now);
    t.equal(connection.pings, 2, 'pings again after the next silent period');
  });

  t.test('any client message counts as activity', async (t) => {
    const { session, send, connection, clock, node } = makeSession();
    clock.now += node.limits.activityTimeoutMs - 1;
    send({ event: 'broadcastt:ping' });
    clock.now += node.limits.activityTimeoutMs - 1;
    session.sweep(clock.now);
    t.equal(connection.pings, 0);
  });

  t.test('a client message after the ping also prevents the close', async (t) => {
    const { session, send, connection, clock, node } = makeSession();
    clock.now += node.limits.activityTimeoutMs;
    session.sweep(clock.now);
    send({ event: 'broadcastt:pong' });
    clock.now += node.limits.pongTimeoutMs;
    session.sweep(clock.now);
    t.equal(connection.closed, undefined);
  });

  t.test('does nothing to a consumer just under maxBackpressureBytes', async (t) => {
    const { session, send, connection, clock, config, index, app } = makeSession();
    send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
    connection.clear();
    connection.buffered = config.maxBackpressureBytes - 1;
    session.sweep(clock.now);
    t.equal(connection.closed, undefined);
    t.equal(connection.terminated, false);
    t.equal(index.subscriberCount(app.id, 'news'), 1);
  });
});

t.test('slow consumers', async (t) => {
  /** A session in two channels whose send buffer has just reached maxBackpressureBytes. */
  const evicted = () => {
    const fixture = makeSession();
    fixture.send({ event: 'broadcastt:subscribe', data: { channel: 'a' } });
    fixture.send({ event: 'broadcastt:subscribe', data: { channel: 'b' } });
    fixture.connection.clear();
    fixture.connection.buffered = fixture.config.maxBackpressureBytes;
    fixture.session.sweep(fixture.clock.now);
    return fixture;
  };

  t.test('are evicted from every channel as soon as bufferedAmount reaches maxBackpressureBytes', async (t) => {
    const { session, connection, index, app } = evicted();
    t.equal(index.subscriberCount(app.id, 'a'), 0);
    t.equal(index.subscriberCount(app.id, 'b'), 0);
    t.equal(session.channels.length, 0);
    t.same(connection.frames(), [], 'nothing is sent while the buffer is full');
    t.equal(connection.closed, undefined, 'not closed yet: ending now would discard the close frame');
  });

  t.test('are closed with SlowConsumer once the buffer has drained', async (t) => {
    const { session, connection, clock } = evicted();
    connection.buffered = 1;
    clock.now += 1000;
    session.sweep(clock.now);
    t.equal(connection.closed, undefined, 'still draining');

    connection.buffered = 0;
    clock.now += 1000;
    session.sweep(clock.now);
    t.match(connection.last(), { event: 'broadcastt:error', data: { code: WsErrors.SlowConsumer.code, message: /Closed as a slow consumer/ } });
    t.equal(connection.frames().length, 1);
    t.match(connection.closed, { code: WsErrors.SlowConsumer.code });
    t.equal(connection.sentAfterClose, 0, 'the error frame went out before the close');
  });

  t.test('are terminated if the buffer has not drained pongTimeout after the eviction', async (t) => {
    const { session, connection, clock, node } = evicted();
    clock.now += node.limits.pongTimeoutMs - 1;
    session.sweep(clock.now);
    t.equal(connection.terminated, false);

    clock.now += 1;
    session.sweep(clock.now);
    t.equal(connection.terminated, true);
    t.equal(connection.closed, undefined, 'no close handshake with a peer that reads nothing');
  });

  t.test('have their messages ignored once evicted', async (t) => {
    const { send, connection, index, app, session } = evicted();
    send({ event: 'broadcastt:subscribe', data: { channel: 'c' } });
    send('not json');
    t.same(connection.frames(), []);
    t.equal(index.subscriberCount(app.id, 'c'), 0);
    t.equal(session.channels.length, 0);
  });

  t.test('are not pinged while draining', async (t) => {
    const { session, connection, clock, node } = evicted();
    connection.buffered = 1;
    clock.now += node.limits.activityTimeoutMs;
    session.sweep(clock.now);
    t.equal(connection.pings, 0);
  });
});

t.test('sweep does nothing once the session is closed', async (t) => {
  const { session, connection, clock, node } = makeSession();
  session.close();
  connection.buffered = Number.MAX_SAFE_INTEGER;
  clock.now += node.limits.activityTimeoutMs + node.limits.pongTimeoutMs;
  session.sweep(clock.now);
  connection.buffered = 0;
  session.sweep(clock.now);
  t.equal(connection.pings, 0);
  t.equal(connection.closed, undefined);
  t.equal(connection.terminated, false);
  t.same(connection.frames(), []);
});
