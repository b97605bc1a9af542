// The benchmark scenarios. Each gets fresh servers (one, or a cluster of `nodes`) and fresh client
// processes, and returns its figures.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { signRequestQuery } from '../../src/http/request-signature.js';
import { BENCH_APP } from '../servers/control.js';
import { cpuMicros, rssBytes } from './proc.js';
import type { ClientPool, ServerHandle } from './processes.js';
import type { Publisher } from './publishers.js';
import { percentile } from './stats.js';

export interface Metrics {
  connectsPerSec?: number;
  deliveredPerSec?: number;
  lost?: number;
  p50Ms?: number;
  p95Ms?: number;
  p99Ms?: number;
  /** CPU of every server process of the run, added up (so up to 100% per node). */
  serverCpuPct?: number;
  /** Of serverCpuPct, the nodes other than the one published on: what receiving through Redis costs them. */
  otherNodesCpuPct?: number;
  /** CPU of the client processes: on a shared machine, what the load generator takes from the servers. */
  clientCpuPct?: number;
  serverCpuUsPerMsg?: number;
  /** Server CPU per publish: per REST request for the HTTP variants (signed for the gateway, unsigned for the ceiling). */
  serverCpuUsPerPublish?: number;
  /** Resident memory of every server process of the run, added up. */
  rssMB?: number;
  rssPerConnKB?: number;
  rssGrowthKB?: number;
  /** Retained JS heap per idle connection (S3). */
  heapPerConnB?: number;
  /** Retained JS heap growth across the churn rounds (S5). */
  heapGrowthKB?: number;
  maxRssMB?: number;
  /** 1 when the stalled subscriber was closed (R1). */
  stalledClosed?: number;
  fuzzFrames?: number;
  /** Frames the server sent the fuzzer (error frames, mostly). */
  fuzzReplies?: number;
  /** 1 when every client, the fuzzer included, was still connected after fuzzing (R2). */
  everyoneConnected?: number;
  /** Webhook events the loopback receiver got during the run (scenarios with `webhooks`). */
  webhookEvents?: number;
}

export interface Run {
  /** The server publishes go to: the only one, or the first node of a cluster. */
  readonly server: ServerHandle;
  /** Every server of the run, `server` first. */
  readonly servers: readonly ServerHandle[];
  readonly clients: ClientPool;
  readonly publisher: Publisher;
  /** The WebSocket URL of `server`. */
  readonly url: string;
  /** The WebSocket URL of each of `servers`, in the same order. */
  readonly urls: readonly string[];
  readonly full: boolean;
}

interface ScenarioBase {
  readonly id: string;
  readonly title: string;
  /** Scenarios without publishing run once per server, not once per publishing mode. */
  readonly publishes: boolean;
  /** Only these variants (by name); all by default. */
  readonly variants?: readonly string[];
  /** Environment for the server process (e.g. BENCH_GATEWAY_OPTIONS). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Gateway nodes joined through Redis (lib/cluster.ts); 1 by default. More than one limits the scenario to
   * the gateway's variants, the only server that clusters, and skips it when Redis does not answer.
   */
  readonly nodes?: number;
  /** A scenario whose figures, same variant and round, this one's headline is reported against instead of the ceiling's. */
  readonly baseline?: string;
  /** The gateway's app sends every webhook event to a receiver on loopback (bench/lib/webhook-receiver.ts). */
  readonly webhooks?: boolean;
}

/**
 * A scenario is either a script of its own (`run`, its variants one after another) or one saturating load
 * (`load`: connects its clients and says what to publish), whose variants bench/run.ts measures side by side
 * (saturateSideBySide).
 */
export type Scenario = ScenarioBase &
  ({ readonly run: (run: Run) => Promise<Metrics>; readonly load?: undefined } | { readonly load: (run: Run) => Promise<Load>; readonly run?: undefined });

/** Time for the server to settle before memory is read. */
const SETTLE_MS = 1000;

/** The server's resident memory and JS heap once it has settled and collected its garbage. */
async function retained(server: ServerHandle): Promise<{ rss: number; heap: number }> {
  await sleep(SETTLE_MS);
  const heap = await server.collectGarbage();
  return { rss: rssBytes(server.pid), heap };
}
export const PAYLOAD_BYTES = 160;

