import type { Socket } from 'node:net';
import t from 'tap';
import { WsErrors } from '../../src/errors.js';
import { DEMO_APP, startGateway } from '../helpers/gateway.js';
import { scrape, valueOf } from '../helpers/metrics.js';
import { TestClient, until } from '../helpers/ws-client.js';

t.test('a subscriber that stops reading is closed with 4101; the others keep receiving', async (t) => {
  const running = await startGateway(t, { maxBackpressureBytes: 64 * 1024, metricsPort: 0 });
  const channel = 'firehose';
  const join = async () => {
    const { client } = await TestClient.established(running.wsUrl());
    client.send({ event: 'broadcastt:subscribe', data: { channel } });
    await client.next('broadcastt_internal:subscription_succeeded');
    return client;
  };
  const stalled = await join();
  const healthy = await join();
  t.teardown(() => healthy.close());

  // The stalled client stops reading its socket: kernel buffers fill, then the server's send buffer.
  (stalled.ws as unknown as { _socket: Socket })._socket.pause();
  const payload = { blob: 'x'.repeat(8 * 1024) };
  let subscribers = 2;
  await until(() => {
    for (let i = 0; i < 20; i++) subscribers = running.gateway.publish(DEMO_APP.id, channel, 'chunk', payload);
    return subscribers === 1;
  }, 'the slow consumer to be evicted from the channel', 30_000);

  (stalled.ws as unknown as { _socket: Socket })._socket.resume();
  t.equal((await stalled.next('broadcastt:error')).data.code, WsErrors.SlowConsumer.code, 'told why, after its backlog');
  t.equal((await stalled.closed).code, WsErrors.SlowConsumer.code, 'closed in the 4100 range');

  running.gateway.publish(DEMO_APP.id, channel, 'after', { ok: true });
  t.same((await healthy.next('after', 30_000)).data, { ok: true }, 'the healthy subscriber still receives');
  const samples = await scrape(running.gateway.metricsPort() as number);
  t.equal(valueOf(samples, 'broadcastt_slow_consumer_evictions_total', { app_id: DEMO_APP.id }), 1, 'the eviction is counted');
  t.equal(valueOf(samples, 'broadcastt_new_disconnections_total', { app_id: DEMO_APP.id, code: String(WsErrors.SlowConsumer.code) }), 1, 'and its close code');
});
