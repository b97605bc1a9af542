// The benchmark harness: `npm run bench` (a short run) or `npm run bench -- --full` (longer, three
// interleaved rounds, medians); `--scenarios=S1,S4` and `--variants="gateway REST"` narrow a run, and
// `--metrics` adds the gateway variants with Prometheus metrics on, each compared with its metrics-off twin.
// Every scenario gets fresh servers (one, or a cluster of gateway nodes joined through Redis) and fresh client
// processes on loopback; the variants of a saturating scenario (S1, S2, S7 and their kin) run at once, measured
// in turns of a second each. Prints a Markdown table with ratios to the bare uWebSockets.js ceiling (or to a
// baseline scenario) and writes bench/results/: {quick,full}-latest for a complete run, and a name carrying
// the scenarios for a narrowed one, so that it never replaces the committed complete run.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { isNativeUws } from '../src/transport/uws.js';
import { REDIS_URL, redisReachable, startNodes, stopNodes } from './lib/cluster.js';
import { ClientPool } from './lib/processes.js';
import { inProcess, overHttp } from './lib/publishers.js';
import { RELIABILITY } from './lib/reliability-scenarios.js';
import { type Load, type Metrics, type Run, SCENARIOS, type Scenario, saturateSideBySide } from './lib/scenarios.js';
import { median } from './lib/stats.js';
import { startWebhookReceiver } from './lib/webhook-receiver.js';
import { BENCH_APP } from './servers/control.js';

interface Variant {
  readonly name: string;
  readonly server: 'uws-ceiling' | 'gateway' | 'ws-baseline';
  readonly publish: 'in-process' | 'http';
  /** The variant this one is compared with; none for the ceilings themselves. */
  readonly ceiling?: string;
  /** Environment of its server processes beside the scenario's (BENCH_METRICS turns metrics on). */
  readonly env?: Readonly<Record<string, string>>;
}

const VARIANTS: Variant[] = [
  { name: 'uws ceiling', server: 'uws-ceiling', publish: 'in-process' },
  { name: 'gateway publish()', server: 'gateway', publish: 'in-process', ceiling: 'uws ceiling' },
  { name: 'ws baseline', server: 'ws-baseline', publish: 'in-process', ceiling: 'uws ceiling' },
  { name: 'uws ceiling (HTTP)', server: 'uws-ceiling', publish: 'http' },
  { name: 'gateway REST', server: 'gateway', publish: 'http', ceiling: 'uws ceiling (HTTP)' },
];

/** Client processes: the generator shares the machine with the server, so more would only compete. */
const CLIENT_PROCESSES = 2;

const args = new Set(process.argv.slice(2));
const full = args.has('--full');
/** The same gateway with metricsPort on: what counting costs, paired round by round with metrics off. */
const METRICS_VARIANTS: readonly Variant[] = [
  { name: 'gateway publish() +metrics', server: 'gateway', publish: 'in-process', ceiling: 'gateway publish()', env: { BENCH_METRICS: '1' } },
  { name: 'gateway REST +metrics', server: 'gateway', publish: 'http', ceiling: 'gateway REST', env: { BENCH_METRICS: '1' } },
];
if (args.has('--metrics')) VARIANTS.push(...METRICS_VARIANTS);
const option = (name: string) => [...args].find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3).split(',');
const only = option('scenarios');
const onlyVariants = option('variants');
const rounds = full ? 3 : 1;

if (!isNativeUws) {
  console.error('uWebSockets.js is running on its ws-based fallback, not the native binary: refusing to report numbers.');
  process.exit(1);
}

const machine = `${os.cpus()[0]?.model.trim() ?? 'unknown CPU'} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`;
const header = `machine: ${machine}; node ${process.version}; uWebSockets.js native: ${isNativeUws}; ${full ? 'full' : 'quick'} run, ${rounds} round(s)`;
console.log(`# ${header}\n`);