/**
 * How much each saturating run publishes before it measures: at least this long and this many events (at most
 * WARM_UP_MAX_SECONDS). A fresh server process compiles its hot path while its first few thousand events go
 * through (V8 optimises a function once it is hot, on a background thread): measured from the first event,
 * that one-off compilation counted as a per-event cost. In S2 (about 11,000 events a second) it was 3.6 % of the
 * HTTP ceiling's CPU and 7.9 % of the gateway's, nearly all in the first second; in S1 (about 700 a second)
 * the gateway was still compiling three to five seconds in (`perf record`; bench/README.md "How it measures").
 */
const WARM_UP = { full: { seconds: 1, events: 3000 }, quick: { seconds: 0.5, events: 1000 } } as const;
const WARM_UP_MAX_SECONDS = 6;
/** How long the warm-up's deliveries may take to arrive before the measured part starts anyway. */
const WARM_UP_DRAIN_MS = 5000;
/** How long a slice's backlog may take to arrive; what has not by then counts as lost. */
const BACKLOG_DRAIN_MS = 5000;
/**
 * Saturating runs measure in slices this long. Runs measured side by side (saturateSideBySide) take turns a
 * slice at a time, so the two slices of a pair are a second or two apart and see the same machine.
 */
const SLICE_SECONDS = 1;

/** What a saturating run publishes, and to whom: the rest of a scenario once its clients are connected. */
export interface Load {
  readonly channels: string[];
  /** Deliveries owed for one event on the channel. */
  readonly recipients: (channel: string) => number;
  /** Events per publish call. */
  readonly burst: number;
  /** At most this many deliveries outstanding before publishing waits for the clients. */
  readonly window: number;
  /** Measured time, in slices of SLICE_SECONDS. */
  readonly seconds: number;
  readonly payloadBytes?: number;
}

/** Counts of one stretch of publishing: events sent, and deliveries owed for them. */
interface Stretch {
  published: number;
  expected: number;
}

/**
 * What one run's measured slices add up to; each field a sum over them. Latencies go into a histogram as each
 * slice ends, so the harness's memory stays bounded: at S1's rate a run delivers about a million messages a
 * second, and an array of every latency of every run side by side, kept to be sorted at the end, held hundreds
 * of megabytes in the process that also publishes over HTTP, whose garbage collections then fell in slices.
 */
interface Totals extends Stretch {
  delivered: number;
  wallMs: number;
  cpuMicros: number;
  otherCpuMicros: number;
  clientCpuMicros: number;
  latencies: RecordableHistogram;
}

/**
 * Publishes as fast as the clients keep up, `until` it says so: bursts while fewer than `window` deliveries are
 * outstanding, then polls the clients. Deliveries are counted from the clients' count at `startMessages`.
 */
async function publishFor(
  run: Run,
  load: Load,
  startMessages: number,
  until: (published: number, elapsedMs: number) => boolean,
): Promise<Stretch> {
  const { channels, recipients, burst, window, payloadBytes = PAYLOAD_BYTES } = load;
  const stretch: Stretch = { published: 0, expected: 0 };
  const t0 = performance.now();
  let delivered = 0;
  let next = 0;
  while (!until(stretch.published, performance.now() - t0)) {
    if (stretch.expected - delivered > window) {
      delivered = (await run.clients.counts()).messages - startMessages;
      continue;
    }
    const slice = Array.from({ length: burst }, (_, i) => channels[(next + i) % channels.length] as string);
    next = (next + burst) % channels.length;
    await run.publisher.publish(slice, burst, payloadBytes);
    stretch.published += burst;
    for (const channel of slice) stretch.expected += recipients(channel);
  }
  return stretch;
}

/** One run measured alone (saturateSideBySide of one). */
export async function saturate(run: Run, load: Load): Promise<Metrics> {
  return (await saturateSideBySide([run], [load]))[0] as Metrics;
}

