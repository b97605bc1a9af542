import t from 'tap';
import { authenticateUser, authorizeChannel } from '../../src/protocol/channel-auth.js';
import { DEMO_APP, startGateway } from '../helpers/gateway.js';
import { until } from '../helpers/ws-client.js';
import { type PusherClientInstance, pusherClient, pusherServer, signingPusherClient } from '../helpers/pusher.js';

/**
 * The published Pusher libraries, unchanged: pusher-js (Node build, protocol 7) connects and
 * subscribes; the `pusher` server library triggers over the Pusher REST paths.
 */
t.test('pusher-js connects, subscribes and receives events triggered by the pusher server library', async (t) => {
  const running = await startGateway(t);
  const client = pusherClient(t, running);

  const socketId = await new Promise<string>((resolve, reject) => {
    client.connection.bind('connected', () => resolve(client.connection.socket_id));
    client.connection.bind('error', reject);
  });
  t.match(socketId, /^\d+\.\d+$/);

  const channel = client.subscribe('market');
  await new Promise<void>((resolve, reject) => {
    channel.bind('pusher:subscription_succeeded', () => resolve());
    channel.bind('pusher:subscription_error', reject);
  });

  const server = pusherServer(running);
  const received = new Promise<unknown>((resolve) => channel.bind('tick', resolve));
  const single = await server.trigger('market', 'tick', { price: 101.5 });
  t.equal(single.status, 200);
  t.same(await received, { price: 101.5 });

  const batched = new Promise<unknown>((resolve) => channel.bind('batched', resolve));
  const batch = await server.triggerBatch([{ channel: 'market', name: 'batched', data: { n: 2 } }]);
  t.equal(batch.status, 200);
  t.same(await batched, { n: 2 });

  const excludedSelf = new Promise<unknown>((resolve) => channel.bind('others', resolve));
  await server.trigger('market', 'others', { skip: true }, { socket_id: socketId });
  await server.trigger('market', 'others', { skip: false });
  t.same(await excludedSelf, { skip: false }, 'the event sent with our socket_id was not delivered to us');
});

t.test('pusher-js joins a private channel through an authorizer; a wrong signature never subscribes', async (t) => {
  const running = await startGateway(t);
  const connect = (sign: (socketId: string, channel: string) => { auth: string }) => signingPusherClient(t, running, sign);
  const outcome = (channel: ReturnType<PusherClientInstance['subscribe']>) =>
    new Promise<string>((resolve) => {
      channel.bind('pusher:subscription_succeeded', () => resolve('succeeded'));
      channel.bind('pusher:subscription_error', (error: { type: string; status: number }) => resolve(`${error.type} ${error.status}`));
    });

  const good = connect((socketId, channel) => authorizeChannel(DEMO_APP, socketId, channel));
  const goodChannel = good.subscribe('private-orders');
  t.equal(await outcome(goodChannel), 'succeeded');

  const forger = connect((socketId, channel) => authorizeChannel({ key: DEMO_APP.key, secret: 'guessed-secret' }, socketId, channel));
  t.equal(await outcome(forger.subscribe('private-orders')), 'AuthError 401');

  const received = new Promise<unknown>((resolve) => goodChannel.bind('shipped', resolve));
  t.equal(running.gateway.publish(DEMO_APP.id, 'private-orders', 'shipped', { id: 1 }), 1, 'only the authorized socket is subscribed');
  t.same(await received, { id: 1 });
});

