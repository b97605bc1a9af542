import t from 'tap';
import { ChannelIndex } from '../../src/channels/channel-index.js';
import { topicOf } from '../../src/protocol/frames.js';
import { type FanOut, LoopFanOut, type Subscriber } from '../../src/channels/fan-out.js';
import { FakeConnection } from '../helpers/fake-connection.js';

/** A LoopFanOut that also records every membership change it is told about. */
class RecordingFanOut implements FanOut {
  readonly calls: Array<[string, string, Subscriber]> = [];
  private readonly loop = new LoopFanOut();

  join(topic: string, subscriber: Subscriber): void {
    this.calls.push(['join', topic, subscriber]);
    this.loop.join(topic, subscriber);
  }

  leave(topic: string, subscriber: Subscriber): void {
    this.calls.push(['leave', topic, subscriber]);
    this.loop.leave(topic, subscriber);
  }

  deliver(topic: string, members: ReadonlySet<Subscriber>, frame: string, except?: Subscriber): void {
    this.loop.deliver(topic, members, frame, except);
  }
}

const member = (): Subscriber & { connection: FakeConnection; held: Array<[string, string?, number?]> } => {
  const connection = new FakeConnection();
  const held: Array<[string, string?, number?]> = [];
  const hold = (_channel: string, frame: string, position?: { epoch: string; offset: number }) => held.push(position ? [frame, position.epoch, position.offset] : [frame]);
  return { connection, held, dialect: 'broadcastt', deliverMemberEvent: (_channel, frame) => connection.send(frame), hold };
};

/** Encoder that counts its calls and produces a channel event frame. */
function countingEncoder(channel: string) {
  const encoder = Object.assign(
    () => {
      encoder.calls++;
      return JSON.stringify({ event: 'update', channel, data: JSON.stringify({ n: encoder.calls }) });
    },
    { calls: 0 },
  );
  return encoder;
}

t.test('join reports first, joined and already', async (t) => {
  const index = new ChannelIndex(new LoopFanOut());
  const [a, b] = [member(), member()];
  t.equal(index.join('app', 'news', a), 'first');
  t.equal(index.join('app', 'news', b), 'joined');
  t.equal(index.join('app', 'news', a), 'already');
  t.equal(index.subscriberCount('app', 'news'), 2);
  t.equal(index.channelCount(), 1);
});

t.test('leave reports left, last and absent', async (t) => {
  const index = new ChannelIndex(new LoopFanOut());
  const [a, b, c] = [member(), member(), member()];
  index.join('app', 'news', a);
  index.join('app', 'news', b);
  t.equal(index.leave('app', 'news', c), 'absent', 'never a member');
  t.equal(index.leave('app', 'news', a), 'left');
  t.equal(index.leave('app', 'news', a), 'absent', 'already left');
  t.equal(index.leave('app', 'news', b), 'last');
  t.equal(index.leave('app', 'news', b), 'absent', 'channel gone');
  t.equal(index.subscriberCount('app', 'news'), 0);
  t.equal(index.channelCount(), 0, 'empty channels are dropped');
});

t.test('a channel emptied and joined again is "first" again', async (t) => {
  const index = new ChannelIndex(new LoopFanOut());
  const a = member();
  index.join('app', 'news', a);
  index.leave('app', 'news', a);
  t.equal(index.join('app', 'news', a), 'first');
});

t.test('the fan-out is told about every real membership change, and only those', async (t) => {
  const fanOut = new RecordingFanOut();
  const index = new ChannelIndex(fanOut);
  const a = member();
  index.join('app', 'news', a);
  index.join('app', 'news', a);
  index.leave('app', 'news', a);
  index.leave('app', 'news', a);
  const topic = topicOf('app', 'news');
  t.same(fanOut.calls, [
    ['join', topic, a],
    ['leave', topic, a],
  ]);
});

t.test('apps are separate: the same channel name in two apps', async (t) => {
  const index = new ChannelIndex(new LoopFanOut());
  const [a, b] = [member(), member()];
  t.equal(index.join('app-1', 'news', a), 'first');
  t.equal(index.join('app-2', 'news', b), 'first', 'first in its own app');
  t.equal(index.subscriberCount('app-1', 'news'), 1);
  t.equal(index.channelCount(), 2);

  t.equal(index.deliver('app-1', 'news', countingEncoder('news')), 1);
  t.equal(a.connection.frames().length, 1);
  t.same(b.connection.frames(), [], 'the other app does not receive it');

  t.equal(index.leave('app-2', 'news', a), 'absent', 'not a member of the other app');
  t.equal(index.leave('app-1', 'news', a), 'last');
  t.equal(index.subscriberCount('app-2', 'news'), 1);
});

