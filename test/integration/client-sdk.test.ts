import { createServer as createNetServer } from 'node:net';
import t, { type Test } from 'tap';
import { type Client, ClientStateError, ConnectionError, OptionsError, ServerError, start, TimeoutError } from '../../src/client/index.js';
import { authorizeChannel } from '../../src/protocol/channel-auth.js';
import { channelId } from '../../src/protocol/channel-id.js';
import { createGateway } from '../../src/gateway.js';
import { signRequestQuery } from '../../src/http/request-signature.js';
import { createLogger } from '../../src/log.js';
import { portOutsideEphemeralRange, runCli, waitFor } from '../helpers/cli.js';
import { DEMO_APP, httpRequest, type Running, signedGet, startGateway } from '../helpers/gateway.js';
import { until } from '../helpers/ws-client.js';

function client(t: Test, running: Running, options: Record<string, unknown> = {}): Client {
  const c = start({ url: `ws://127.0.0.1:${running.port}/app/${DEMO_APP.key}`, key: DEMO_APP.key, appId: DEMO_APP.id, ...options });
  t.teardown(() => c.stop());
  return c;
}

/** Resolves on the client's next `event`. */
function next(c: Client, event: 'online' | 'offline' | 'error'): Promise<unknown> {
  return new Promise((resolve) => {
    const handle = c.on(event, (detail) => {
      handle.cancel();
      resolve(detail);
    });
  });
}

t.test('the seed examples: listen, respond, broadcast', async (t) => {
  const running = await startGateway(t);
  const exp = client(t, running);
  const listener = await exp.getChannel('my_channel').listen('my_event', (payload, respond) => {
    if (payload === 'hello!') respond('hi there!');
  });
  t.same(await exp.getChannel('my_channel').broadcast('my_event', 'hello!', 300), ['hi there!'], 'the broadcaster hears its own listener');
  t.same(await exp.getChannel('my_channel').broadcast('my_event', 'bye', 100), [], 'no response when nobody answers');
  listener.cancel();
  t.same(await exp.getChannel('myChannel').broadcast('hello', {}, 100), [], 'a broadcast with no listeners resolves to []');
  await exp.getChannel('late').listen('ask', (_, respond) => setTimeout(() => respond('after 200 ms'), 200));
  t.same(await exp.getChannel('late').broadcast('ask'), ['after 200 ms'], 'without a timeout the server default (1 s) applies');
});

t.test('every listener gets its own copy and each respond call counts', async (t) => {
  const running = await startGateway(t);
  const [a, b] = [client(t, running), client(t, running, { dialect: 'pusher' })];
  const channel = a.getChannel('room');
  await channel.listen('ask', (payload, respond) => {
    (payload as { n: number }).n = 99;
    respond('a1');
  });
  await channel.listen('ask', (payload, respond) => {
    respond((payload as { n: number }).n);
    respond('a2-again');
  });
  await b.getChannel('room').listen((payload, respond, message) => respond(`${message.name}:${(payload as { n: number }).n}`));
  await channel.listen('ask', () => {
    throw new Error('a broken listener');
  });
  const reported = next(a, 'error');
  const responses = await a.getChannel('room').broadcast('ask', { n: 1 }, 400);
  t.match(await reported, { message: 'a broken listener' }, 'a throwing callback is reported, not fatal');
  t.same([...responses].map(String).sort(), ['1', 'a1', 'a2-again', 'ask:1'], 'mutations do not leak between listeners; wildcard sees the name');
});

