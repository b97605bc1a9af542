import t from 'tap';
import { StreamContinuity } from '../../src/channels/stream-continuity.js';

t.test('a publication follows the last one of its channel: the next offset, a first one, or a new epoch', async (t) => {
  const continuity = new StreamContinuity();
  t.ok(continuity.follows('app', 'chat-1', { epoch: 'a', offset: 7 }), 'the first one seen here');
  t.ok(continuity.follows('app', 'chat-1', { epoch: 'a', offset: 8 }));
  t.notOk(continuity.follows('app', 'chat-1', { epoch: 'a', offset: 10 }), '9 was missed');
  t.ok(continuity.follows('app', 'chat-1', { epoch: 'a', offset: 11 }), 'and remembered from there');
  t.ok(continuity.follows('app', 'chat-1', { epoch: 'b', offset: 1 }), 'a new life of the stream');
  t.ok(continuity.follows('app', 'chat-2', { epoch: 'a', offset: 40 }), 'channels apart');
  t.ok(continuity.follows('other', 'chat-1', { epoch: 'b', offset: 9 }), 'apps apart');
  continuity.forget('app', 'chat-1');
  t.ok(continuity.follows('app', 'chat-1', { epoch: 'b', offset: 5 }), 'forgotten with its last member');
  t.equal(continuity.size, 3);
});
