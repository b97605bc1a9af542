import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import clientSchema from '../../protocol/client-frames.schema.json' with { type: 'json' };
import serverSchema from '../../protocol/server-frames.schema.json' with { type: 'json' };
import { HttpError, ProtocolError } from '../../src/errors.js';
import { parseBroadcast, parseResponse } from '../../src/http/broadcasts-endpoint.js';
import { parseBatch, parseTrigger } from '../../src/http/events-endpoint.js';
import { asJsonText, decodeClientFrame, encodeFrame } from '../../src/protocol/codec.js';
import { describeErrors, validatorFor, validators } from '../../src/protocol/schemas.js';
import { makeSession, testApp } from '../helpers/fake-connection.js';

const EXAMPLES = new URL('../../protocol/examples/', import.meta.url);

/** Every example in protocol/examples/<dir>/, as [file name, parsed JSON]. */
function examples(dir: string): Array<[string, unknown]> {
  const url = new URL(`${dir}/`, EXAMPLES);
  const files = readdirSync(url).filter((name) => name.endsWith('.json')).sort();
  if (files.length === 0) throw new Error(`no examples in protocol/examples/${dir}`);
  return files.map((name) => [name, JSON.parse(readFileSync(new URL(name, url), 'utf8')) as unknown]);
}

/** The def names a top-level schema's oneOf refers to, e.g. ["subscribe", "unsubscribe", ...]. */
const defsOf = (schema: { oneOf: Array<{ $ref: string }> }) => schema.oneOf.map((entry) => entry.$ref.replace('#/$defs/', ''));
const CLIENT_DEFS = defsOf(clientSchema);
const SERVER_DEFS = defsOf(serverSchema);

/** The one def of `file` that `frame` matches, or undefined. */
function matchingDef(file: string, defs: readonly string[], frame: unknown): string | undefined {
  const matches = defs.filter((def) => validatorFor(`${file}#/$defs/${def}`)(frame));
  return matches.length === 1 ? matches[0] : undefined;
}

/** Client frames whose `data` may be a string holding the object as JSON text. */
const STRING_DATA_DEFS = new Set(['subscribe', 'unsubscribe', 'signin', 'broadcast', 'response']);

const dataOf = (frame: unknown) => (frame as { data?: unknown }).data;

/**
 * Problems with a client frame: the schema, plus the `contentSchema` of string `data`, which JSON
 * Schema only annotates and so has to be checked by hand.
 */
function clientFrameProblems(frame: unknown): string[] {
  if (!validators.clientFrame(frame)) return [describeErrors(validators.clientFrame.errors, 'frame')];
  const def = matchingDef('client-frames.schema.json', CLIENT_DEFS, frame);
  const data = dataOf(frame);
  if (def !== undefined && STRING_DATA_DEFS.has(def) && typeof data === 'string') {
    let content: unknown;
    try {
      content = JSON.parse(data);
    } catch {
      return ['data is a string but not JSON text'];
    }
    const validate = validatorFor(`client-frames.schema.json#/$defs/${def}/properties/data/oneOf/1/contentSchema`);
    if (!validate(content)) return [describeErrors(validate.errors, 'data')];
  }
  return [];
}

/** Problems with a server frame: the schema, `data` being JSON text, and the def's `contentSchema`. */
function serverFrameProblems(frame: unknown): string[] {
  if (!validators.serverFrame(frame)) return [describeErrors(validators.serverFrame.errors, 'frame')];
  const def = matchingDef('server-frames.schema.json', SERVER_DEFS, frame);
  if (!def) return ['matches no single def'];
  let content: unknown;
  try {
    content = JSON.parse(dataOf(frame) as string);
  } catch {
    return ['data is not JSON text'];
  }
  const dataSchema = (serverSchema.$defs as unknown as Record<string, { properties: { data: object } }>)[def]?.properties.data;
  if (dataSchema && 'contentSchema' in dataSchema) {
    const validate = validatorFor(`server-frames.schema.json#/$defs/${def}/properties/data/contentSchema`);
    if (!validate(content)) return [describeErrors(validate.errors, 'data')];
  }
  return [];
}