t.test('deliver', async (t) => {
  t.test('encodes once however many members there are', async (t) => {
    const index = new ChannelIndex(new LoopFanOut());
    const members = [member(), member(), member()];
    for (const m of members) index.join('app', 'news', m);
    const encode = countingEncoder('news');
    t.equal(index.deliver('app', 'news', encode), 3, 'returns the member count');
    t.equal(encode.calls, 1);
    for (const m of members) t.same(m.connection.decoded(), [{ event: 'update', channel: 'news', data: { n: 1 } }]);
  });

  t.test('never encodes for a channel without members', async (t) => {
    const index = new ChannelIndex(new LoopFanOut());
    const encode = countingEncoder('news');
    t.equal(index.deliver('app', 'news', encode), 0);
    t.equal(encode.calls, 0);

    const a = member();
    index.join('app', 'news', a);
    index.leave('app', 'news', a);
    t.equal(index.deliver('app', 'news', encode), 0, 'nor for one that emptied');
    t.equal(encode.calls, 0);
  });

  t.test('skips exactly the excepted subscriber', async (t) => {
    const index = new ChannelIndex(new LoopFanOut());
    const [a, b, c] = [member(), member(), member()];
    for (const m of [a, b, c]) index.join('app', 'news', m);
    t.equal(index.deliver('app', 'news', countingEncoder('news'), b), 3, 'still reports every member');
    t.equal(a.connection.frames().length, 1);
    t.same(b.connection.frames(), []);
    t.equal(c.connection.frames().length, 1);
  });

  t.test('an excepted subscriber outside the channel changes nothing', async (t) => {
    const index = new ChannelIndex(new LoopFanOut());
    const [a, outsider] = [member(), member()];
    index.join('app', 'news', a);
    index.deliver('app', 'news', countingEncoder('news'), outsider);
    t.equal(a.connection.frames().length, 1);
    t.same(outsider.connection.frames(), []);
  });

  t.test('delivers only to the named channel', async (t) => {
    const index = new ChannelIndex(new LoopFanOut());
    const [a, b] = [member(), member()];
    index.join('app', 'news', a);
    index.join('app', 'sport', b);
    index.deliver('app', 'news', countingEncoder('news'));
    t.equal(a.connection.frames().length, 1);
    t.same(b.connection.frames(), []);
  });
});

t.test('watchers', async (t) => {
  const watcher = () => {
    const seen: string[] = [];
    return { seen, observe: (frame: string) => seen.push(frame) };
  };

  t.test('see every frame, the excepted socket\'s included, and count nowhere', async (t) => {
    const counts: Array<[string, number]> = [];
    const index = new ChannelIndex(new LoopFanOut(), (_app, channel, n) => counts.push([channel, n]));
    const [a, b] = [member(), member()];
    index.join('app', 'news', a);
    index.join('app', 'news', b);
    const w = watcher();
    index.watch('app', 'news', w);
    const encode = countingEncoder('news');
    t.equal(index.deliver('app', 'news', encode, b), 2, 'the members alone are counted');
    t.equal(encode.calls, 1, 'encoded once for members and watchers');
    t.equal(w.seen.length, 1);
    t.same(a.connection.frames(), JSON.parse(`[${w.seen[0]}]`), 'the very frame the members got');
    t.equal(index.subscriberCount('app', 'news'), 2);
    t.same([...index.channelsOf('app')], [['news', 2]]);
    t.same(counts, [['news', 1], ['news', 2]], 'the cluster store hears of members only');
  });

  t.test('see a channel that has no members, which stays unoccupied', async (t) => {
    const index = new ChannelIndex(new LoopFanOut());
    const w = watcher();
    index.watch('app', 'quiet', w);
    t.equal(index.deliver('app', 'quiet', countingEncoder('quiet')), 0);
    t.equal(w.seen.length, 1);
    t.equal(index.channelCount(), 0);
    t.same([...index.channelsOf('app')], []);
    t.same([...index.counts()], []);
  });

  t.test('alone get what tellWatchers sends, and nothing once they unwatch', async (t) => {
    const index = new ChannelIndex(new LoopFanOut());
    const a = member();
    index.join('app', 'news', a);
    const [w, other] = [watcher(), watcher()];
    index.watch('app', 'news', w);
    index.watch('app', 'sport', other);
    const encode = countingEncoder('news');
    index.tellWatchers('app', 'news', encode);
    t.equal(w.seen.length, 1);
    t.same(a.connection.frames(), [], 'members are not told');
    t.same(other.seen, [], 'nor watchers of another channel');
    index.unwatch('app', 'news', w);
    index.tellWatchers('app', 'news', encode);
    index.deliver('app', 'news', encode);
    t.equal(w.seen.length, 1, 'nothing more');
    t.equal(encode.calls, 2, 'tellWatchers does not encode for nobody');
  });
});

t.test('a member that joins held is counted at once but keeps publications (hold) until it is attached', async (t) => {
  const fanOut = new RecordingFanOut();
  const index = new ChannelIndex(fanOut);
  const [live, held] = [member(), member()];
  index.join('app', 'chat-1', live);
  t.equal(index.join('app', 'chat-1', held, true), 'joined');
  t.equal(index.subscriberCount('app', 'chat-1'), 2, 'both are members');
  t.same(
    fanOut.calls.map(([call, , who]) => [call, who === held]),
    [['join', false]],
    'the fan-out hears of the held one only when it is attached',
  );
  index.deliverStored('app', 'chat-1', '{"n":1,"offset":1}', 'e1', 1);
  index.deliver('app', 'chat-1', () => '{"plain":true}');
  t.same(live.connection.sent, ['{"n":1,"offset":1}', '{"plain":true}']);
  t.same(held.connection.sent, [], 'nothing reaches the held socket');
  t.same(held.held, [['{"n":1,"offset":1}', 'e1', 1], ['{"plain":true}']], 'but it holds the publications, a stored one with its position');
  index.attach('app', 'chat-1', held);
  index.deliverStored('app', 'chat-1', '{"n":2,"offset":2}', 'e1', 2);
  t.same(held.connection.sent, ['{"n":2,"offset":2}'], 'attached: frames come from the fan-out');
  t.equal(held.held.length, 2, 'and are no longer held');

  const leaver = member();
  index.join('app', 'chat-1', leaver, true);
  fanOut.calls.length = 0;
  t.equal(index.leave('app', 'chat-1', leaver), 'left');
  t.same(fanOut.calls, [], 'a held member leaves without the fan-out, which never had it');
  index.attach('app', 'chat-1', leaver);
  t.same(fanOut.calls, [], 'nor is one that left attached');
});
