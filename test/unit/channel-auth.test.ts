import t from 'tap';
import { authorizeChannel, isChannelAuthValid } from '../../src/protocol/channel-auth.js';

const app = { key: 'testkey', secret: 'testsecret' };

/** Vectors from the broadcastt PHP library's unit tests (research/broadcastt-protocol.md §2.4). */
t.test('signatures match the broadcastt PHP library vectors', async (t) => {
  t.same(authorizeChannel(app, '1.1', 'test-channel'), {
    auth: 'testkey:67b492396edbe136bed8a131fd3c5ba7c28316a0a93c083973ecf69ceb2b474b',
  });
  t.equal(
    authorizeChannel(app, '98765.12345678', '-azAZ9_=@,.;').auth,
    'testkey:de12ed26697ecc190d34faaaf4af9090aac64eef5ace17096a757407a167cddf',
  );
  t.same(authorizeChannel(app, '1.1', 'test-channel', '{"user_id":"id"}'), {
    auth: 'testkey:0fe707aa1078ae440c69cb38922998d561b90c321e9b96db48cde808022679c7',
    channel_data: '{"user_id":"id"}',
  });
});

t.test('verification accepts exactly what authorizeChannel issued', async (t) => {
  const { auth } = authorizeChannel(app, '1.1', 'private-a');
  t.ok(isChannelAuthValid(app, '1.1', 'private-a', auth));
  t.notOk(isChannelAuthValid(app, '1.1', 'private-a', undefined), 'missing');
  t.notOk(isChannelAuthValid(app, '1.1', 'private-a', `${auth}0`), 'trailing digit');
  t.notOk(isChannelAuthValid(app, '1.1', 'private-a', auth.replace('testkey', 'otherkey')), 'other key');
  t.notOk(isChannelAuthValid(app, '1.2', 'private-a', auth), 'other socket');
  t.notOk(isChannelAuthValid(app, '1.1', 'private-b', auth), 'other channel');
  const withData = authorizeChannel(app, '1.1', 'private-a', '{"user_id":1}');
  t.ok(isChannelAuthValid(app, '1.1', 'private-a', withData.auth, '{"user_id":1}'));
  t.notOk(isChannelAuthValid(app, '1.1', 'private-a', withData.auth, '{"user_id": 1}'), 'channel_data is compared as the exact string');
});