t.test('client frame examples', async (t) => {
  t.test('every valid example passes the schema and decodes', async (t) => {
    for (const [name, frame] of examples('client/valid')) {
      t.same(clientFrameProblems(frame), [], name);
      t.doesNotThrow(() => decodeClientFrame(JSON.stringify(frame)), `${name} decodes`);
    }
  });

  t.test('every invalid example fails the schema and is refused by the decoder, for its channel where it names one', async (t) => {
    for (const [name, frame] of examples('client/invalid')) {
      t.not(clientFrameProblems(frame).length, 0, name);
      const { event, data } = frame as { event?: string; data?: { channel?: unknown } };
      const namesChannel = /^(broadcastt|pusher):subscribe$/.test(event ?? '') && typeof data === 'object' && typeof data.channel === 'string' && data.channel !== '';
      t.throws(() => decodeClientFrame(JSON.stringify(frame)), namesChannel ? { name: 'SubscriptionError', channel: data.channel } : ProtocolError, `${name} is refused`);
    }
  });

  t.test('the valid examples cover every client frame def', async (t) => {
    const covered = new Set(examples('client/valid').map(([, frame]) => matchingDef('client-frames.schema.json', CLIENT_DEFS, frame)));
    t.same([...covered].sort(), [...CLIENT_DEFS].sort());
  });
});

t.test('server frame examples', async (t) => {
  t.test('every valid example passes the schema and its contentSchema', async (t) => {
    for (const [name, frame] of examples('server/valid')) t.same(serverFrameProblems(frame), [], name);
  });

  t.test('every invalid example fails the schema or its contentSchema', async (t) => {
    for (const [name, frame] of examples('server/invalid')) t.not(serverFrameProblems(frame).length, 0, name);
  });

  t.test('a bad inner socket_id is caught by the contentSchema, not the frame schema', async (t) => {
    const frame = { event: 'pusher:connection_established', data: JSON.stringify({ socket_id: 'abc', activity_timeout: 120 }) };
    t.ok(validators.serverFrame(frame), 'the frame schema alone accepts it');
    t.match(serverFrameProblems(frame), [/data\.socket_id must match pattern/]);
  });

  t.test('the valid examples cover every server frame def', async (t) => {
    const covered = new Set(examples('server/valid').map(([, frame]) => matchingDef('server-frames.schema.json', SERVER_DEFS, frame)));
    t.same([...covered].sort(), [...SERVER_DEFS].sort());
  });
});

t.test('every frame a session sends conforms', async (t) => {
  for (const dialect of ['broadcastt', 'pusher'] as const) {
    const { session, send, connection, index, app, clock, node } = makeSession({ dialect, socketId: '2147483647.1' });
    session.open();
    send({ event: `${dialect}:subscribe`, data: { channel: 'news' } });
    send({ event: `${dialect}:ping` });
    send('not json');
    send({ event: `${dialect}:subscribe`, data: { channel: 'x'.repeat(200) } });
    index.deliver(app.id, 'news', () => encodeFrame('headline', asJsonText('plain text'), 'news'));
    index.deliver(app.id, 'news', () => encodeFrame('App\\Events\\Shipped', asJsonText('{"id":1}'), 'news'));
    session.sweep(clock.now + node.limits.activityTimeoutMs);
    session.sweep(clock.now + node.limits.activityTimeoutMs + node.limits.pongTimeoutMs);

    const frames = connection.frames();
    t.same(
      frames.map((f) => matchingDef('server-frames.schema.json', SERVER_DEFS, f)),
      ['connectionEstablished', 'subscriptionSucceeded', 'pong', 'error', 'subscriptionError', 'channelEvent', 'channelEvent', 'error'],
      `${dialect}: the expected kinds of frame`,
    );
    for (const frame of frames) t.same(serverFrameProblems(frame), [], `${dialect}: ${frame.event}`);
  }
});