t.test('wait(): queued broadcasts, the next one, null on timeout, expiry after 60 s', async (t) => {
  const running = await startGateway(t);
  const clock = { now: 1_000_000 };
  const exp = client(t, running, { now: () => clock.now });
  let arrived = 0;
  const listener = await exp.getChannel('q').listen('tick', () => arrived++);
  running.gateway.publish(DEMO_APP.id, 'q', 'tick', { n: 1 });
  running.gateway.publish(DEMO_APP.id, 'q', 'tick', { n: 2 });
  await until(() => arrived === 2, 'both events to be queued');
  const first = await listener.wait(0);
  t.same(first?.payload, { n: 1 }, 'the oldest first');
  clock.now += 60_001;
  t.equal(await listener.wait(0), null, 'the second expired after 60 s');
  const later = listener.wait(2000);
  running.gateway.publish(DEMO_APP.id, 'q', 'tick', { n: 3 });
  t.same((await later)?.payload, { n: 3 }, 'a waiter gets the next one');
  t.equal(await listener.wait(50), null, 'null on timeout');
});

t.test('cancel() unsubscribes when the channel has no listeners left', async (t) => {
  const running = await startGateway(t);
  const exp = client(t, running);
  const one = await exp.getChannel('c').listen('e', () => {});
  const two = await exp.getChannel('c').listen('f', () => {});
  const occupied = async () => (await signedGet(running, `/apps/${DEMO_APP.id}/channels/c`)).body.occupied as boolean;
  one.cancel();
  t.equal(await occupied(), true, 'one listener left');
  two.cancel();
  await until(() => running.gateway.health().channels === 0, 'the unsubscribe');
  t.equal(await occupied(), false);
});

t.test('system and consumer channels; refusals reject with the server reason', async (t) => {
  const running = await startGateway(t);
  const exp = client(t, running);
  const consumer = client(t, running, { url: `ws://127.0.0.1:${running.port}/app/app-consumer-key`, key: 'app-consumer-key' });
  const lobby = consumer.getChannel('lobby', { consumer: true });
  t.equal(lobby.wire, channelId(DEMO_APP.id, 'lobby', { consumer: true }));
  await exp.getChannel('lobby', { consumer: true }).listen('who', (_, respond) => respond('trusted'));
  t.same(await lobby.broadcast('who', null, 300), ['trusted'], 'consumer and trusted clients meet on consumer channels');

  const refused = await consumer.getChannel('news').listen('x').catch((error: unknown) => error);
  t.match(refused, { name: 'ServerError', status: 403, type: 'ConsumerChannelOnly' });
  await t.rejects(exp.getChannel('status', { system: true }).broadcast('x', 1, 100), { name: 'ServerError', code: 4310 });
  const updates = await exp.getChannel('status', { system: true }).listen('update');
  running.gateway.publish(DEMO_APP.id, channelId(DEMO_APP.id, 'status', { system: true }), 'update', { v: 2 });
  t.same((await updates.wait(2000))?.payload, { v: 2 }, 'system channels can be listened to');
});

t.test('private and presence channels through the authorizer', async (t) => {
  const running = await startGateway(t);
  const authorizer = (socketId: string, channel: string) =>
    channel.startsWith('presence-') ? authorizeChannel(DEMO_APP, socketId, channel, JSON.stringify({ user_id: 'ann', user_info: { n: 1 } })) : authorizeChannel(DEMO_APP, socketId, channel);
  const exp = client(t, running, { authorizer });
  await exp.getChannel('private-x').listen('e');
  await exp.getChannel('presence-room').listen('e');
  t.same([...exp.getChannel('presence-room').members], [['ann', { n: 1 }]]);
  const noAuth = client(t, running);
  await t.rejects(noAuth.getChannel('private-x').listen('e'), /needs an authorizer/);
});

t.test('options are checked at start; a stopped client throws', async (t) => {
  t.throws(() => start(undefined as never), OptionsError);
  t.throws(() => start({ key: 'k' }), { name: 'OptionsError', option: 'url' });
  t.throws(() => start({ key: '', url: 'ws://x' }), { name: 'OptionsError', option: 'key' });
  t.throws(() => start({ key: 'k', url: 'http://x' }), { name: 'OptionsError', option: 'url' });
  t.throws(() => start({ key: 'k', url: 'ws://x', dialect: 'mqtt' as never }), { name: 'OptionsError', option: 'dialect' });
  t.throws(() => start({ key: 'k', host: 'example.com', queueMaxAgeMs: -1 }), { name: 'OptionsError', option: 'queueMaxAgeMs' });
  const quiet = start({ key: 'k', url: 'ws://127.0.0.1:9', enableNetwork: false });
  t.throws(() => quiet.getChannel('x', { consumer: true }), { name: 'OptionsError', option: 'appId' });
  quiet.stop();
  t.throws(() => quiet.getChannel('x'), ClientStateError);
  t.throws(() => quiet.on('online', () => {}), /stopped/);
});

