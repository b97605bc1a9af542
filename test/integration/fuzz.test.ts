import t from 'tap';
import { fuzzFrames } from '../../bench/lib/fuzz-frames.js';
import { reconnectClassOf } from '../../src/errors.js';
import { DEMO_APP, httpRequest, startGateway } from '../helpers/gateway.js';
import { TestClient } from '../helpers/ws-client.js';

/** Enough frames to hit every case many times; the seed makes a failure reproducible. */
const FRAMES = 600;
const SEED = 20261123;

t.test('random bad frames get conforming error frames and disturb nothing else', async (t) => {
  const running = await startGateway(t, { maxMessageBytes: 4096 });
  const bystander = (await TestClient.established(running.wsUrl())).client;
  t.teardown(() => bystander.close());
  bystander.send({ event: 'broadcastt:subscribe', data: { channel: 'news' } });
  await bystander.next('broadcastt_internal:subscription_succeeded');

  const fuzzer = (await TestClient.established(running.wsUrl())).client;
  t.teardown(() => fuzzer.close());
  const kinds = new Map<string, number>();
  let published = 0;
  let sent = 0;
  for (const frame of fuzzFrames(SEED, FRAMES, running.gateway.config.maxMessageBytes)) {
    kinds.set(frame.kind, (kinds.get(frame.kind) ?? 0) + 1);
    fuzzer.ws.send(frame.data, { binary: frame.binary });
    // The bystander's events are interleaved with the fuzzing.
    if (++sent % 10 === 0) published += running.gateway.publish(DEMO_APP.id, 'news', 'tick', { n: published });
  }
  // Frames are handled in order, so this marker is answered after every fuzzed frame (a fuzzed ping may
  // answer pong, so a ping cannot be the marker). TestClient has checked each reply against protocol/ by
  // then, and a non-conforming one would fail this wait.
  fuzzer.send({ event: 'broadcastt:broadcast', data: { request_id: 'end-of-fuzz', channel: 'marker', name: 'end', timeout: 0 } });
  await fuzzer.next((f) => f.event === 'broadcastt:broadcast_responses' && f.data.request_id === 'end-of-fuzz');
  t.equal(kinds.size, 10, 'every kind of bad frame was sent');

  const errors = fuzzer.received.filter((f) => f.event === 'broadcastt:error');
  t.ok(errors.length >= FRAMES / 2, `most frames were answered with an error (${errors.length})`);
  t.ok(errors.every((f) => reconnectClassOf(f.data.code as number) === 'none'), 'and every error was non-fatal');
  t.equal(fuzzer.ws.readyState, fuzzer.ws.OPEN, 'the fuzzing connection is still open');

  for (let n = 0; n < published; n++) t.equal((await bystander.next('tick')).data.n, n);
  t.equal((await httpRequest(`${running.http}/`)).body.status, 'ok', 'the server is healthy');
});
