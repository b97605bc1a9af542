import t from 'tap';
import { WsErrors } from '../../src/errors.js';
import { authenticateUser } from '../../src/protocol/channel-auth.js';
import { type GatewayProcess, startNodes } from '../helpers/cluster.js';
import { DEMO_APP, signedPost } from '../helpers/gateway.js';
import { TestClient } from '../helpers/ws-client.js';

t.test('three gateway processes on one Redis: publishes reach every node once; broadcast responses find their broadcaster', async (t) => {
  const [one, two, three] = (await startNodes(t, 3)) as [GatewayProcess, GatewayProcess, GatewayProcess];
  const connect = async (node: GatewayProcess) => {
    const { client, socketId } = await TestClient.established(node.wsUrl());
    t.teardown(() => client.close());
    client.send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
    await client.next('broadcastt_internal:subscription_succeeded');
    return { client, socketId };
  };
  const atOne = await connect(one);
  const atThree = await connect(three);
  const publish = (node: GatewayProcess, body: Record<string, unknown>) => signedPost(node, `/apps/${DEMO_APP.id}/events`, body);

  t.equal((await publish(two, { name: 'headline', channel: 'news', data: '{"n":1}' })).status, 200);
  for (const { client } of [atOne, atThree]) t.same((await client.next('headline')).data, { n: 1 }, 'a publish on node 2 reaches nodes 1 and 3');

  await publish(three, { name: 'headline', channel: 'news', data: '{"n":2}', socket_id: atOne.socketId });
  t.same((await atThree.client.next('headline')).data, { n: 2 });
  atThree.client.send({ event: 'broadcastt:broadcast', data: { request_id: 'q', channel: 'news', name: 'who', timeout: 1500 } });
  const asked = await atOne.client.next('who');
  t.match(asked, { channel: 'news', id: /./ }, 'a WebSocket broadcast on node 3 reaches node 1');
  atOne.client.send({ event: 'broadcastt:response', data: { id: asked.id, channel: 'news', payload: 'from node 1' } });
  await signedPost(two, `/apps/${DEMO_APP.id}/responses`, { id: asked.id, channel: 'news', payload: 'from node 2 over REST' });
  const answer = await atThree.client.next((f) => f.event === 'broadcastt:broadcast_responses');
  t.same([...(answer.data.responses as string[])].sort(), ['from node 1', 'from node 2 over REST'], 'responses on other nodes reach the broadcaster’s node');
  t.notOk(atOne.client.received.some((f) => f.event === 'headline' && f.data.n === 2), 'socket_id excluded node 1’s socket');

  // A user signed in on node 1 is disconnected by terminate_connections sent to node 2.
  const userData = JSON.stringify({ id: 'ann' });
  atOne.client.send({ event: 'broadcastt:signin', data: { ...authenticateUser(DEMO_APP, atOne.socketId, userData) } });
  await atOne.client.next('broadcastt:signin_success');
  await signedPost(two, `/apps/${DEMO_APP.id}/users/ann/terminate_connections`, {});
  t.equal((await atOne.client.closed).code, WsErrors.Unauthorized.code, 'terminate_connections reaches the user’s node');
  t.equal(atOne.client.received.filter((f) => f.event === 'headline').length, 1, 'each publish arrived once');
});
