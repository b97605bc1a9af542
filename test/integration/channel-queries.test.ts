import t from 'tap';
import { HttpErrors } from '../../src/errors.js';
import { DEMO_APP, signedGet, startGateway, subscribedClient } from '../helpers/gateway.js';
import { pusherServer } from '../helpers/pusher.js';

t.test('channel queries through the pusher server library and the broadcastt /channel path', async (t) => {
  const running = await startGateway(t);
  const join = (channel: string, userId?: string) => subscribedClient(t, running, channel, userId);
  await join('news');
  await join('news');
  await join('presence-lobby', 'ann');
  await join('presence-lobby', 'ann');
  await join('presence-lobby', 'bob');

  const pusher = pusherServer(running);
  const get = async (path: string, params: Record<string, string> = {}) => (await pusher.get({ path, params })).json();

  t.same(await get('/channels'), { channels: { news: {}, 'presence-lobby': {} } }, 'occupied channels');
  t.same(await get('/channels', { filter_by_prefix: 'presence-', info: 'user_count' }), { channels: { 'presence-lobby': { user_count: 2 } } });
  t.same(await get('/channels/news', { info: 'subscription_count' }), { occupied: true, subscription_count: 2 });
  t.same(await get('/channels/presence-lobby', { info: 'user_count,subscription_count' }), { occupied: true, user_count: 2, subscription_count: 3 });
  t.same(await get('/channels/empty'), { occupied: false });
  const users = (await get('/channels/presence-lobby/users')) as { users: Array<{ id: string }> };
  t.same(users.users.map((u) => u.id).sort(), ['ann', 'bob']);

  t.same(await signedGet(running, `/apps/${DEMO_APP.id}/channel/news`, { info: 'subscription_count' }), {
    status: 200,
    body: { occupied: true, subscription_count: 2 },
  }, 'broadcastt singular /channel path');

  const refusals: Array<[string, Record<string, string>, RegExp]> = [
    ['/channels', { info: 'user_count' }, /filter_by_prefix=presence-/],
    ['/channels/news', { info: 'user_count' }, /only for presence channels/],
    ['/channels/news', { info: 'members' }, /unknown attribute "members"/],
    ['/channels/news/users', {}, /only listed for presence channels/],
  ];
  for (const [path, params, message] of refusals) {
    const answer = await signedGet(running, `/apps/${DEMO_APP.id}${path}`, params);
    t.equal(answer.status, HttpErrors.BadRequest.status, `${path} ${JSON.stringify(params)}`);
    t.match(answer.body.error, message);
  }
});
