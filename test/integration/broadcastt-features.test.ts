import type { Test } from 'tap';
import t from 'tap';
import { authenticateUser } from '../../src/protocol/channel-auth.js';
import { DEMO_APP, type Running, signedGet, signedPost, startGateway } from '../helpers/gateway.js';
import { TestClient } from '../helpers/ws-client.js';

/**
 * User channels, subscription counts, cache channels, watchlists and trigger info over plain ws in the broadcastt
 * dialect (the released client's /apps path), published over the broadcastt REST path POST /event.
 */
async function connect(t: Test, running: Running) {
  const { client, socketId } = await TestClient.established(running.wsUrl(`/apps/${DEMO_APP.key}`));
  t.teardown(() => client.close());
  return { client, socketId };
}

async function signedIn(t: Test, running: Running, user: { id: string; watchlist?: string[] }) {
  const connected = await connect(t, running);
  connected.client.send({ event: 'broadcastt:signin', data: authenticateUser(DEMO_APP, connected.socketId, user) });
  await connected.client.next('broadcastt:signin_success');
  return connected;
}

async function subscribe(client: TestClient, channel: string) {
  client.send({ event: 'broadcastt:subscribe', data: { channel } });
  return client.next((f) => f.channel === channel && /:subscription_(succeeded|error)$/.test(f.event));
}

const publish = (running: Running, body: Record<string, unknown>) => signedPost(running, `/apps/${DEMO_APP.id}/event`, { name: 'e', data: '{}', ...body });

t.test('broadcastt dialect: a user channel is its user’s only, and REST publishes on it', async (t) => {
  const running = await startGateway(t);
  const ann = await signedIn(t, running, { id: 'auth0|ann' });
  const bob = await signedIn(t, running, { id: 'bob' });
  t.same(await subscribe(ann.client, '#server-to-user-auth0|ann'), { event: 'broadcastt_internal:subscription_succeeded', channel: '#server-to-user-auth0|ann', data: {} });
  t.match(await subscribe(bob.client, '#server-to-user-auth0|ann'), { event: 'broadcastt:subscription_error', data: { type: 'NotThisUsersChannel', status: 403 } });
  const stranger = await connect(t, running);
  t.match(await subscribe(stranger.client, '#server-to-user-bob'), { data: { type: 'NotThisUsersChannel', error: /not signed in/ } });

  t.same(await publish(running, { name: 'notice', channels: ['#server-to-user-auth0|ann'], data: '{"n":1}' }), { status: 200, body: {} });
  t.same(await ann.client.next('notice'), { event: 'notice', channel: '#server-to-user-auth0|ann', data: { n: 1 } });
  const path = `/apps/${DEMO_APP.id}/channels/${encodeURIComponent('#server-to-user-auth0|ann')}`;
  t.same((await signedGet(running, path, { info: 'subscription_count' })).body, { occupied: true, subscription_count: 1 }, 'queried with its # percent-encoded');
});

t.test('broadcastt dialect: subscription counts, cache channels and trigger info', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, subscriptionCount: true }] });
  const first = await connect(t, running);
  await subscribe(first.client, 'cache-room');
  t.same(await first.client.next('broadcastt:cache_miss'), { event: 'broadcastt:cache_miss', channel: 'cache-room', data: {} });
  t.same((await first.client.next('broadcastt_internal:subscription_count')).data, { subscription_count: 1 });

  t.same(await publish(running, { name: 'state', channels: ['cache-room'], data: '{"v":1}', info: 'subscription_count' }), { status: 200, body: { channels: { 'cache-room': { subscription_count: 1 } } } });
  const second = await connect(t, running);
  await subscribe(second.client, 'cache-room');
  t.same(await second.client.next('state'), { event: 'state', channel: 'cache-room', data: { v: 1 } }, 'the cached event');
  t.same((await first.client.next('broadcastt_internal:subscription_count')).data, { subscription_count: 2 });
  t.same((await second.client.next('broadcastt_internal:subscription_count')).data, { subscription_count: 2 });
});

t.test('broadcastt dialect: a watchlist sees watched users online at sign-in, then online and offline', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, watchlistEvents: true }] });
  const carl = await signedIn(t, running, { id: 'carl' });
  const ann = await signedIn(t, running, { id: 'ann', watchlist: ['bob', 'carl'] });
  t.same((await ann.client.next('broadcastt_internal:watchlist_events')).data, { events: [{ name: 'online', user_ids: ['carl'] }] });
  const bob = await signedIn(t, running, { id: 'bob' });
  t.same((await ann.client.next('broadcastt_internal:watchlist_events')).data, { events: [{ name: 'online', user_ids: ['bob'] }] });
  await bob.client.close();
  await carl.client.close();
  t.same((await ann.client.next('broadcastt_internal:watchlist_events')).data, { events: [{ name: 'offline', user_ids: ['bob'] }] });
  t.same((await ann.client.next('broadcastt_internal:watchlist_events')).data, { events: [{ name: 'offline', user_ids: ['carl'] }] });
});

t.test('subscription counts above the threshold go out at most once per interval, and the last count always follows', async (t) => {
  const [threshold, intervalMs] = [2, 600];
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, subscriptionCount: true, subscriptionCountThreshold: threshold, subscriptionCountIntervalMs: intervalMs }] });
  const watcher = await connect(t, running);
  await subscribe(watcher.client, 'crowd');
  const heard: Array<{ count: number; atMs: number }> = [];
  const hear = async (until: number) => {
    while (heard.at(-1)?.count !== until) {
      const frame = await watcher.client.next('broadcastt_internal:subscription_count');
      heard.push({ count: frame.data.subscription_count as number, atMs: Date.now() });
    }
  };
  await hear(1);
  const others = await Promise.all(Array.from({ length: 5 }, () => connect(t, running)));
  for (const other of others) await subscribe(other.client, 'crowd');
  await hear(6);
  await others[0]?.client.close();
  await hear(5);
  t.ok(heard.length < 7, `fewer counts (${heard.map((h) => h.count).join(', ')}) than the 7 changes`);
  heard.forEach((h, i) => {
    const before = heard[i - 1];
    if (before && before.count > threshold) t.ok(h.atMs - before.atMs >= intervalMs - 50, `${before.count} → ${h.count} after ${h.atMs - before.atMs} ms`);
  });
});
