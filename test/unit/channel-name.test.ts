import t from 'tap';
import { WsErrors } from '../../src/errors.js';
import { type ChannelType, checkChannelName, classifyChannel } from '../../src/protocol/channel-name.js';

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
