// Reliability under load, as scenarios: the gateway alone, judged by what the other clients see and by
// the server's memory, not by a ratio. Their behaviour is also covered by ordinary tests
// (test/integration/slow-consumer.test.ts, test/integration/fuzz.test.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { fuzzFrames } from './fuzz-frames.js';
import { rssBytes } from './proc.js';
import { type Metrics, type Run, type Scenario, saturate } from './scenarios.js';

/** The gateway's own view of how many connections it holds (GET /, unsigned). */
async function connectionsOf(run: Run): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${run.server.port}/`);
  return ((await response.json()) as { connections: number }).connections;
}

/** A client that subscribes to `channel` and then never reads again. */
function stalledSubscriber(url: string, channel: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on('error', reject);
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text.includes('connection_established')) ws.send(JSON.stringify({ event: 'broadcastt:subscribe', data: { channel } }));
      else if (text.includes('subscription_succeeded')) {
        ws.pause();
        resolve(ws);
      }
    });
  });
}

/** Samples the server's RSS until stopped; returns the largest value seen. */
function watchRss(pid: number): () => number {
  let max = rssBytes(pid);
  const timer = setInterval(() => {
    max = Math.max(max, rssBytes(pid));
  }, 100);
  return () => {
    clearInterval(timer);
    return max;
  };
}

/** Short enough that the stalled client is dropped within the run. */
const PONG_TIMEOUT_S = 2;

export const RELIABILITY: readonly Scenario[] = [
  {
    id: 'R1',
    title: 'one subscriber stops reading while 200 others keep receiving at maximum rate',
    publishes: true,
    variants: ['gateway publish()'],
    env: { BENCH_GATEWAY_OPTIONS: JSON.stringify({ pongTimeout: PONG_TIMEOUT_S, maxBackpressureBytes: 256 * 1024 }) },
    async run(run) {
      const healthy = 200;
      await run.clients.open(run.url, Array.from({ length: healthy }, () => ['feed']));
      const stalled = await stalledSubscriber(run.url, 'feed');
      const stopWatching = watchRss(run.server.pid);
      // Large events, so the stalled client's kernel buffers (several MB on loopback) fill within the run.
      const metrics = await saturate(run, { channels: ['feed'], recipients: () => healthy, burst: 16, window: 64 * healthy, seconds: run.full ? 8 : 4, payloadBytes: 4096 });
      // The policy: evicted at the backpressure limit, dropped pongTimeout later (checked every second).
      const deadline = performance.now() + (PONG_TIMEOUT_S + 3) * 1000;
      while ((await connectionsOf(run)) > healthy && performance.now() < deadline) await sleep(100);
      const closed = (await connectionsOf(run)) === healthy;
      const maxRss = stopWatching();
      stalled.terminate();
      return { ...metrics, stalledClosed: closed ? 1 : 0, maxRssMB: maxRss / 2 ** 20 } satisfies Metrics;
    },
  },
  {
    id: 'R2',
    title: 'a fuzzer sends random bad frames while 100 subscribers receive at maximum rate',
    publishes: true,
    variants: ['gateway publish()'],
    async run(run) {
      const healthy = 100;
      await run.clients.open(run.url, Array.from({ length: healthy }, () => ['feed']));
      const fuzzer = new WebSocket(run.url, { perMessageDeflate: false });
      let replies = 0;
      fuzzer.on('message', () => replies++);
      await new Promise((resolve, reject) => {
        fuzzer.once('message', resolve);
        fuzzer.once('error', reject);
      });
      const count = run.full ? 50_000 : 10_000;
      const fuzzing = (async () => {
        let sent = 0;
        for (const frame of fuzzFrames(Date.now(), count, 65536)) {
          fuzzer.send(frame.data, { binary: frame.binary });
          // Yield now and then so the socket drains instead of buffering every frame in this process.
          if (++sent % 100 === 0) await sleep(1);
        }
      })();
      const metrics = await saturate(run, { channels: ['feed'], recipients: () => healthy, burst: 8, window: 64 * healthy, seconds: run.full ? 8 : 3 });
      await fuzzing;
      // Every client still there, the fuzzer included: bad input is never punished with a close.
      const everyoneConnected = (await connectionsOf(run)) === healthy + 1;
      fuzzer.terminate();
      return { ...metrics, fuzzFrames: count, fuzzReplies: replies - 1, everyoneConnected: everyoneConnected ? 1 : 0 } satisfies Metrics;
    },
  },
];