/**
 * Publishes to each run as fast as its clients keep up, after an unmeasured warm-up (WARM_UP) whose deliveries
 * have all arrived, and measures it in slices of SLICE_SECONDS: the runs take turns a slice at a time, in the
 * same order every turn, until each has had `seconds` of slices. The others sit idle meanwhile, connected. On
 * a shared machine whose speed moves by ±30 % within twenty seconds, runs measured one after the other
 * compared that movement as much as the servers; runs measured side by side compare slices a second or two
 * apart (bench/README.md "How it measures"). The same order every turn, rather than reversed every other
 * turn, because a run measured twice in a row starts its second slice with the core's caches still its own,
 * and spent about 12 % less server CPU per message in it (the gateway in S1): every run gets the same gap
 * between its slices.
 *
 * A slice's clock runs until its backlog has arrived (or BACKLOG_DRAIN_MS have passed, and the rest counts as
 * lost), so its deliveries and its CPU cover the same messages. CPU and RSS are summed over every server of a
 * run. Latency is reported when the clients were opened with `measureLatency`; at maximum rate it is mostly
 * the time an event waits behind the window, not the time one event alone would take.
 */
export async function saturateSideBySide(runs: readonly Run[], loads: readonly Load[]): Promise<Metrics[]> {
  for (const [i, run] of runs.entries()) await warmUp(run, loads[i] as Load);
  const totals: Totals[] = runs.map(() => ({ published: 0, expected: 0, delivered: 0, wallMs: 0, cpuMicros: 0, otherCpuMicros: 0, clientCpuMicros: 0, latencies: createHistogram() }));
  const turns = Math.max(...loads.map((load) => Math.ceil(load.seconds / SLICE_SECONDS)));
  for (let turn = 0; turn < turns; turn++) {
    for (const [i, load] of loads.entries()) {
      if (turn * SLICE_SECONDS < load.seconds) await measureSlice(runs[i] as Run, load, totals[i] as Totals);
    }
  }
  return runs.map((run, i) => metricsOf(run, totals[i] as Totals));
}

const cpuOf = (nodes: readonly ServerHandle[]) => nodes.reduce((total, node) => total + cpuMicros(node.pid), 0);

/** Publishes to `run` for one slice, waits for its backlog, and adds what it measured to `totals`. */
async function measureSlice(run: Run, load: Load, totals: Totals): Promise<void> {
  const { servers, clients } = run;
  const others = servers.slice(1);
  const start = await clients.counts();
  await clients.latencies();
  const cpu0 = cpuOf(servers);
  const otherCpu0 = cpuOf(others);
  const t0 = performance.now();
  const { published, expected } = await publishFor(run, load, start.messages, (_, elapsedMs) => elapsedMs >= SLICE_SECONDS * 1000);
  const last = await drain(run, start.messages, expected, BACKLOG_DRAIN_MS);
  totals.wallMs += performance.now() - t0;
  totals.cpuMicros += cpuOf(servers) - cpu0;
  totals.otherCpuMicros += cpuOf(others) - otherCpu0;
  totals.clientCpuMicros += last.cpuMicros - start.cpuMicros;
  totals.published += published;
  totals.expected += expected;
  totals.delivered += last.messages - start.messages;
  // The histogram takes whole numbers from 1 up: a latency under a microsecond counts as one.
  for (const latency of await clients.latencies()) totals.latencies.record(Math.max(1, Math.round(latency)));
}

function metricsOf(run: Run, totals: Totals): Metrics {
  const { servers } = run;
  const { wallMs, cpuMicros: cpu, delivered, latencies } = totals;
  const ms = (p: number) => latencies.percentile(p) / 1000;
  return {
    deliveredPerSec: delivered / (wallMs / 1000),
    ...(latencies.count > 0 && { p50Ms: ms(50), p95Ms: ms(95), p99Ms: ms(99) }),
    lost: totals.expected - delivered,
    serverCpuPct: (100 * cpu) / (wallMs * 1000),
    ...(servers.length > 1 && { otherNodesCpuPct: (100 * totals.otherCpuMicros) / (wallMs * 1000) }),
    clientCpuPct: (100 * totals.clientCpuMicros) / (wallMs * 1000),
    serverCpuUsPerMsg: cpu / delivered,
    serverCpuUsPerPublish: cpu / totals.published,
    rssMB: servers.reduce((total, node) => total + rssBytes(node.pid), 0) / 2 ** 20,
  };
}

