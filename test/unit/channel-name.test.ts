import t from 'tap';
import { WsErrors } from '../../src/errors.js';
import { channelId } from '../../src/protocol/channel-id.js';
import { type ChannelType, checkChannelName, classifyChannel, resolveChannel } from '../../src/protocol/channel-name.js';

t.test('classifyChannel goes by prefix, dash included', async (t) => {
  const table: Array<[string, ChannelType]> = [
    ['news', 'public'],
    ['private-x', 'private'],
    ['privatex', 'public'],
    ['private', 'public'],
    ['private-encrypted-x', 'private-encrypted'],
    ['private-encryptedx', 'private'],
    ['presence-x', 'presence'],
    ['presencex', 'public'],
    ['public-private-x', 'public'],
    ['Private-x', 'public'],
  ];
  for (const [name, type] of table) t.equal(classifyChannel(name), type, name);
});

t.test('checkChannelName', async (t) => {
  t.test('accepts letters, digits and - _ = @ , . ;', async (t) => {
    for (const name of ['a', 'News', 'room-42', 'a_b', 'k=v', 'user@host', 'a,b', 'v1.2', 'x;y', '-_=@,.;', '0']) {
      t.doesNotThrow(() => checkChannelName(name, 164), name);
    }
  });

  t.test('refuses every other character with InvalidChannel', async (t) => {
    for (const name of ['', 'a b', 'a:b', 'a/b', '#x', 'a*', 'é', 'a\nb', 'tab\t', '日本', 'a+b', 'a?b']) {
      t.throws(
        () => checkChannelName(name, 164),
        { name: 'ProtocolError', code: WsErrors.InvalidChannel.code, fatal: false, message: /must be one or more of letters, digits/ },
        JSON.stringify(name),
      );
    }
  });

  t.test('accepts names up to the limit and refuses longer ones, naming both lengths', async (t) => {
    t.doesNotThrow(() => checkChannelName('x'.repeat(164), 164));
    t.throws(() => checkChannelName('x'.repeat(165), 164), {
      code: WsErrors.InvalidChannel.code,
      message: /165 characters, over the limit of 164/,
    });
    t.throws(() => checkChannelName('abcd', 3), { message: /over the limit of 3/ });
  });

  t.test('quotes only the start of an over-long name', async (t) => {
    try {
      checkChannelName('y'.repeat(5000), 164);
      t.fail('should throw');
    } catch (error) {
      t.ok((error as Error).message.length < 200);
    }
  });
});

t.test('resolveChannel (D8)', async (t) => {
  const app = { id: 'app-id', maxChannelNameLength: 20 };
  const invalid = { name: 'ProtocolError', code: WsErrors.InvalidChannel.code, fatal: false };

  t.test('a plain name is a flag-free channel named by itself', async (t) => {
    t.same(resolveChannel('private-x', app), { wire: 'private-x', name: 'private-x', system: false, consumer: false, type: 'private' });
    t.throws(() => resolveChannel('a b', app), invalid);
  });

  t.test('an ID, a standard or unpadded ID and name + flags all resolve to the canonical ID', async (t) => {
    const id = channelId('app-id', 'lobby???', { consumer: true });
    t.match(id, /[-_]/, 'the example name makes the alphabets differ');
    t.match(id, /=$/, 'and needs padding');
    const standard = id.replace(/-/g, '+').replace(/_/g, '/');
    const expected = { wire: id, name: 'lobby???', system: false, consumer: true, type: 'public' };
    for (const ref of [id, standard, id.replace(/=+$/, ''), standard.replace(/=+$/, ''), { name: 'lobby???', consumer: true }]) {
      t.same(resolveChannel(ref, app), expected, JSON.stringify(ref));
    }
  });

  t.test('the ID of a flag-free channel resolves to its plain name', async (t) => {
    t.same(resolveChannel(channelId('app-id', 'news'), app), { wire: 'news', name: 'news', system: false, consumer: false, type: 'public' });
    t.same(resolveChannel({ name: 'news', system: false }, app).wire, 'news');
    t.throws(() => resolveChannel(channelId('app-id', 'a b'), app), invalid, 'a flag-free channel still needs a plain name');
  });

  t.test('the type comes from the name inside the ID', async (t) => {
    t.equal(resolveChannel({ name: 'presence-room', system: true }, app).type, 'presence');
    t.equal(resolveChannel(channelId('app-id', 'private-encrypted-x', { consumer: true }), app).type, 'private-encrypted');
  });

  t.test('flagged names may hold any text but control characters, within the length limit', async (t) => {
    t.equal(resolveChannel({ name: 'data:key:group é', consumer: true }, app).name, 'data:key:group é');
    for (const name of ['', 'a\nb', 'tab\t', '\u0085']) t.throws(() => resolveChannel({ name, consumer: true }, app), invalid, JSON.stringify(name));
    t.throws(() => resolveChannel({ name: 'x'.repeat(21), consumer: true }, app), { ...invalid, message: /over the limit of 20/ });
    t.throws(() => resolveChannel(channelId('app-id', 'x'.repeat(21), { consumer: true }), app), { message: /over the limit of 20/ });
  });

  t.test("another app's ID is refused", async (t) => {
    t.throws(() => resolveChannel(channelId('other-app', 'lobby', { consumer: true }), app), { ...invalid, message: /another app/ });
  });
});