/** The variants a scenario runs on, after --variants. */
function variantsOf(scenario: Scenario): readonly Variant[] {
  const nodes = scenario.nodes ?? 1;
  return (
    scenario.variants
      ? VARIANTS.filter((v) => scenario.variants?.includes(v.name))
      : scenario.publishes
        ? VARIANTS
        : VARIANTS.filter((v, i) => VARIANTS.findIndex((w) => w.server === v.server) === i)
  )
    .filter((v) => nodes === 1 || v.server === 'gateway') // the ceiling and the ws baseline have no cluster
    .filter((v) => !onlyVariants || onlyVariants.includes(v.name));
}

const wsUrl = (port: number) => `ws://127.0.0.1:${port}/app/${BENCH_APP.key}`;

const selected = [...SCENARIOS, ...RELIABILITY].filter((s) => !only || only.includes(s.id));
// Multi-node scenarios need Redis; without it they are skipped and say so, and the rest of the run goes on.
const clustered = selected.filter((s) => (s.nodes ?? 1) > 1);
const redisUp = clustered.length > 0 && (await redisReachable());
const skipped = redisUp ? [] : clustered.map((s) => `${s.id} skipped: it joins ${s.nodes} gateway nodes through Redis, which does not answer at ${REDIS_URL} (set BENCH_REDIS_URL).`);
const scenarios = selected.filter((s) => (s.nodes ?? 1) === 1 || redisUp);
for (const line of skipped) console.log(line);
const results: Record<string, Record<string, Metrics[]>> = {};
/**
 * One variant of a scenario, up: its servers, client processes and publisher, and how to take them down. A
 * scenario with webhooks gives each its own receiver, so that variants up at once count their own events.
 */
interface Session {
  readonly variant: Variant;
  readonly run: Run;
  /** Webhook events its receiver got, for a scenario with webhooks. */
  webhookEvents(): number | undefined;
  close(): Promise<void>;
}

async function openSession(scenario: Scenario, variant: Variant): Promise<Session> {
  const receiver = scenario.webhooks ? await startWebhookReceiver() : undefined;
  const webhooks = receiver && { BENCH_APP_OPTIONS: JSON.stringify({ webhooks: [{ url: receiver.url }] }) };
  const servers = await startNodes(variant.server, scenario.nodes ?? 1, { ...scenario.env, ...webhooks, ...variant.env });
  const server = servers[0] as (typeof servers)[number];
  const clients = await ClientPool.start(CLIENT_PROCESSES);
  const publisher = variant.publish === 'http' ? overHttp(server.port) : inProcess(server);
  const urls = servers.map((s) => wsUrl(s.port));
  const run: Run = { server, servers, clients, publisher, url: wsUrl(server.port), urls, full };
  const close = async () => {
    publisher.close();
    await clients.stop();
    await stopNodes(servers);
    await receiver?.close();
  };
  return { variant, run, webhookEvents: () => receiver?.events, close };
}

function record(round: number, scenario: Scenario, session: Session, metrics: Metrics): void {
  const { variant } = session;
  const webhookEvents = session.webhookEvents();
  if (webhookEvents !== undefined) metrics.webhookEvents = webhookEvents;
  ((results[scenario.id] ??= {})[variant.name] ??= []).push(metrics);
  console.error(`round ${round} ${scenario.id} ${variant.name}: ${JSON.stringify(round1(metrics))}`);
}

/** A saturating scenario's setup: connects the run's clients and says what to publish. */
type Connect = (run: Run) => Promise<Load>;

/** The variant at the end of `variant`'s chain of comparisons: a ceiling, or the variant itself. */
function rootOf(variant: Variant): string {
  const ceiling = VARIANTS.find((v) => v.name === variant.ceiling);
  return ceiling ? rootOf(ceiling) : variant.name;
}

/**
 * A scenario that is one saturating load runs its variants side by side: a group up at once, measured in turns
 * of a slice each (saturateSideBySide). A scenario compared with its ceilings groups each ceiling with the
 * variants compared with it, and the groups run one after another, so a variant waits only for its own group's
 * slices between two of its own; a scenario compared with a baseline scenario is one group. Either way every
 * slice follows another server's, as in the scenario it is compared with.
 */
async function runSideBySide(round: number, scenario: Scenario, load: Connect): Promise<void> {
  const variants = variantsOf(scenario);
  const groupOf = (variant: Variant) => (scenario.baseline ? scenario.id : rootOf(variant));
  for (const group of new Set(variants.map(groupOf))) {
    const members = variants.filter((variant) => groupOf(variant) === group);
    await runGroup(round, scenario, load, members);
  }
}

