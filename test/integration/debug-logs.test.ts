import t from 'tap';
import { createLogger } from '../../src/log.js';
import { authorizeChannel } from '../../src/protocol/channel-auth.js';
import { DEMO_APP, signedPost, startGateway } from '../helpers/gateway.js';
import { TestClient, until } from '../helpers/ws-client.js';

type Line = Record<string, unknown> & { level: string; message: string };

t.test('at debug, every connection, subscription, refusal, REST call and publication is a JSON line naming app, socket and channel', async (t) => {
  const lines: Line[] = [];
  const logger = createLogger('debug', (text) => lines.push(JSON.parse(text) as Line));
  const running = await startGateway(t, { logger });
  const { client, socketId } = await TestClient.established(running.wsUrl());
  const channel = 'private-secrets';
  client.send({ event: 'broadcastt:subscribe', data: { channel, ...authorizeChannel(DEMO_APP, socketId, channel) } });
  await client.next('broadcastt_internal:subscription_succeeded');
  client.send({ event: 'broadcastt:subscribe', data: { channel: 'private-denied', auth: `${DEMO_APP.key}:bad` } });
  await client.next('broadcastt:subscription_error');
  t.equal((await signedPost(running, `/apps/${DEMO_APP.id}/events`, { name: 'news', channel, data: '{"card":"4111 1111 1111 1111"}' })).status, 200);
  await client.next((f) => f.event === 'news');
  await client.close();
  await until(() => lines.some((line) => line.message === 'disconnected'), 'the disconnection to be logged');

  const find = (message: string) => lines.find((line) => line.message === message);
  t.match(find('connected'), { level: 'debug', appId: DEMO_APP.id, socketId });
  t.match(find('subscribed'), { appId: DEMO_APP.id, socketId, channel });
  t.match(find('refused'), { appId: DEMO_APP.id, socketId, source: 'subscribe', reason: 'AuthError', channel: 'private-denied' });
  t.match(find('publish'), { appId: DEMO_APP.id, channel });
  t.match(find('rest'), { appId: DEMO_APP.id, route: 'POST events', status: 200 });
  t.match(find('disconnected'), { appId: DEMO_APP.id, socketId, code: 1005 });
  for (const line of lines) t.match(line, { time: /^\d{4}-\d\d-\d\dT/, level: /^(debug|info)$/ }, 'JSON with an ISO time and a level name');
  const text = JSON.stringify(lines);
  t.notMatch(text, DEMO_APP.secret, 'never the secret');
  t.notMatch(text, '4111', 'never a payload');
  t.notMatch(text, /auth_signature|"auth"/, 'never a signature');
});

t.test('at info, traffic is not logged', async (t) => {
  const lines: string[] = [];
  const running = await startGateway(t, { logger: createLogger('info', (text) => lines.push(text)) });
  const { client } = await TestClient.established(running.wsUrl());
  await client.close();
  t.same(lines.filter((line) => !line.includes('"listening"')), []);
});
