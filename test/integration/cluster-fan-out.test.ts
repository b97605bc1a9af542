import { nanoid } from 'nanoid';
import t from 'tap';
import { WsErrors } from '../../src/errors.js';
import { signRequestQuery } from '../../src/http/request-signature.js';
import { authenticateUser } from '../../src/protocol/channel-auth.js';
import { runCli, waitFor } from '../helpers/cli.js';
import { DEMO_APP, httpRequest } from '../helpers/gateway.js';
import { TestClient } from '../helpers/ws-client.js';

/** Redis runs on this machine (and .ci/run makes sure of it). */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

t.test('three gateway processes on one Redis: publishes reach every node once; broadcast responses find their broadcaster', async (t) => {
  const prefix = `test-${nanoid(8)}`; // this test's own deployment on the shared Redis
  const ports: string[] = [];
  for (let i = 0; i < 3; i++) {
    const node = runCli(['--port', '0', '--host', '127.0.0.1', '--redis', REDIS_URL, '--redis-prefix', prefix, '--log-level', 'warn']);
    t.teardown(() => node.kill('SIGKILL'));
    ports.push((await waitFor(node.stdout, /listening on 127\.0\.0\.1:(\d+)/))[1] as string);
  }
  const [one, two, three] = ports as [string, string, string];
  const connect = async (port: string) => {
    const { client, socketId } = await TestClient.established(`ws://127.0.0.1:${port}/app/${DEMO_APP.key}`);
    t.teardown(() => client.close());
    client.send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
    await client.next('broadcastt_internal:subscription_succeeded');
    return { client, socketId };
  };
  const atOne = await connect(one);
  const atThree = await connect(three);
  const publish = (port: string, body: Record<string, unknown>) => {
    const path = `/apps/${DEMO_APP.id}/events`;
    const text = JSON.stringify(body);
    return httpRequest(`http://127.0.0.1:${port}${path}?${signRequestQuery(DEMO_APP, 'POST', path, text)}`, 'POST', text);
  };

  t.equal((await publish(two, { name: 'headline', channel: 'news', data: '{"n":1}' })).status, 200);
  for (const { client } of [atOne, atThree]) t.same((await client.next('headline')).data, { n: 1 }, 'a publish on node 2 reaches nodes 1 and 3');

  await publish(three, { name: 'headline', channel: 'news', data: '{"n":2}', socket_id: atOne.socketId });
  t.same((await atThree.client.next('headline')).data, { n: 2 });
  atThree.client.send({ event: 'broadcastt:broadcast', data: { request_id: 'q', channel: 'news', name: 'who', timeout: 1500 } });
  const asked = await atOne.client.next('who');
  t.match(asked, { channel: 'news', id: /./ }, 'a WebSocket broadcast on node 3 reaches node 1');
  atOne.client.send({ event: 'broadcastt:response', data: { id: asked.id, channel: 'news', payload: 'from node 1' } });
  const rest = JSON.stringify({ id: asked.id, channel: 'news', payload: 'from node 2 over REST' });
  const responsesPath = `/apps/${DEMO_APP.id}/responses`;
  await httpRequest(`http://127.0.0.1:${two}${responsesPath}?${signRequestQuery(DEMO_APP, 'POST', responsesPath, rest)}`, 'POST', rest);
  const answer = await atThree.client.next((f) => f.event === 'broadcastt:broadcast_responses');
  t.same([...answer.data.responses].sort(), ['from node 1', 'from node 2 over REST'], 'responses on other nodes reach the broadcaster’s node');
  t.notOk(atOne.client.received.some((f) => f.event === 'headline' && f.data.n === 2), 'socket_id excluded node 1’s socket');

  // A user signed in on node 1 is disconnected by terminate_connections sent to node 2.
  const userData = JSON.stringify({ id: 'ann' });
  atOne.client.send({ event: 'broadcastt:signin', data: { ...authenticateUser(DEMO_APP, atOne.socketId, userData) } });
  await atOne.client.next('broadcastt:signin_success');
  const terminatePath = `/apps/${DEMO_APP.id}/users/ann/terminate_connections`;
  await httpRequest(`http://127.0.0.1:${two}${terminatePath}?${signRequestQuery(DEMO_APP, 'POST', terminatePath, '{}')}`, 'POST', '{}');
  t.equal((await atOne.client.closed).code, WsErrors.Unauthorized.code, 'terminate_connections reaches the user’s node');
  t.equal(atOne.client.received.filter((f) => f.event === 'headline').length, 1, 'each publish arrived once');
});
