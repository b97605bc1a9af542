import t from 'tap';
import { WsErrors } from '../../src/errors.js';
import { authenticateUser } from '../../src/protocol/channel-auth.js';
import { makeSession } from '../helpers/fake-connection.js';

t.test('user sign-in: signin_success for a valid signature; 4009 and close otherwise', async (t) => {
  for (const dialect of ['broadcastt', 'pusher'] as const) {
    const ok = makeSession({ socketId: '1.1', dialect });
    const userData = '{"id":"42","name":"Ann"}';
    ok.send({ event: `${dialect}:signin`, data: authenticateUser(ok.app, '1.1', userData) });
    t.same(ok.connection.last(), { event: `${dialect}:signin_success`, data: { user_data: userData } });
    t.same(ok.node.sessions.ofUser(ok.app, '42'), [ok.session], 'the socket is known as the user');
  }
  const cases: Array<[string, (app: { key: string; secret: string }) => unknown]> = [
    ['wrong secret', (app) => authenticateUser({ key: app.key, secret: 'wrong-secret' }, '1.1', { id: '1' })],
    ['another socket', (app) => authenticateUser(app, '1.2', { id: '1' })],
    ['no id', (app) => authenticateUser(app, '1.1', '{"name":"x"}')],
    ['id not a string', (app) => authenticateUser(app, '1.1', '{"id":7}')],
  ];
  for (const [label, sign] of cases) {
    const s = makeSession({ socketId: '1.1' });
    s.send({ event: 'broadcastt:signin', data: sign(s.app) });
    t.match(s.connection.last(), { event: 'broadcastt:error', data: { code: WsErrors.Unauthorized.code } }, label);
    t.equal(s.connection.closed?.code, WsErrors.Unauthorized.code, `${label}: closed with 4009`);
    t.same(s.node.sessions.ofUser(s.app, '1'), [], `${label}: not signed in`);
  }
});
