import t from 'tap';
import { HttpErrors } from '../../src/errors.js';
import { type OutgoingEvent, parseBatch, parseEvents, parseTrigger } from '../../src/http/events-endpoint.js';
import { testApp } from '../helpers/fake-connection.js';

const { app } = testApp();
const body = (value: unknown) => Buffer.from(JSON.stringify(value));
const BAD_REQUEST = { name: 'HttpError', status: HttpErrors.BadRequest.status };
const TOO_LARGE = { name: 'HttpError', status: HttpErrors.PayloadTooLarge.status };

/** The events with `data` decoded, to assert on values rather than JSON text. */
const decoded = (events: OutgoingEvent[]) => events.map((e) => ({ ...e, data: JSON.parse(e.data) as unknown }));

t.test('single trigger', async (t) => {
  t.test('broadcastt shape: channels array, one event per channel', async (t) => {
    const events = parseTrigger(body({ name: 'update', data: '{"n":1}', channels: ['a', 'b'] }), app);
    t.same(decoded(events), [
      { channel: 'a', name: 'update', data: { n: 1 }, exceptSocketId: undefined },
      { channel: 'b', name: 'update', data: { n: 1 }, exceptSocketId: undefined },
    ]);
  });

  t.test('Pusher shape: a single channel', async (t) => {
    t.same(decoded(parseTrigger(body({ name: 'update', data: '{"n":1}', channel: 'a' }), app)), [
      { channel: 'a', name: 'update', data: { n: 1 }, exceptSocketId: undefined },
    ]);
  });

  t.test('JSON data text is delivered verbatim', async (t) => {
    const data = '{ "b": 1, "a": [1, 2] }';
    t.equal(parseTrigger(body({ name: 'e', data, channel: 'a' }), app)[0]?.data, data);
  });

  t.test('data that is not JSON text is delivered as a JSON string', async (t) => {
    const [event] = decoded(parseTrigger(body({ name: 'e', data: 'hello world', channel: 'a' }), app));
    t.equal(event?.data, 'hello world');
  });

  t.test('duplicate channels are delivered once', async (t) => {
    const events = parseTrigger(body({ name: 'e', data: '{}', channels: ['a', 'b', 'a', 'b', 'c'] }), app);
    t.same(
      events.map((e) => e.channel),
      ['a', 'b', 'c'],
    );
  });

  t.test('socket_id is carried as exceptSocketId', async (t) => {
    const events = parseTrigger(body({ name: 'e', data: '{}', channels: ['a', 'b'], socket_id: '123.456' }), app);
    t.same(
      events.map((e) => e.exceptSocketId),
      ['123.456', '123.456'],
    );
  });

  t.test('up to maxChannelsPerTrigger (100) channels are accepted', async (t) => {
    const channels = Array.from({ length: 100 }, (_, i) => `c${i}`);
    t.equal(parseTrigger(body({ name: 'e', data: '{}', channels }), app).length, 100);
  });
});

t.test('batch', async (t) => {
  const items = [
    { name: 'a', data: '{"n":1}', channel: 'x' },
    { name: 'b', data: 'plain', channel: 'y', socket_id: '1.2' },
  ];
  const expected = [
    { channel: 'x', name: 'a', data: { n: 1 }, exceptSocketId: undefined },
    { channel: 'y', name: 'b', data: 'plain', exceptSocketId: '1.2' },
  ];

  t.test('as {batch: [...]}', async (t) => {
    t.same(decoded(parseBatch(body({ batch: items }), app)), expected);
  });

  t.test('as a bare array', async (t) => {
    t.same(decoded(parseBatch(body(items), app)), expected);
  });

  t.test('an empty batch delivers nothing', async (t) => {
    t.same(parseBatch(body({ batch: [] }), app), []);
  });

  t.test('more than maxBatchEvents (Pusher’s 10) events is a 400', async (t) => {
    const many = Array.from({ length: 11 }, (_, i) => ({ name: 'e', data: '{}', channel: `c${i}` }));
    t.throws(() => parseBatch(body({ batch: many }), app), { ...BAD_REQUEST, message: /body\.batch has 11 events, over the limit of 10/ });
    t.equal(parseBatch(body(many.slice(0, 10)), app).length, 10);
    const larger = testApp({ maxBatchEvents: 100 }).app;
    t.equal(parseBatch(body(Array.from({ length: 100 }, (_, i) => ({ name: 'e', data: '{}', channel: `c${i}` }))), larger).length, 100, 'the limit is the app’s');
  });
});