t.test('pusher-js presence: one member per user across sockets; added on the first socket, removed on the last', async (t) => {
  const running = await startGateway(t);
  const connectAs = (userId: number | string, name: string) =>
    signingPusherClient(t, running, (socketId, channel) => authorizeChannel(DEMO_APP, socketId, channel, JSON.stringify({ user_id: userId, user_info: { name } })));
  type Members = { count: number; me: { id: string }; each: (fn: (m: { id: string; info: { name: string } }) => void) => void };
  const join = (client: PusherClientInstance) => {
    const channel = client.subscribe('presence-lobby');
    return new Promise<{ channel: typeof channel; members: Members }>((resolve, reject) => {
      channel.bind('pusher:subscription_succeeded', (members: Members) => resolve({ channel, members }));
      channel.bind('pusher:subscription_error', reject);
    });
  };
  const names = (members: Members) => {
    const list: string[] = [];
    members.each((m) => list.push(`${m.id}:${m.info.name}`));
    return list.sort();
  };

  const bob = await join(connectAs('bob', 'Bob'));
  const added: string[] = [];
  const removed: string[] = [];
  bob.channel.bind('pusher:member_added', (m: { id: string }) => added.push(m.id));
  bob.channel.bind('pusher:member_removed', (m: { id: string }) => removed.push(m.id));

  const annAdded = new Promise<void>((resolve) => bob.channel.bind('pusher:member_added', () => resolve()));
  const annFirst = connectAs(42, 'Ann');
  const ann = await join(annFirst);
  await annAdded;
  t.same(names(ann.members), ['42:Ann', 'bob:Bob'], 'the numeric user id is listed as "42"');

  const annSecondClient = connectAs(42, 'Ann');
  const annSecond = await join(annSecondClient);
  t.equal(annSecond.members.count, 2, 'the same user on two sockets is one member');

  const annGone = new Promise<void>((resolve) => bob.channel.bind('pusher:member_removed', () => resolve()));
  // A publish that reaches Bob after Ann's first socket has gone proves no member_removed came for it.
  const marker = new Promise<void>((resolve) => bob.channel.bind('marker', () => resolve()));
  annFirst.disconnect();
  await until(() => running.gateway.health().connections === 2, 'the first socket of Ann to close');
  running.gateway.publish(DEMO_APP.id, 'presence-lobby', 'marker', {});
  await marker;
  t.same(removed, [], 'no member_removed while Ann has another socket');

  annSecondClient.disconnect();
  await annGone;
  t.same({ added, removed }, { added: ['42'], removed: ['42'] });
});

t.test('pusher-js exchanges client events on a private channel; the sender never gets its own', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, clientEvents: true }] });
  const connect = () => {
    const client = signingPusherClient(t, running, (socketId, channel) => authorizeChannel(DEMO_APP, socketId, channel));
    const channel = client.subscribe('private-chat');
    return new Promise<typeof channel>((resolve) => channel.bind('pusher:subscription_succeeded', () => resolve(channel)));
  };
  const alice = await connect();
  const bob = await connect();
  const aliceGot: unknown[] = [];
  alice.bind('client-typing', (data: unknown) => aliceGot.push(data));

  const bobGot = new Promise<unknown>((resolve) => bob.bind('client-typing', resolve));
  t.ok(alice.trigger('client-typing', { who: 'alice' }));
  t.same(await bobGot, { who: 'alice' });

  const aliceGotBob = new Promise<unknown>((resolve) => alice.bind('client-typing', resolve));
  bob.trigger('client-typing', { who: 'bob' });
  t.same(await aliceGotBob, { who: 'bob' });
  t.same(aliceGot, [{ who: 'bob' }], 'alice never received her own event');
});

t.test('pusher-js signs in; terminate_connections closes that user\'s sockets only', async (t) => {
  const running = await startGateway(t);
  const connectAs = (id: string) => {
    const client = pusherClient(t, running, {
      userAuthentication: {
        endpoint: '/unused',
        transport: 'ajax',
        customHandler: ({ socketId }, callback) => callback(null, authenticateUser(DEMO_APP, socketId, { id })),
      },
    });
    client.signin();
    return new Promise<typeof client>((resolve) => client.bind('pusher:signin_success', () => resolve(client)));
  };
  const ann = await connectAs('ann');
  const annAgain = await connectAs('ann');
  const bob = await connectAs('bob');
  const closed = (client: PusherClientInstance) =>
    new Promise<number | undefined>((resolve) => client.connection.bind('error', (e: { data?: { code?: number } }) => resolve(e.data?.code)));
  const annClosed = [closed(ann), closed(annAgain)];

  const server = pusherServer(running);
  t.equal((await server.terminateUserConnections('ann')).status, 200);
  t.same(await Promise.all(annClosed), [4009, 4009], 'both of ann\'s sockets got 4009');
  t.equal(bob.connection.state, 'connected', 'bob stays connected');
});

t.test('pusher-js hears every refused subscription on that channel, and the connection carries on', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, maxChannelsPerConnection: 1 }] });
  const client = pusherClient(t, running);
  const outcome = (name: string) =>
    new Promise<string>((resolve) => {
      const channel = client.subscribe(name);
      channel.bind('pusher:subscription_succeeded', () => resolve('succeeded'));
      channel.bind('pusher:subscription_error', (error: { type: string; status: number }) => resolve(`${error.type} ${error.status}`));
    });
  t.equal(await outcome('first'), 'succeeded');
  t.equal(await outcome('x'.repeat(200)), 'InvalidChannel 400', 'a name over the limit');
  t.equal(await outcome('second'), 'TooManyChannels 403', 'over the channel limit');
  t.equal(client.connection.state, 'connected');
});