t.test('every broadcast frame a session sends conforms', async (t) => {
  for (const dialect of ['broadcastt', 'pusher'] as const) {
    const { send, connection, node } = makeSession({ dialect });
    send({ event: `${dialect}:subscribe`, data: { channel: 'lobby', consumer: true } });
    send({ event: `${dialect}:broadcast`, data: { request_id: 'r1', channel: { name: 'lobby', consumer: true }, name: 'hello', payload: { q: 1 } } });
    const event = connection.frames().find((frame) => frame.event === 'hello') as { id: string; channel: string } | undefined;
    send({ event: `${dialect}:response`, data: { id: event?.id, channel: event?.channel, payload: 'yes' } });
    send({ event: `${dialect}:broadcast`, data: { request_id: 2, channel: { name: 'updates', system: true }, name: 'hello' } });
    node.broadcasts.finishAll();

    const frames = connection.frames();
    t.same(
      frames.map((f) => matchingDef('server-frames.schema.json', SERVER_DEFS, f)),
      ['subscriptionSucceeded', 'channelEvent', 'error', 'broadcastResponses'],
      `${dialect}: the expected kinds of frame`,
    );
    for (const frame of frames) t.same(serverFrameProblems(frame), [], `${dialect}: ${frame.event}`);
  }
});

t.test('REST trigger examples', async (t) => {
  const { app } = testApp();
  t.test('every valid trigger passes the schema and the endpoint', async (t) => {
    for (const [name, body] of examples('rest/valid-trigger')) {
      t.ok(validators.trigger(body), name);
      t.doesNotThrow(() => parseTrigger(Buffer.from(JSON.stringify(body)), app), `${name} is accepted`);
    }
  });

  t.test('every invalid trigger fails the schema and gets a 400', async (t) => {
    for (const [name, body] of examples('rest/invalid-trigger')) {
      t.notOk(validators.trigger(body), name);
      t.throws(() => parseTrigger(Buffer.from(JSON.stringify(body)), app), { name: 'HttpError', status: 400 }, `${name} is refused`);
    }
  });
});

t.test('REST batch examples', async (t) => {
  const { app } = testApp();
  const validateBatch = validatorFor('rest.schema.json#/$defs/batch');
  t.test('every valid batch passes the schema, item by item, and the endpoint', async (t) => {
    for (const [name, body] of examples('rest/valid-batch')) {
      t.ok(validateBatch(body), name);
      const items = Array.isArray(body) ? body : (body as { batch: unknown[] }).batch;
      for (const item of items) t.ok(validators.batchItem(item), `${name}: item`);
      t.doesNotThrow(() => parseBatch(Buffer.from(JSON.stringify(body)), app), `${name} is accepted`);
    }
  });

  t.test('every invalid batch fails the schema and gets a 400', async (t) => {
    for (const [name, body] of examples('rest/invalid-batch')) {
      t.notOk(validateBatch(body), name);
      t.throws(() => parseBatch(Buffer.from(JSON.stringify(body)), app), HttpError, `${name} is refused`);
    }
  });
});

t.test('REST broadcast and response examples', async (t) => {
  // The examples name the demo app's channels, as PROTOCOL.md does.
  const { app } = testApp({ id: 'app-id' });
  const endpoints = [
    ['broadcast', validators.restBroadcast, (body: Buffer) => parseBroadcast(body, app, new URLSearchParams('timeout=500'))],
    ['response', validators.restResponse, (body: Buffer) => parseResponse(body, app)],
  ] as const;
  for (const [kind, validate, parse] of endpoints) {
    t.test(`every valid ${kind} passes the schema and the endpoint`, async (t) => {
      for (const [name, body] of examples(`rest/valid-${kind}`)) {
        t.ok(validate(body), name);
        t.doesNotThrow(() => parse(Buffer.from(JSON.stringify(body))), `${name} is accepted`);
      }
    });
    t.test(`every invalid ${kind} fails the schema and gets a 400`, async (t) => {
      for (const [name, body] of examples(`rest/invalid-${kind}`)) {
        t.notOk(validate(body), name);
        t.throws(() => parse(Buffer.from(JSON.stringify(body))), { name: 'HttpError', status: 400 }, `${name} is refused`);
      }
    });
  }
});