t.test('4001 (unknown key) is an error and no reconnect', async (t) => {
  const running = await startGateway(t);
  let connects = 0;
  const bad = client(t, running, { url: `ws://127.0.0.1:${running.port}/app/nope`, key: 'nope' });
  bad.on('online', () => connects++);
  const error = await next(bad, 'error');
  t.match(error, { name: 'ServerError', code: 4001 });
  t.ok(error instanceof ServerError);
  t.equal(connects, 0);
  t.equal(bad.isOnline, false);
});

t.test('killing and restarting the gateway: offline, then online, and listeners receive again', async (t) => {
  const port = String(await portOutsideEphemeralRange());
  const first = runCli(['--port', port, '--host', '127.0.0.1']);
  t.teardown(() => first.kill('SIGKILL'));
  await waitFor(first.stdout, /listening on/);
  const exp = start({ url: `ws://127.0.0.1:${port}/app/${DEMO_APP.key}`, key: DEMO_APP.key, minBackoffMs: 50, maxBackoffMs: 200 });
  t.teardown(() => exp.stop());
  const got: unknown[] = [];
  await exp.getChannel('feed').listen('tick', (payload) => got.push(payload));
  const events: string[] = [];
  exp.on('offline', () => events.push('offline'));
  const online = next(exp, 'online').then(() => events.push('online'));

  first.kill('SIGKILL');
  await until(() => events.includes('offline'), 'offline');
  const second = runCli(['--port', port, '--host', '127.0.0.1']);
  t.teardown(() => second.kill('SIGKILL'));
  await waitFor(second.stdout, /listening on/);
  await online;
  t.same(events, ['offline', 'online']);

  const path = `/apps/${DEMO_APP.id}/events`;
  const publish = () => {
    const body = JSON.stringify({ name: 'tick', channel: 'feed', data: '{"after":"restart"}' });
    return httpRequest(`http://127.0.0.1:${port}${path}?${signRequestQuery(DEMO_APP, 'POST', path, body)}`, 'POST', body);
  };
  // The resubscription is in flight once online fires; publish until the listener has one event.
  await until(() => got.length > 0 || (void publish(), false), 'an event after the restart');
  t.same(got[0], { after: 'restart' });
});

t.test('clone binds registrations to a context; clear removes exactly those; fork is independent', async (t) => {
  const running = await startGateway(t);
  const exp = client(t, running);
  const a = exp.clone('A');
  const b = exp.clone('B');
  const heard: string[] = [];
  await a.getChannel('ctx').listen('e', () => heard.push('A'));
  await b.getChannel('ctx').listen('e', () => heard.push('B'));
  a.on('offline', () => heard.push('A offline'));
  exp.clear('A');
  running.gateway.publish(DEMO_APP.id, 'ctx', 'e', {});
  await until(() => heard.length >= 1, 'B to hear');
  t.same(heard, ['B'], 'A was cleared, B still listens');
  b.clear();
  await until(() => running.gateway.health().channels === 0, 'the channel to be left');

  const other = exp.fork();
  t.throws(() => other.getChannel('x'), /start\(\) the client first/);
  other.start({ url: `ws://127.0.0.1:${running.port}/app/${DEMO_APP.key}`, key: DEMO_APP.key });
  t.teardown(() => other.stop());
  await next(other, 'online');
  exp.stop();
  t.throws(() => a.getChannel('x'), ClientStateError, 'stopping stops every clone');
  t.equal(other.isOnline, true, 'a fork is independent');
});

