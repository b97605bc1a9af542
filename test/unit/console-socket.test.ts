import t from 'tap';
import { AppRegistry } from '../../src/apps/app-registry.js';
import { MAX_CONSOLE_BUFFER_BYTES, SILENCE_TIMEOUT_MS, ConsoleSocket } from '../../src/console/console-socket.js';
import { issueToken } from '../../src/console/console-token.js';
import { WsErrors } from '../../src/errors.js';
import { FakeConnection, makeNode, makeSession } from '../helpers/fake-connection.js';
import { until } from '../helpers/ws-client.js';

/** A console socket on a real node over a FakeConnection, signed in for the node's app; the clock moves by hand. */
function signedInSocket() {
  const fixture = makeNode();
  const { node, app, clock } = fixture;
  const connection = new FakeConnection();
  const closed: ConsoleSocket[] = [];
  const socket = new ConsoleSocket(connection, { apps: new AppRegistry([app]), node, nowMs: () => clock.now, logUnexpected: () => {}, closed: (s) => closed.push(s) });
  connection.onClose = () => socket.close();
  const send = (frame: unknown) => socket.receive(Buffer.from(JSON.stringify(frame)), false);
  send({ event: 'console:auth', data: { token: issueToken(app, Math.floor(clock.now / 1000), 900).token } });
  return { ...fixture, connection, socket, send, closed };
}

t.test('a signed-in socket watches as a watcher, never as a member', async (t) => {
  const { node, app, connection, send } = signedInSocket();
  t.equal(connection.frames()[0]?.event, 'console:ready');
  send({ event: 'console:watch', data: { channel: 'news' } });
  t.match(connection.last(), { event: 'console:watching', channel: 'news', data: { name: 'news', type: 'public' } });
  t.equal(node.index.subscriberCount(app.id, 'news'), 0);
  t.equal(node.sessions.size, 0);
  node.publishEvent(app.id, 'news', 'hello', '{"a":1}');
  t.match(connection.last(), { event: 'hello', channel: 'news', data: { a: 1 } });
  node.respond(app.id, 'some-id', 'news', '"late"');
  t.match(connection.last(), { event: 'console:response', channel: 'news', data: { id: 'some-id', payload: 'late' } }, 'even a response nobody waits for');
});

t.test('closing stops the watching', async (t) => {
  const { node, app, connection, socket, send, closed } = signedInSocket();
  send({ event: 'console:watch', data: { channel: 'news' } });
  socket.close();
  connection.clear();
  node.publishEvent(app.id, 'news', 'hello', '{}');
  t.same(connection.frames(), []);
  t.same(closed, [socket], 'the console is told once');
  socket.close();
  t.equal(closed.length, 1);
});

t.test('a page that stops pinging is closed with 4201', async (t) => {
  const { connection, clock } = signedInSocket();
  clock.now += SILENCE_TIMEOUT_MS;
  await until(() => connection.closed !== undefined, 'the next tick');
  t.equal(connection.closed?.code, WsErrors.PongNotReceived.code);
});

t.test('a page that cannot keep up is closed with 4101', async (t) => {
  const { connection } = signedInSocket();
  connection.buffered = MAX_CONSOLE_BUFFER_BYTES;
  await until(() => connection.closed !== undefined, 'the next tick');
  t.equal(connection.closed?.code, WsErrors.SlowConsumer.code);
});

t.test('a client\'s broadcast on a watched channel is shown with its id', async (t) => {
  const session = makeSession({ app: { clientBroadcasts: 'all' } });
  const { node, app } = session;
  const connection = new FakeConnection();
  const socket = new ConsoleSocket(connection, { apps: new AppRegistry([app]), node, nowMs: () => session.clock.now, logUnexpected: () => {}, closed: () => {} });
  socket.receive(Buffer.from(JSON.stringify({ event: 'console:auth', data: { token: issueToken(app, Math.floor(session.clock.now / 1000), 900).token } })), false);
  socket.receive(Buffer.from(JSON.stringify({ event: 'console:watch', data: { channel: 'news' } })), false);
  session.send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
  session.send({ event: 'broadcastt:broadcast', data: { request_id: 1, channel: 'news', name: 'ask', payload: 'q', timeout: 0 } });
  t.match(connection.last(), { event: 'ask', channel: 'news', data: 'q', id: /\./ });
  socket.close();
});