async function runGroup(round: number, scenario: Scenario, load: Connect, variants: readonly Variant[]): Promise<void> {
  const sessions: Session[] = [];
  try {
    for (const variant of variants) sessions.push(await openSession(scenario, variant));
    const loads: Load[] = [];
    for (const session of sessions) loads.push(await load(session.run));
    const metrics = await saturateSideBySide(sessions.map((session) => session.run), loads);
    sessions.forEach((session, i) => record(round, scenario, session, metrics[i] as Metrics));
  } finally {
    for (const session of sessions) await session.close();
  }
}

/** A scenario with a script of its own: one variant after another, each with servers and clients of its own. */
async function runInTurn(round: number, scenario: Scenario, script: (run: Run) => Promise<Metrics>): Promise<void> {
  for (const variant of variantsOf(scenario)) {
    const session = await openSession(scenario, variant);
    try {
      record(round, scenario, session, await script(session.run));
    } finally {
      await session.close();
    }
  }
}

for (let round = 1; round <= rounds; round++) {
  // Interleaved: every variant runs once per round, so drift in the machine hits all of them alike.
  for (const scenario of scenarios) {
    if (scenario.load) await runSideBySide(round, scenario, scenario.load);
    else await runInTurn(round, scenario, scenario.run);
  }
}


/** The median of each figure over the rounds. */
function summarise(runs: readonly Metrics[]): Metrics {
  const keys = new Set(runs.flatMap((m) => Object.keys(m))) as Set<keyof Metrics>;
  return Object.fromEntries([...keys].map((k) => [k, median(runs.map((m) => m[k] ?? Number.NaN))])) as Metrics;
}

function round1(metrics: Metrics): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, Math.round((v as number) * 100) / 100]));
}

const COLUMNS: ReadonlyArray<[keyof Metrics, string, (v: number) => string]> = [
  ['deliveredPerSec', 'delivered msg/s', (v) => Math.round(v).toLocaleString('en-US')],
  ['connectsPerSec', 'connects/s', (v) => Math.round(v).toLocaleString('en-US')],
  ['p50Ms', 'p50 ms', (v) => v.toFixed(2)],
  ['p95Ms', 'p95 ms', (v) => v.toFixed(2)],
  ['p99Ms', 'p99 ms', (v) => v.toFixed(2)],
  ['lost', 'lost', (v) => String(Math.round(v))],
  ['serverCpuPct', 'server CPU %', (v) => v.toFixed(0)],
  ['otherNodesCpuPct', 'of it, receiving nodes CPU %', (v) => v.toFixed(0)],
  ['clientCpuPct', 'client CPU %', (v) => v.toFixed(0)],
  ['serverCpuUsPerMsg', 'server µs/msg', (v) => v.toFixed(2)],
  ['serverCpuUsPerPublish', 'server µs/publish', (v) => v.toFixed(2)],
  ['rssMB', 'RSS MB', (v) => v.toFixed(1)],
  ['rssPerConnKB', 'RSS/conn KB', (v) => v.toFixed(2)],
  ['heapPerConnB', 'JS heap/conn B', (v) => v.toFixed(0)],
  ['rssGrowthKB', 'RSS growth KB', (v) => v.toFixed(0)],
  ['heapGrowthKB', 'JS heap growth KB', (v) => v.toFixed(0)],
  ['maxRssMB', 'max RSS MB', (v) => v.toFixed(1)],
  ['stalledClosed', 'stalled client closed', (v) => (v === 1 ? 'yes' : 'NO')],
  ['fuzzFrames', 'fuzz frames', (v) => String(v)],
  ['fuzzReplies', 'replies to them', (v) => String(v)],
  ['everyoneConnected', 'all still connected', (v) => (v === 1 ? 'yes' : 'NO')],
  ['webhookEvents', 'webhook events received', (v) => String(Math.round(v))],
];

