import t from 'tap';
import { channelId, parseChannelId, wireChannelName } from '../../src/protocol/channel-id.js';

t.test('channelId: URL-safe base64, padded, of the compact JSON [app, name, system, consumer]', async (t) => {
  // The worked examples of research/exp-network.md §1.5 (computed there with Python and Node).
  t.equal(channelId('myorg', 'myChannel', { consumer: true }), 'WyJteW9yZyIsIm15Q2hhbm5lbCIsMCwxXQ==');
  t.equal(channelId('myorg', 'myChannel'), 'WyJteW9yZyIsIm15Q2hhbm5lbCIsMCwwXQ==');
  t.equal(channelId('myorg', 'myChannel', { system: true }), 'WyJteW9yZyIsIm15Q2hhbm5lbCIsMSwwXQ==');
  // Where the alphabets differ: the EXP SDKs would send WyJteW9yZyIsIndoYXQ/IiwwLDFd.
  t.equal(channelId('myorg', 'what?', { consumer: true }), 'WyJteW9yZyIsIndoYXQ_IiwwLDFd');
  t.equal(Buffer.from(channelId('app-id', 'café', { consumer: true }), 'base64').toString('utf8'), '["app-id","café",0,1]', 'UTF-8 inside');
});

t.test('parseChannelId accepts every base64 form and returns the channel', async (t) => {
  const expected = { appId: 'myorg', name: 'what?', system: false, consumer: true };
  for (const form of ['WyJteW9yZyIsIndoYXQ_IiwwLDFd', 'WyJteW9yZyIsIndoYXQ/IiwwLDFd']) t.same(parseChannelId(form), expected, form);
  const padded = 'WyJteW9yZyIsIm15Q2hhbm5lbCIsMCwxXQ==';
  t.same(parseChannelId(padded), { appId: 'myorg', name: 'myChannel', system: false, consumer: true });
  t.same(parseChannelId(padded.replace(/=+$/, '')), parseChannelId(padded), 'unpadded');
  t.same(parseChannelId(channelId('a', 'b', { system: true, consumer: true })), { appId: 'a', name: 'b', system: true, consumer: true });
});

t.test('parseChannelId: anything else is not a channel ID', async (t) => {
  const notIds = [
    'news',
    'private-chat',
    'Wy',
    'Wyxx',
    'W'.repeat(5),
    'WyJ!@#',
    Buffer.from('["a","b",0]').toString('base64'),
    Buffer.from('["a","b",0,1,0]').toString('base64'),
    Buffer.from('["a","b",2,0]').toString('base64'),
    Buffer.from('["a","b",true,false]').toString('base64'),
    Buffer.from('["a",7,0,0]').toString('base64'),
    Buffer.from('["a","b",0,1').toString('base64'),
    `${channelId('a', 'b', { consumer: true })}=`,
  ];
  for (const value of notIds) t.equal(parseChannelId(value), undefined, value);
});

t.test('wireChannelName: the plain name without flags, the ID with any', async (t) => {
  t.equal(wireChannelName('app', 'news'), 'news');
  t.equal(wireChannelName('app', 'news', { system: false, consumer: false }), 'news');
  t.equal(wireChannelName('app', 'news', { consumer: true }), channelId('app', 'news', { consumer: true }));
  t.equal(wireChannelName('app', 'news', { system: true }), channelId('app', 'news', { system: true }));
});
