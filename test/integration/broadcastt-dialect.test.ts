import t from 'tap';
import { WsErrors } from '../../src/errors.js';
import { authenticateUser, authorizeChannel } from '../../src/protocol/channel-auth.js';
import { DEMO_APP, signedPost, startGateway } from '../helpers/gateway.js';
import { TestClient } from '../helpers/ws-client.js';

/** Presence, client events and sign-in over plain ws in the broadcastt dialect (the released client's /apps path). */
t.test('broadcastt dialect: presence members, client events with user_id, sign-in and termination', async (t) => {
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, clientEvents: true }] });
  const channel = 'presence-room';
  const join = async (userId: number) => {
    const { client, socketId } = await TestClient.established(running.wsUrl(`/apps/${DEMO_APP.key}`));
    t.teardown(() => client.close());
    const channelData = JSON.stringify({ user_id: userId, user_info: { n: userId } });
    client.send({ event: 'broadcastt:subscribe', data: { channel, ...authorizeChannel(DEMO_APP, socketId, channel, channelData) } });
    const ok = await client.next('broadcastt_internal:subscription_succeeded');
    return { client, socketId, presence: ok.data.presence as { ids: string[]; hash: Record<string, unknown>; count: number } };
  };

  const one = await join(1);
  t.same(one.presence, { ids: ['1'], hash: { 1: { n: 1 } }, count: 1 });
  const two = await join(2);
  t.same(two.presence.ids.sort(), ['1', '2']);
  t.same((await one.client.next('broadcastt_internal:member_added')).data, { user_id: '2', user_info: { n: 2 } });

  two.client.send({ event: 'client-wave', channel, data: { hi: true } });
  t.same(await one.client.next('client-wave'), { event: 'client-wave', channel, data: { hi: true }, user_id: '2' });

  two.client.send({ event: 'broadcastt:signin', data: authenticateUser(DEMO_APP, two.socketId, { id: 'user-2' }) });
  t.same((await two.client.next('broadcastt:signin_success')).data, { user_data: '{"id":"user-2"}' });
  t.same(await signedPost(running, `/apps/${DEMO_APP.id}/users/user-2/terminate_connections`, {}), { status: 200, body: {} });
  t.equal((await two.client.next('broadcastt:error')).data.code, WsErrors.Unauthorized.code);
  t.equal((await two.client.closed).code, WsErrors.Unauthorized.code);
  t.same((await one.client.next('broadcastt_internal:member_removed')).data, { user_id: '2' }, 'the last socket of user 2 left');
});