t.test('4200 (server restarting) reconnects at once, without backing off', async (t) => {
  const port = await portOutsideEphemeralRange();
  const gateway = createGateway({ logger: createLogger('silent') });
  await gateway.listen(port, '127.0.0.1');
  // A backoff this long would show no attempt at all within the wait below.
  const exp = start({ url: `ws://127.0.0.1:${port}/app/${DEMO_APP.key}`, key: DEMO_APP.key, minBackoffMs: 60_000, maxBackoffMs: 60_000 });
  t.teardown(() => exp.stop());
  await next(exp, 'online');
  let attempts = 0;
  const probe = createNetServer((socket) => {
    attempts++;
    socket.destroy();
  });
  t.teardown(() => new Promise<void>((resolve) => probe.close(() => resolve())));
  const closing = gateway.close(); // stops listening at once, then sends 4200
  // Bound before any 4200 can reach the client, so its immediate reconnect lands here.
  probe.listen(port, '127.0.0.1');
  await closing;
  await until(() => attempts > 0, 'a reconnect attempt', 3000);
  t.equal(attempts, 1);
});

t.test('no SDK request waits forever: each settles on the answer, a refusal, the connection or a deadline', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, maxChannelsPerConnection: 1 }] });
  const exp = client(t, running, { requestTimeoutMs: 300 });
  await t.rejects(exp.getChannel('x'.repeat(200)).listen('e'), { name: 'ServerError', status: 400, type: 'InvalidChannel', message: /over the limit of 164/ }, 'an invalid name: the server’s reason');
  await t.rejects(exp.getChannel('WyJvdGhlci1hcHAiLCJ4IiwwLDFd').listen('e'), { name: 'ServerError', type: 'InvalidChannel', message: /another app/ }, 'another app’s channel ID');
  await exp.getChannel('one').listen('e');
  await t.rejects(exp.getChannel('two').listen('e'), { name: 'ServerError', status: 403, type: 'TooManyChannels' }, 'over the channel limit');

  const offline = start({ url: `ws://127.0.0.1:1/app/${DEMO_APP.key}`, key: DEMO_APP.key, requestTimeoutMs: 200, minBackoffMs: 50, maxBackoffMs: 100 });
  t.teardown(() => offline.stop());
  const listening = offline.getChannel('news').listen('e');
  const broadcasting = offline.getChannel('news').broadcast('e', {}, 100);
  await t.rejects(listening, TimeoutError, 'a listen that is never confirmed (no connection) times out');
  await t.rejects(broadcasting, TimeoutError, 'a broadcast that is never sent times out');

  const stopped = client(t, running, { requestTimeoutMs: 60_000 });
  const pending = stopped.getChannel('news').broadcast('e', {}, 30_000);
  const waiting = stopped.getChannel('private-x').listen('e');
  stopped.stop();
  await t.rejects(pending, ClientStateError, 'stop() settles a waiting broadcast');
  await t.rejects(waiting, ClientStateError, 'and a waiting listen');

  const refused = start({ url: `ws://127.0.0.1:${running.port}/app/no-such-key`, key: 'no-such-key', requestTimeoutMs: 60_000 });
  t.teardown(() => refused.stop());
  await t.rejects(refused.getChannel('news').listen('e'), { name: 'ServerError', code: 4001 }, 'a fatal refusal settles what waits');
});

t.test('a broadcast cut off by a lost connection rejects with ConnectionError', async (t) => {
  const port = await portOutsideEphemeralRange();
  const gateway = runCli(['--port', String(port), '--host', '127.0.0.1']);
  t.teardown(() => gateway.kill('SIGKILL'));
  await waitFor(gateway.stdout, /listening on/);
  const exp = start({ url: `ws://127.0.0.1:${port}/app/${DEMO_APP.key}`, key: DEMO_APP.key, requestTimeoutMs: 60_000 });
  t.teardown(() => exp.stop());
  await exp.getChannel('news').listen('e');
  const pending = exp.getChannel('news').broadcast('e', {}, 30_000);
  gateway.kill('SIGKILL');
  await t.rejects(pending, ConnectionError);
});

