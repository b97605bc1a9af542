// The gateway as users run it: createGateway with one app whose limits fit the scenarios. Publishing goes
// through its signed REST API (sent by the orchestrator) or through gateway.publish in-process.
import { createGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/log.js';
import { BENCH_APP, serve } from './control.js';

/** Extra gateway settings for a scenario (JSON), e.g. a short pongTimeout for the slow-consumer check. */
const overrides = JSON.parse(process.env.BENCH_GATEWAY_OPTIONS ?? '{}') as Record<string, unknown>;
/** BENCH_METRICS=1: Prometheus metrics on (a port of their own, never scraped during the run). */
const metrics = process.env.BENCH_METRICS === '1' ? { metricsPort: 0 } : {};
/** Extra settings of the app (JSON), e.g. the webhooks of S1w and S2w. */
const appOverrides = JSON.parse(process.env.BENCH_APP_OPTIONS ?? '{}') as Record<string, unknown>;

await serve(async () => {
  const gateway = createGateway({
    logger: createLogger('warn'),
    ...metrics,
    ...overrides,
    // Rate limits far above what the scenarios send: they measure the gateway, not its limits.
    apps: [{ ...BENCH_APP, maxConnections: 1_000_000, maxPresenceMembers: 10_000, maxBackendEventsPerSecond: 1e9, maxReadRequestsPerSecond: 1e9, maxChannels: 1e7, ...appOverrides }],
  });
  const port = await gateway.listen(0, '127.0.0.1');
  return {
    port,
    publish: (channel, event, data) => {
      gateway.publish(BENCH_APP.id, channel, event, data);
    },
    close: () => gateway.close(),
  };
});
