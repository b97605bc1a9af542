import t from 'tap';
import { authorizeChannel } from '../../src/protocol/channel-auth.js';
import { DEMO_APP, startGateway } from '../helpers/gateway.js';
import { type PusherClientInstance, pusherClient, pusherServer, signedInPusherClient, signingPusherClient } from '../helpers/pusher.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

/**
 * What pusher-js 8 and the `pusher` server library speak beyond channels (DESIGN D17), each with the published
 * libraries unchanged: user channels, subscription counts, cache channels, watchlists and trigger info.
 */
type Channel = ReturnType<PusherClientInstance['subscribe']>;
const next = <T>(channel: Channel | PusherClientInstance['user'] | PusherClientInstance['user']['watchlist'], event: string) =>
  new Promise<T>((resolve) => channel.bind(event, (data: T) => resolve(data)));
const subscribed = (channel: Channel) =>
  new Promise<void>((resolve, reject) => {
    channel.bind('pusher:subscription_succeeded', () => resolve());
    channel.bind('pusher:subscription_error', reject);
  });

t.test('sendToUser reaches pusher.user.bind on every socket of that user only; another user cannot join the channel', async (t) => {
  const running = await startGateway(t);
  const ann = await signedInPusherClient(t, running, { id: 'ann' });
  const annAgain = await signedInPusherClient(t, running, { id: 'ann' });
  const bob = await signedInPusherClient(t, running, { id: 'bob' });
  const bobGot: unknown[] = [];
  bob.user.bind('greeting', (data: unknown) => bobGot.push(data));

  const received = [next(ann.user, 'greeting'), next(annAgain.user, 'greeting')];
  t.equal((await pusherServer(running).sendToUser('ann', 'greeting', { hello: 'ann' })).status, 200);
  t.same(await Promise.all(received), [{ hello: 'ann' }, { hello: 'ann' }], 'both of ann’s sockets');

  // pusher-js will not name such a channel itself; sent as it would send a subscribe.
  const refusal = new Promise<{ channel: string; data: unknown }>((resolve) => bob.connection.bind('message', (event: { event: string; channel: string; data: unknown }) => event.event === 'pusher:subscription_error' && resolve(event)));
  bob.send_event('pusher:subscribe', { channel: '#server-to-user-ann', auth: '' });
  t.match(await refusal, { channel: '#server-to-user-ann', data: { type: 'NotThisUsersChannel', status: 403 } });
  const marker = next(bob.user, 'marker');
  await pusherServer(running).sendToUser('bob', 'marker', {});
  await marker;
  t.same(bobGot, [], 'bob never got ann’s event');
});

t.test('pusher:subscription_count fires with the channel’s subscriptions when the app enables it', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, subscriptionCount: true }] });
  const first = pusherClient(t, running).subscribe('room');
  const counts: number[] = [];
  first.bind('pusher:subscription_count', (data: { subscription_count: number }) => counts.push(data.subscription_count));
  const one = next<{ subscription_count: number }>(first, 'pusher:subscription_count');
  await subscribed(first);
  t.same(await one, { subscription_count: 1 });
  const second = pusherClient(t, running);
  const two = next<{ subscription_count: number }>(first, 'pusher:subscription_count');
  await subscribed(second.subscribe('room'));
  t.same(await two, { subscription_count: 2 });
  t.equal((first as unknown as { subscriptionCount: number }).subscriptionCount, 2, 'pusher-js keeps it on the channel');
  const down = next<{ subscription_count: number }>(first, 'pusher:subscription_count');
  second.disconnect();
  t.same(await down, { subscription_count: 1 });
  t.same(counts, [1, 2, 1]);
});

t.test('cache channels: a late subscriber gets the last event, an empty one pusher:cache_miss and the app a cache_miss webhook', async (t) => {
  const receiver = await startReceiver(t);
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, webhooks: [{ url: receiver.url, events: ['cache_miss'] }], webhookBatchDelayMs: 10 }] });
  const server = pusherServer(running);
  await server.trigger('cache-prices', 'tick', { price: 1 });
  await server.trigger('cache-prices', 'tick', { price: 2 });

  const late = pusherClient(t, running).subscribe('cache-prices');
  const tick = next(late, 'tick');
  await subscribed(late);
  t.same(await tick, { price: 2 }, 'the last event, right after subscribing');

  const sign = (socketId: string, channel: string) => authorizeChannel(DEMO_APP, socketId, channel);
  const empty = signingPusherClient(t, running, sign).subscribe('private-cache-orders');
  const missed = next(empty, 'pusher:cache_miss');
  await subscribed(empty);
  await missed;
  const webhook = await receiver.waitFor((event) => event.name === 'cache_miss', 'cache_miss');
  t.same(webhook, { name: 'cache_miss', channel: 'private-cache-orders' });
  t.ok(receiver.requests.every((request) => request.valid), 'signed as the pusher library checks it');
});

t.test('a watchlist sees a watched user come online and go offline', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, watchlistEvents: true }] });
  const carl = await signedInPusherClient(t, running, { id: 'carl' });
  let atSignIn: Promise<unknown> | undefined;
  const ann = await signedInPusherClient(t, running, { id: 'ann', watchlist: ['bob', 'carl'] }, (client) => {
    atSignIn = next(client.user.watchlist, 'online');
  });
  t.same(await atSignIn, { name: 'online', user_ids: ['carl'] }, 'who is online at sign-in');
  const { watchlist } = ann.user;

  const online = next(watchlist, 'online');
  const bob = await signedInPusherClient(t, running, { id: 'bob' });
  t.same(await online, { name: 'online', user_ids: ['bob'] });
  const offline = next(watchlist, 'offline');
  bob.disconnect();
  t.same(await offline, { name: 'offline', user_ids: ['bob'] });
  carl.disconnect();
  t.same(await next(watchlist, 'offline'), { name: 'offline', user_ids: ['carl'] });
});

t.test('trigger with info answers the channels’ attributes; a batch holds at most 10 events', async (t) => {
  const running = await startGateway(t);
  const sign = (socketId: string, channel: string) => authorizeChannel(DEMO_APP, socketId, channel, JSON.stringify({ user_id: 'ann' }));
  await Promise.all([subscribed(pusherClient(t, running).subscribe('room')), subscribed(signingPusherClient(t, running, sign).subscribe('presence-lobby'))]);
  const server = pusherServer(running);

  const triggered = await server.trigger(['room', 'presence-lobby'], 'e', {}, { info: 'subscription_count,user_count' });
  t.same(await triggered.json(), { channels: { room: { subscription_count: 1 }, 'presence-lobby': { subscription_count: 1, user_count: 1 } } });
  const batched = await server.triggerBatch([
    { channel: 'room', name: 'e', data: {}, info: 'subscription_count' },
    { channel: 'presence-lobby', name: 'e', data: {} },
  ]);
  t.same(await batched.json(), { batch: [{ subscription_count: 1 }, {}] });
  t.same(await (await server.trigger('room', 'e', {})).json(), {}, 'without info, {}');

  const eleven = Array.from({ length: 11 }, () => ({ channel: 'room', name: 'e', data: {} }));
  t.match(await server.triggerBatch(eleven).catch((error: unknown) => error), { status: 400, body: /11 events, over the limit of 10/ });
});
