import t from 'tap';
import { ProtocolError, WsErrors } from '../../src/errors.js';
import { asJsonText, decodeClientFrame, encodeFrame, errorData } from '../../src/protocol/codec.js';

t.test('decodeClientFrame', async (t) => {
  t.test('decodes every client frame kind in both dialects', async (t) => {
    for (const prefix of ['broadcastt', 'pusher']) {
      t.same(decodeClientFrame(JSON.stringify({ event: `${prefix}:subscribe`, data: { channel: 'a' } })), {
        kind: 'subscribe',
        data: { channel: 'a' },
      });
      t.same(decodeClientFrame(JSON.stringify({ event: `${prefix}:unsubscribe`, data: { channel: 'a' } })), {
        kind: 'unsubscribe',
        data: { channel: 'a' },
      });
      t.same(decodeClientFrame(JSON.stringify({ event: `${prefix}:ping`, data: {} })), { kind: 'ping' });
      t.same(decodeClientFrame(JSON.stringify({ event: `${prefix}:pong` })), { kind: 'pong' });
    }
  });

  t.test('accepts subscribe data as a string holding JSON', async (t) => {
    const frame = decodeClientFrame(
      JSON.stringify({ event: 'pusher:subscribe', data: JSON.stringify({ channel: 'a', auth: 'k:s', channel_data: '{}' }) }),
    );
    t.same(frame, { kind: 'subscribe', data: { channel: 'a', auth: 'k:s', channel_data: '{}' } });
  });

  t.test('keeps unknown fields of subscribe data (additionalProperties)', async (t) => {
    t.match(decodeClientFrame(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'a', extra: 1 } })), {
      kind: 'subscribe',
      data: { channel: 'a' },
    });
  });

  t.test('decodes client events with their channel and data', async (t) => {
    t.same(decodeClientFrame(JSON.stringify({ event: 'client-typing', channel: 'chat', data: { who: 'me' } })), {
      kind: 'client-event',
      event: 'client-typing',
      channel: 'chat',
      data: { who: 'me' },
    });
  });

  t.test('throws ProtocolErrors with catalogue codes', async (t) => {
    const cases: Array<[string, number, RegExp]> = [
      ['', WsErrors.InvalidMessage.code, /not valid JSON/],
      ['42', WsErrors.InvalidMessage.code, /must be a JSON object/],
      ['{}', WsErrors.InvalidMessage.code, /"event"/],
      ['{"event":"pusher:nope"}', WsErrors.UnknownEvent.code, /"pusher:nope"/],
      ['{"event":"pusher:subscribe","data":"{"}', WsErrors.InvalidMessage.code, /data is a string but not valid JSON/],
      ['{"event":"pusher:subscribe","data":{"channel":""}}', WsErrors.InvalidChannel.code, /data\.channel must be one or more of/],
      ['{"event":"client-x","channel":"a b"}', WsErrors.InvalidMessage.code, /frame\.channel must be one or more of letters/],
      [JSON.stringify({ event: `client-${'x'.repeat(200)}`, channel: 'a' }), WsErrors.InvalidMessage.code, /frame\.event/],
    ];
    for (const [text, code, message] of cases) {
      t.throws(() => decodeClientFrame(text), { name: 'ProtocolError', code, fatal: false, message }, JSON.stringify(text));
    }
  });

  t.test('quotes at most 100 characters of an unknown event name', async (t) => {
    const event = `pusher:${'x'.repeat(500)}`;
    try {
      decodeClientFrame(JSON.stringify({ event }));
      t.fail('should throw');
    } catch (error) {
      t.type(error, ProtocolError);
      t.ok((error as Error).message.length < 200, 'message stays short');
    }
  });
});

t.test('encodeFrame', async (t) => {
  t.test('omits channel on channel-less frames and defaults data to "{}"', async (t) => {
    t.same(JSON.parse(encodeFrame('pusher:pong')), { event: 'pusher:pong', data: '{}' });
  });

  t.test('includes the channel and keeps data as the given JSON text', async (t) => {
    const frame = JSON.parse(encodeFrame('update', '{"n":1}', 'news')) as { data: string };
    t.same(frame, { event: 'update', channel: 'news', data: '{"n":1}' });
    t.same(JSON.parse(frame.data), { n: 1 });
  });
});

t.test('errorData carries code and the full message', async (t) => {
  const error = new ProtocolError('TooManyChannels', 'at most 2');
  t.same(JSON.parse(errorData(error)), { code: WsErrors.TooManyChannels.code, message: `${WsErrors.TooManyChannels.message}: at most 2` });
});

t.test('asJsonText', async (t) => {
  t.test('keeps JSON text verbatim', async (t) => {
    for (const text of ['{"a":1}', '{ "spaced" : true }', '[1,2]', '42', '"quoted"', 'null', 'true']) {
      t.equal(asJsonText(text), text, text);
    }
  });

  t.test('turns other strings into a JSON string of themselves', async (t) => {
    for (const text of ['hello', '', '{broken', 'undefined', "it's"]) {
      const delivered = asJsonText(text);
      t.equal(JSON.parse(delivered), text, JSON.stringify(text));
    }
  });
});