/** Publishes as much as WARM_UP says and waits for those deliveries, so that what follows measures a warm server. */
async function warmUp(run: Run, load: Load): Promise<void> {
  const start = (await run.clients.counts()).messages;
  const least = run.full ? WARM_UP.full : WARM_UP.quick;
  const done = (published: number, elapsedMs: number) =>
    elapsedMs >= WARM_UP_MAX_SECONDS * 1000 || (published >= least.events && elapsedMs >= least.seconds * 1000);
  const { expected } = await publishFor(run, load, start, done);
  await drain(run, start, expected, WARM_UP_DRAIN_MS);
}

/**
 * Waits until the clients have `expected` messages beyond `startMessages`, or `ms` have passed; returns their
 * counts at that moment.
 */
async function drain(run: Run, startMessages: number, expected: number, ms: number): Promise<Awaited<ReturnType<ClientPool['counts']>>> {
  const deadline = performance.now() + ms;
  let counts = await run.clients.counts();
  while (counts.messages - startMessages < expected && performance.now() < deadline) {
    await sleep(5);
    counts = await run.clients.counts();
  }
  return counts;
}

/**
 * One channel, `subscribers` connections split evenly over the run's servers, published at maximum rate on
 * the first. On one server this is S1; on two it is S7, so the two differ only by the Redis hop.
 */
function oneChannelAtMaxRate(subscribers: number) {
  return async (run: Run): Promise<Load> => {
    const perNode = subscribers / run.urls.length;
    for (const url of run.urls) await run.clients.open(url, Array.from({ length: perNode }, () => ['fan-out']), { measureLatency: true });
    return fanOutLoad(subscribers, run.full);
  };
}

/** Publishing at maximum rate to the one channel `subscribers` connections are on. */
function fanOutLoad(subscribers: number, full: boolean): Load {
  return { channels: ['fan-out'], recipients: () => subscribers, burst: 16, window: 64 * subscribers, seconds: full ? 6 : 2 };
}

/** 5,000 connections, each on a channel of its own and one of 10 shared ones, published round-robin. */
async function manyChannelsRoundRobin(run: Run): Promise<Load> {
  const connections = 5000;
  const shared = 10;
  await run.clients.open(run.url, Array.from({ length: connections }, (_, i) => [`own-${i}`, `shared-${i % shared}`]));
  const channels = [...Array.from({ length: shared }, (_, i) => `shared-${i}`), ...Array.from({ length: connections }, (_, i) => `own-${i}`)];
  const recipients = (channel: string) => (channel.startsWith('shared-') ? connections / shared : 1);
  return { channels, recipients, burst: 250, window: 20_000, seconds: run.full ? 6 : 2 };
}