t.test('POST /events tells the shapes apart', async (t) => {
  t.test('{batch: [...]} is a batch', async (t) => {
    t.same(
      parseEvents(body({ batch: [{ name: 'e', data: '{}', channel: 'x' }] }), app).map((e) => e.channel),
      ['x'],
    );
  });

  t.test('a bare array is a batch', async (t) => {
    t.same(
      parseEvents(body([{ name: 'e', data: '{}', channel: 'x' }, { name: 'e', data: '{}', channel: 'y' }]), app).map((e) => e.channel),
      ['x', 'y'],
    );
  });

  t.test('any other object is a Pusher trigger', async (t) => {
    t.same(decoded(parseEvents(body({ name: 'e', data: '{"n":1}', channel: 'x', socket_id: '9.9' }), app)), [
      { channel: 'x', name: 'e', data: { n: 1 }, exceptSocketId: '9.9' },
    ]);
    t.same(
      parseEvents(body({ name: 'e', data: '{}', channels: ['x', 'y'] }), app).map((e) => e.channel),
      ['x', 'y'],
    );
  });

  t.test('an object with a non-array batch is refused as a batch', async (t) => {
    t.throws(() => parseEvents(body({ batch: 'nope' }), app), { ...BAD_REQUEST, message: /array of events/ });
  });
});

t.test('invalid requests are refused with the status and JSON path of the problem', async (t) => {
  const longData = 'x'.repeat(10 * 1024 + 1);
  const cases: Array<[string, () => unknown, object, RegExp]> = [
    ['invalid JSON', () => parseTrigger(Buffer.from('{"name":'), app), BAD_REQUEST, /body is not valid JSON/],
    ['invalid JSON on /events', () => parseEvents(Buffer.from(''), app), BAD_REQUEST, /body is not valid JSON/],
    ['invalid JSON on a batch', () => parseBatch(Buffer.from('[{'), app), BAD_REQUEST, /body is not valid JSON/],
    ['a body that is not an object', () => parseTrigger(body([1]), app), BAD_REQUEST, /body must be a JSON object/],
    ['both channel and channels', () => parseTrigger(body({ name: 'e', data: '{}', channel: 'a', channels: ['b'] }), app), BAD_REQUEST, /both channel and channels/],
    ['both on /events', () => parseEvents(body({ name: 'e', data: '{}', channel: 'a', channels: ['b'] }), app), BAD_REQUEST, /both channel and channels/],
    ['neither channel nor channels', () => parseTrigger(body({ name: 'e', data: '{}' }), app), BAD_REQUEST, /body\.channels is required/],
    ['missing name', () => parseTrigger(body({ data: '{}', channels: ['a'] }), app), BAD_REQUEST, /body\.name is required/],
    ['missing data', () => parseTrigger(body({ name: 'e', channels: ['a'] }), app), BAD_REQUEST, /body\.data is required/],
    ['data not a string', () => parseTrigger(body({ name: 'e', data: { n: 1 }, channels: ['a'] }), app), BAD_REQUEST, /body\.data must be string/],
    ['empty channels', () => parseTrigger(body({ name: 'e', data: '{}', channels: [] }), app), BAD_REQUEST, /body\.channels/],
    ['a bad channel name', () => parseTrigger(body({ name: 'e', data: '{}', channels: ['ok', 'not ok'] }), app), BAD_REQUEST, /body\.channels\[1\] must be one or more of letters/],
    ['a channel name too long', () => parseTrigger(body({ name: 'e', data: '{}', channels: ['x'.repeat(165)] }), app), BAD_REQUEST, /body\.channels\[0\].*165 characters, over the limit of 164/],
    ['a bad socket_id', () => parseTrigger(body({ name: 'e', data: '{}', channel: 'a', socket_id: 'abc' }), app), BAD_REQUEST, /body\.socket_id must match pattern/],
    ['an event name too long', () => parseTrigger(body({ name: 'e'.repeat(201), data: '{}', channel: 'a' }), app), BAD_REQUEST, /body\.name is 201 characters, over the limit of 200/],
    ['more than 100 channels', () => parseTrigger(body({ name: 'e', data: '{}', channels: Array.from({ length: 101 }, (_, i) => `c${i}`) }), app), BAD_REQUEST, /body\.channels has 101 entries, over the limit of 100/],
    ['data over 10 KB', () => parseTrigger(body({ name: 'e', data: longData, channel: 'a' }), app), TOO_LARGE, /body\.data is 10241 bytes, over the limit of 10240/],
    ['data over 10 KB in bytes, not characters', () => parseTrigger(body({ name: 'e', data: 'é'.repeat(5121), channel: 'a' }), app), TOO_LARGE, /body\.data is 10242 bytes/],
    ['batch: not an array', () => parseBatch(body({ name: 'e' }), app), BAD_REQUEST, /array of events or \{"batch": \[\.\.\.\]\}/],
    ['batch: item without channel', () => parseBatch(body({ batch: [{ name: 'e', data: '{}', channel: 'a' }, { name: 'e', data: '{}' }] }), app), BAD_REQUEST, /body\.batch\[1\]\.channel is required/],
    ['bare batch: channel not a string', () => parseBatch(body([{ name: 'e', data: '{}', channel: 'a' }, { name: 'e', data: '{}', channel: 5 }]), app), BAD_REQUEST, /body\[1\]\.channel must be string/],
    ['batch: item not an object', () => parseBatch(body({ batch: [null] }), app), BAD_REQUEST, /body\.batch\[0\] must be object/],
    ['batch: data over 10 KB', () => parseBatch(body({ batch: [{ name: 'e', data: '{}', channel: 'a' }, { name: 'e', data: longData, channel: 'b' }] }), app), TOO_LARGE, /body\.batch\[1\]\.data is 10241 bytes/],
    ['batch: channel name too long', () => parseBatch(body({ batch: [{ name: 'e', data: '{}', channel: 'x'.repeat(165) }] }), app), BAD_REQUEST, /body\.batch\[0\]\.channel: .*over the limit of 164/],
    ['batch: event name too long', () => parseBatch(body([{ name: 'n'.repeat(201), data: '{}', channel: 'a' }]), app), BAD_REQUEST, /body\[0\]\.name is 201 characters/],
    ['batch: bad socket_id', () => parseBatch(body([{ name: 'e', data: '{}', channel: 'a', socket_id: '1' }]), app), BAD_REQUEST, /body\[0\]\.socket_id must match pattern/],
  ];
  for (const [name, call, status, message] of cases) t.throws(call, { ...status, message }, name);
});