/** The headline ratio of a scenario: throughput, latency, memory per connection or connect rate. */
const HEADLINE: Record<string, keyof Metrics | undefined> = {
  S1: 'deliveredPerSec',
  S2: 'deliveredPerSec',
  S1w: 'deliveredPerSec',
  S2w: 'deliveredPerSec',
  S3: 'rssPerConnKB',
  S4: 'p99Ms',
  S5: 'connectsPerSec',
  S7: 'deliveredPerSec',
};

/**
 * The ratio to the ceiling: the median over rounds of each round's ratio. Variants run interleaved, so a
 * round's pair shares the machine's state at that moment; on a shared 2-core machine that state moves by
 * ±20% between rounds, which a ratio of two separate medians would mix in.
 */
function pairedRatio(runs: readonly Metrics[], ceilingRuns: readonly Metrics[], key: keyof Metrics): number {
  return median(runs.map((m, i) => (m[key] ?? Number.NaN) / (ceilingRuns[i]?.[key] ?? Number.NaN)));
}

const summary: Record<string, Record<string, Metrics>> = {};
const ratios: Record<string, Record<string, number>> = {};
/** Publishing scenarios also compare server CPU per publish: per request, for the HTTP variants. */
const cpuRatios: Record<string, Record<string, number>> = {};
const lines: string[] = [`_${header}_`, '', ...skipped.flatMap((line) => [line, ''])];
for (const scenario of scenarios) {
  const byVariant = results[scenario.id] ?? {};
  const rows = Object.entries(byVariant).map(([name, runs]) => [name, summarise(runs)] as const);
  summary[scenario.id] = Object.fromEntries(rows);
  const columns = COLUMNS.filter(([key]) => rows.some(([, m]) => m[key] !== undefined));
  const measuresCpu = scenario.publishes && columns.some(([key]) => key === 'serverCpuUsPerPublish');
  const compared = [HEADLINE[scenario.id], measuresCpu ? ('serverCpuUsPerPublish' as const) : undefined].filter((key) => key !== undefined);
  const baseline = scenario.baseline ?? 'ceiling';
  lines.push(`**${scenario.id}: ${scenario.title}**`, '');
  lines.push(`| server | ${[...columns.map(([, label]) => label), ...compared.map((key) => `${String(key)} vs ${baseline}`)].join(' | ')} |`);
  lines.push(`|---|${[...columns, ...compared].map(() => '---:').join('|')}|`);
  for (const [name, m] of rows) {
    // Against the baseline scenario's run of the same variant, or else against this scenario's ceiling.
    const variant = VARIANTS.find((v) => v.name === name);
    const ceiling = variant?.ceiling ?? (scenario.publishes ? undefined : 'uws ceiling');
    const against = scenario.baseline ? results[scenario.baseline]?.[name] : ceiling && ceiling !== name ? byVariant[ceiling] : undefined;
    const cells = columns.map(([key, , format]) => (m[key] === undefined ? '–' : format(m[key] as number)));
    for (const [i, key] of compared.entries()) {
      const value = against ? pairedRatio(byVariant[name] ?? [], against, key) : Number.NaN;
      if (!Number.isNaN(value)) ((i === 0 ? ratios : cpuRatios)[scenario.id] ??= {})[name] = value;
      cells.push(Number.isNaN(value) ? '–' : `${value.toFixed(2)}×`);
    }
    lines.push(`| ${name} | ${cells.join(' | ')} |`);
  }
  lines.push('');
}
const table = lines.join('\n');
console.log(table);

const dir = new URL('../../bench/results/', import.meta.url);
mkdirSync(dir, { recursive: true });
// A narrowed run is named after its scenarios (full-S1-S7-latest), plus "-some-variants" when --variants
// narrowed it too, so it never replaces the complete run the README quotes.
const narrowed = `${only ? `-${only.join('-')}` : ''}${onlyVariants ? '-some-variants' : ''}${args.has('--metrics') ? '-metrics' : ''}`;
const name = `${full ? 'full' : 'quick'}${narrowed}-latest`;
const json = JSON.stringify({ machine, node: process.version, nativeUws: isNativeUws, full, rounds, summary, ratios, cpuRatios, runs: results }, null, 2);
writeFileSync(new URL(`${name}.json`, dir), json);
writeFileSync(new URL(`${name}.md`, dir), `${table}\n`);
console.log(`written: bench/results/${name}.{md,json}`);