/** 200 publishes/s, spread evenly, to 100 subscribers of one channel: the latency at a steady, modest rate. */
async function latencyAtFixedRate(run: Run): Promise<Metrics> {
  const rate = 200;
  const seconds = run.full ? 10 : 3;
  await run.clients.open(run.url, Array.from({ length: 100 }, () => ['latency']), { measureLatency: true });
  const start = await run.clients.counts();
  await run.clients.latencies();
  const t0 = performance.now();
  let published = 0;
  const inFlight: Array<Promise<void>> = [];
  while (published < rate * seconds) {
    const due = Math.min(rate * seconds, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    if (due > published) {
      inFlight.push(run.publisher.publish(['latency'], due - published, PAYLOAD_BYTES));
      published = due;
    }
    await sleep(1);
  }
  await Promise.all(inFlight);
  const expected = published * 100;
  const deadline = performance.now() + 5000;
  let delivered = 0;
  while ((delivered = (await run.clients.counts()).messages - start.messages) < expected && performance.now() < deadline) await sleep(5);
  const latencies = await run.clients.latencies();
  const ms = (p: number) => percentile(latencies, p) / 1000;
  return { deliveredPerSec: delivered / seconds, lost: expected - delivered, p50Ms: ms(50), p95Ms: ms(95), p99Ms: ms(99), rssMB: rssBytes(run.server.pid) / 2 ** 20 };
}

/** The gateway variants: only the gateway has webhooks. */
const GATEWAY_VARIANTS = ['gateway publish()', 'gateway REST'];

/** The bench app with a history rule (PROTOCOL.md §9) for channels starting with `prefix`. */
const withHistory = (prefix: string) => ({ BENCH_APP_OPTIONS: JSON.stringify({ history: [{ prefix, size: 100, ttlSeconds: 300 }] }) });
/** The old routing (redisRouting "fanout"): every node receives every publish, for comparison with the sharded one (D21). */
const FANOUT = { BENCH_GATEWAY_OPTIONS: JSON.stringify({ redisRouting: 'fanout' }) };

/**
 * Two nodes, 1,000 subscribers of one channel all on the first, published there at maximum rate; the second node
 * has 100 subscribers of other channels, so it is a working member of the cluster that simply has no interest in
 * this one. What it spends (otherNodesCpuPct) is what a publish costs a node that has no subscriber for it.
 */
async function subscribersOnPublishingNode(run: Run): Promise<Load> {
  const subscribers = 1000;
  const [here, elsewhere] = run.urls as [string, string];
  await run.clients.open(here, Array.from({ length: subscribers }, () => ['fan-out']), { measureLatency: true });
  await run.clients.open(elsewhere, Array.from({ length: 100 }, (_, i) => [`elsewhere-${i}`]));
  return fanOutLoad(subscribers, run.full);
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'S1',
    title: 'one channel × 1,000 subscribers, maximum rate',
    publishes: true,
    load: oneChannelAtMaxRate(1000),
  },
  {
    id: 'S2',
    title: '5,000 connections on their own channel + 10 shared, round-robin',
    publishes: true,
    load: manyChannelsRoundRobin,
  },
  {
    id: 'S1w',
    title: 'S1 with webhooks configured (every event, to a receiver on loopback)',
    publishes: true,
    variants: GATEWAY_VARIANTS,
    baseline: 'S1',
    webhooks: true,
    load: oneChannelAtMaxRate(1000),
  },
  {
    id: 'S2w',
    title: 'S2 with webhooks configured (every event, to a receiver on loopback: a channel_occupied per channel)',
    publishes: true,
    variants: GATEWAY_VARIANTS,
    baseline: 'S2',
    webhooks: true,
    load: manyChannelsRoundRobin,
  },
  {
    id: 'S1h',
    title: 'S1 on a history channel (each publication kept, with its offset, in a stream of 100)',
    publishes: true,
    variants: GATEWAY_VARIANTS,
    baseline: 'S1',
    env: withHistory('fan-out'),
    load: oneChannelAtMaxRate(1000),
  },
  {
    id: 'S1n',
    title: 'S1 on a node whose app keeps history for other channels (what channels without history pay)',
    publishes: true,
    variants: GATEWAY_VARIANTS,
    baseline: 'S1',
    env: withHistory('chat-'),
    load: oneChannelAtMaxRate(1000),
  },
  {
    id: 'S3',
    title: '10,000 idle connections (each on one of 100 channels)',
    publishes: false,
    async run(run) {
      const connections = 10_000;
      const before = await retained(run.server);
      const t0 = performance.now();
      await run.clients.open(run.url, Array.from({ length: connections }, (_, i) => [`idle-${i % 100}`]));
      const seconds = (performance.now() - t0) / 1000;
      const after = await retained(run.server);
      return {
        connectsPerSec: connections / seconds,
        rssMB: after.rss / 2 ** 20,
        rssPerConnKB: (after.rss - before.rss) / connections / 1024,
        heapPerConnB: (after.heap - before.heap) / connections,
      };
    },
  },
  {
    id: 'S4',
    title: '200 publishes/s to 100 subscribers (latency)',
    publishes: true,
    run: latencyAtFixedRate,
  },
  {
    id: 'S4h',
    title: 'S4 on a history channel',
    publishes: true,
    variants: GATEWAY_VARIANTS,
    baseline: 'S4',
    env: withHistory('latency'),
    run: latencyAtFixedRate,
  },
  {
    id: 'S5',
    title: 'connection churn: connect, subscribe, disconnect (growth after two warm-up rounds)',
    publishes: false,
    async run(run) {
      const perRound = run.full ? 4000 : 1500;
      const rounds = run.full ? 6 : 4;
      const samples: Array<{ rss: number; heap: number }> = [];
      let churnMs = 0;
      for (let round = 0; round < rounds; round++) {
        const churnStart = performance.now();
        await run.clients.churn(run.url, perRound, 50);
        churnMs += performance.now() - churnStart;
        samples.push(await retained(run.server));
      }
      const seconds = churnMs / 1000;
      // The first two rounds warm the allocator, V8's heap and the JIT; growth is what the later rounds add.
      // RSS also moves when V8 resizes its young generation (a bounded, one-time step: README
      // "Performance"); the retained JS heap is the server's own state, so a leak shows there first.
      const first = samples[1] as { rss: number; heap: number };
      const last = samples.at(-1) as { rss: number; heap: number };
      return {
        connectsPerSec: (perRound * rounds) / seconds,
        rssMB: last.rss / 2 ** 20,
        rssGrowthKB: (last.rss - first.rss) / 1024,
        heapGrowthKB: (last.heap - first.heap) / 1024,
      };
    },
  },
  {
    id: 'S6',
    title: 'broadcasts that collect responses: 10 responders, REST broadcasts with a 50 ms timeout (latency = how long after the timeout the answer came)',
    publishes: true,
    variants: ['gateway REST'],
    async run(run) {
      const responders = 10;
      const timeoutMs = 50;
      const count = run.full ? 200 : 60;
      await run.clients.open(run.url, Array.from({ length: responders }, () => ['rpc']), { respond: true });
      const path = `/apps/${BENCH_APP.id}/broadcasts`;
      const roundTrips: number[] = [];
      let missing = 0;
      for (let i = 0; i < count; i++) {
        const body = JSON.stringify({ name: 'ask', channel: 'rpc', payload: { i } });
        const t0 = performance.now();
        const response = await fetch(`http://127.0.0.1:${run.server.port}${path}?${signRequestQuery(BENCH_APP, 'POST', path, body, { timeout: String(timeoutMs) })}`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
        });
        const answers = (await response.json()) as unknown[];
        roundTrips.push(performance.now() - t0);
        missing += responders - answers.length;
      }
      // The answer is due when the timeout passes; what matters is how late after that it comes.
      const late = (p: number) => percentile(roundTrips, p) - timeoutMs;
      return { p50Ms: late(50), p95Ms: late(95), p99Ms: late(99), lost: missing, rssMB: rssBytes(run.server.pid) / 2 ** 20 };
    },
  },
  {
    id: 'S7',
    title: 'fan-out across two nodes through Redis: S1 with 500 subscribers on each node, published on the first',
    publishes: true,
    nodes: 2,
    baseline: 'S1',
    load: oneChannelAtMaxRate(1000),
  },
  {
    id: 'S7f',
    title: 'S7 on the old fanout routing (redisRouting "fanout"): every node receives every publish through one Redis channel',
    publishes: true,
    nodes: 2,
    baseline: 'S7',
    env: FANOUT,
    load: oneChannelAtMaxRate(1000),
  },
  {
    id: 'S7l',
    title: 'two nodes, every subscriber of the published channel on the publishing node: the other node’s CPU (sharded routing)',
    publishes: true,
    nodes: 2,
    baseline: 'S7',
    load: subscribersOnPublishingNode,
  },
  {
    id: 'S7lf',
    title: 'S7l on the old fanout routing: the other node receives and drops every publish',
    publishes: true,
    nodes: 2,
    baseline: 'S7l',
    env: FANOUT,
    load: subscribersOnPublishingNode,
  },
  {
    id: 'S7h',
    title: 'S7 on a history channel: each publication appended to a Redis Stream and published by one script',
    publishes: true,
    nodes: 2,
    baseline: 'S7',
    env: withHistory('fan-out'),
    load: oneChannelAtMaxRate(1000),
  },
];