t.test('limits are the app settings', async (t) => {
  const { app: small } = testApp({ maxChannelsPerTrigger: 2, maxEventDataBytes: 4, maxBatchEvents: 1, maxEventNameLength: 3 });
  t.throws(() => parseTrigger(body({ name: 'e', data: '{}', channels: ['a', 'b', 'c'] }), small), { message: /over the limit of 2/ });
  t.throws(() => parseTrigger(body({ name: 'e', data: '12345', channel: 'a' }), small), { ...TOO_LARGE, message: /over the limit of 4/ });
  t.throws(() => parseBatch(body([{ name: 'e', data: '{}', channel: 'a' }, { name: 'e', data: '{}', channel: 'b' }]), small), { message: /over the limit of 1/ });
  t.throws(() => parseTrigger(body({ name: 'long', data: '{}', channel: 'a' }), small), { message: /over the limit of 3/ });
});

t.test('nothing is returned for a batch with one bad item', async (t) => {
  const items = [{ name: 'e', data: '{}', channel: 'a' }, { name: 'e', data: '{}', channel: 'bad channel' }];
  t.throws(() => parseBatch(body(items), app), BAD_REQUEST);
});

t.test('errors name the exact field of the body', async (t) => {
  t.throws(
    () => parseTrigger(body({ name: 'e', data: '{}', channel: 'x'.repeat(165) }), app),
    { message: /body\.channel:/ },
    'a single channel is body.channel',
  );
  t.throws(
    () => parseTrigger(body({ name: 'e', data: '{}', channels: ['a', 'a', 'x'.repeat(165)] }), app),
    { message: /body\.channels\[2\]/ },
    'the index is the one in the body, duplicates counted',
  );
});
