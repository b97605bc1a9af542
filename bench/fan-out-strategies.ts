// Micro-benchmark: server-side cost of fanning one pre-encoded ~200 B text frame
// out to N WebSocket subscribers in a bare uWS server, three ways:
//   A  uWS native topics (ws.subscribe + app.publish)
//   B  a JS Set of sockets, ws.send per recipient
//   C  the same Set, ws.cork around each ws.send
//
// Run: node --import tsx bench/fan-out-strategies.ts
// Env: FANOUT_SUBSCRIBERS (default 1000), FANOUT_CLIENT_PROCS (default 1), FANOUT_BATCH (default 16)
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import uws, { type WebSocket, type us_listen_socket } from 'uWebSockets.js';
import type { ChildMessage, ParentMessage } from './fan-out-subscribers.js';

// The npm mirror silently falls back to a `ws`-based emulation when no binary
// matches; numbers from that would describe `ws`, not uWS, so refuse to run.
const native = String(uws.App).includes('[native code]');
console.log(`# fan-out strategies: node ${process.version}, cpu "${os.cpus()[0]?.model ?? 'unknown'}" x${os.cpus().length}, uWS native: ${native}`);
if (!native) {
  console.error('error: uWebSockets.js is not the native addon (fallback emulation loaded); refusing to report numbers');
  process.exit(1);
}

const N = Number(process.env.FANOUT_SUBSCRIBERS ?? 1000);
const CLIENT_PROCS = Number(process.env.FANOUT_CLIENT_PROCS ?? 1);
const ROUNDS = 3;
const DURATION_MS = 3000;
const WARMUP_MS = 400;
// Frames published per synchronous burst before yielding to the loop. This matters:
// uWS coalesces a burst's topic messages into one write per subscriber, while
// B and C issue one write per frame, so BATCH=1 is the fairer "one event at a time" case.
const BATCH = Number(process.env.FANOUT_BATCH ?? 16);
// Frames per subscriber that may be published but not yet counted by clients.
// Bounding this keeps memory flat and keeps every socket far below maxBackpressure,
// so a slow client process throttles the publisher instead of causing drops.
const MAX_IN_FLIGHT = 64;
const MAX_BACKPRESSURE = 16 * 1024 * 1024;
const TOPIC = 'bench';
const FRAME = Buffer.from(
  JSON.stringify({
    event: 'price',
    channel: TOPIC,
    data: JSON.stringify({ n: 123, symbol: 'BTC-USD', bid: 64123.45, ask: 64124.1, bidSize: 1.25, askSize: 0.5, ts: 1700000000000, seq: 42, venue: 'bench' }),
  }),
);

// ---- server (this process does no client work) ----------------------------
type Sub = WebSocket<unknown>;
const subscribers = new Set<Sub>();
let dropped = 0;
const app = uws.App().ws<unknown>('/*', {
  compression: uws.DISABLED,
  maxPayloadLength: 1024,
  maxBackpressure: MAX_BACKPRESSURE,
  idleTimeout: 0,
  sendPingsAutomatically: false,
  open: (ws) => {
    ws.subscribe(TOPIC);
    subscribers.add(ws);
  },
  close: (ws) => {
    subscribers.delete(ws);
  },
});

// One shared callback for strategy C, reading its target from module scope, so
// the loop measures cork itself rather than a closure allocation per recipient.
let corkTarget: Sub | undefined;
function sendCorked(): void {
  if ((corkTarget as Sub).send(FRAME, false) === 2) dropped++;
}

const strategies: Record<string, () => void> = {
  'A topics': () => {
    app.publish(TOPIC, FRAME, false);
  },
  'B set.send': () => {
    for (const ws of subscribers) if (ws.send(FRAME, false) === 2) dropped++;
  },
  'C set.cork': () => {
    for (const ws of subscribers) {
      corkTarget = ws;
      ws.cork(sendCorked);
    }
  },
};

// ---- subscriber processes ---------------------------------------------------
interface Counts { messages: number; bytes: number; cpuMicros: number }
const waiting = new Map<number, { got: Counts[]; resolve: (c: Counts) => void }>();
let nextQueryId = 0;
const children: ChildProcess[] = [];

function onChildMessage(msg: ChildMessage): void {
  if (msg.type === 'error') fail(`subscriber process: ${msg.message}`);
  if (msg.type !== 'counts') return;
  const w = waiting.get(msg.id);
  if (!w) return;
  w.got.push(msg);
  if (w.got.length < children.length) return;
  waiting.delete(msg.id);
  const sum = (k: keyof Counts) => w.got.reduce((acc, c) => acc + c[k], 0);
  w.resolve({ messages: sum('messages'), bytes: sum('bytes'), cpuMicros: sum('cpuMicros') });
}

function clientCounts(): Promise<Counts> {
  const id = nextQueryId++;
  return new Promise((resolve) => {
    waiting.set(id, { got: [], resolve });
    for (const child of children) child.send({ type: 'count', id } satisfies ParentMessage);
  });
}

function startClients(url: string): Promise<void> {
  const script = fileURLToPath(new URL('./fan-out-subscribers.ts', import.meta.url));
  const started = Array.from({ length: CLIENT_PROCS }, (_, i) => {
    const share = Math.floor(N / CLIENT_PROCS) + (i < N % CLIENT_PROCS ? 1 : 0);
    const child = fork(script, [url, String(share)], { execArgv: ['--import', 'tsx'] });
    children.push(child);
    child.on('exit', (code) => fail(`subscriber process exited early (code ${code})`));
    return new Promise<void>((resolve) => {
      child.on('message', (msg: ChildMessage) => (msg.type === 'ready' ? resolve() : onChildMessage(msg)));
    });
  });
  return Promise.all(started).then(() => undefined);
}

// ---- measurement ------------------------------------------------------------
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const now = () => process.hrtime.bigint();

interface Result {
  deliveredPerSec: number; serverCpuUsPerMsg: number; publishCallUsPerMsg: number;
  serverCpuPct: number; clientCpuPct: number; loss: number; dropped: number; polls: number; badBytes: number;
}

async function measure(publish: () => void, durationMs: number): Promise<Result> {
  const before = await clientCounts();
  dropped = 0;
  let published = 0;
  let received = 0; // last known, relative to `before`
  let polls = 0;
  let publishNs = 0n;
  const cpu0 = process.cpuUsage();
  const t0 = now();
  const end = t0 + BigInt(durationMs) * 1_000_000n;
  while (now() < end) {
    if (published * N - received > MAX_IN_FLIGHT * N) {
      // Sleeping rather than polling back-to-back keeps the IPC chatter (which is
      // billed to the server's CPU) small compared with the work being measured.
      await sleep(1);
      received = (await clientCounts()).messages - before.messages;
      polls++;
      continue;
    }
    const s = now();
    for (let i = 0; i < BATCH; i++) publish();
    publishNs += now() - s;
    published += BATCH;
    // uWS flushes topic queues and drains socket backpressure from the event loop,
    // so yield every burst instead of publishing the whole window synchronously.
    await new Promise((r) => setImmediate(r));
  }
  // Keep the clock and the CPU meter running until the backlog reaches the clients,
  // so CPU and deliveries cover the same messages (the tail is at most MAX_IN_FLIGHT).
  let after = before;
  const deadline = now() + 5_000_000_000n;
  do {
    await sleep(1);
    after = await clientCounts();
    polls++;
  } while (after.messages - before.messages < published * N && now() < deadline);
  const wallUs = Number(now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const delivered = after.messages - before.messages;
  return {
    deliveredPerSec: delivered / (wallUs / 1e6),
    serverCpuUsPerMsg: (cpu.user + cpu.system) / delivered,
    publishCallUsPerMsg: Number(publishNs) / 1000 / delivered,
    serverCpuPct: (100 * (cpu.user + cpu.system)) / wallUs,
    clientCpuPct: (100 * (after.cpuMicros - before.cpuMicros)) / wallUs,
    loss: published * N - delivered,
    dropped,
    polls,
    // Non-zero means frames arrived truncated or merged: a correctness bug, not noise.
    badBytes: after.bytes - before.bytes - delivered * FRAME.length,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
}

// ---- lifecycle --------------------------------------------------------------
let listenSocket: us_listen_socket | undefined;
let finished = false;

function shutdown(): void {
  finished = true;
  if (listenSocket) uws.us_listen_socket_close(listenSocket);
  listenSocket = undefined;
  for (const child of children) child.kill();
  for (const ws of [...subscribers]) ws.close();
}

function fail(why: string): void {
  if (finished) return;
  console.error(`error: ${why}`);
  shutdown();
  process.exit(1);
}

// Last-resort guard so a wedged run never hangs CI; unref'd so it never keeps us alive.
setTimeout(() => fail('benchmark exceeded 120 s'), 120_000).unref();

async function main(): Promise<void> {
  listenSocket = await new Promise<us_listen_socket>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (s) => (s ? resolve(s) : reject(new Error('listen failed')))),
  );
  const port = uws.us_socket_local_port(listenSocket);
  // Clients live in separate processes: see fan-out-subscribers.ts for why.
  await startClients(`ws://127.0.0.1:${port}/`);
  if (subscribers.size !== N) fail(`expected ${N} subscribers, server has ${subscribers.size}`);
  console.log(`# N=${N} subscribers in ${CLIENT_PROCS} client process(es), frame ${FRAME.length} B, ${ROUNDS} rounds x ${DURATION_MS} ms, batch ${BATCH}, in-flight bound ${MAX_IN_FLIGHT} frames/subscriber`);

  for (const publish of Object.values(strategies)) await measure(publish, WARMUP_MS);
  const runs: Record<string, Result[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, publish] of Object.entries(strategies)) (runs[name] ??= []).push(await measure(publish, DURATION_MS));
  }

  const medians: Record<string, Result> = {};
  for (const [name, rs] of Object.entries(runs)) {
    const pick = (k: keyof Result) => median(rs.map((r) => r[k]));
    medians[name] = {
      deliveredPerSec: pick('deliveredPerSec'), serverCpuUsPerMsg: pick('serverCpuUsPerMsg'), publishCallUsPerMsg: pick('publishCallUsPerMsg'),
      serverCpuPct: pick('serverCpuPct'), clientCpuPct: pick('clientCpuPct'), loss: Math.max(...rs.map((r) => r.loss)),
      dropped: Math.max(...rs.map((r) => r.dropped)), polls: pick('polls'), badBytes: Math.max(...rs.map((r) => Math.abs(r.badBytes))),
    };
    if (medians[name]?.badBytes) console.error(`warning: ${name}: received byte count does not match messages x frame size`);
  }
  console.log('\n| strategy | delivered msg/s | server CPU µs/msg | publish call µs/msg | server CPU % | client CPU % | loss (max) | dropped (max) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const [name, m] of Object.entries(medians)) {
    console.log(`| ${name} | ${Math.round(m.deliveredPerSec).toLocaleString('en-US')} | ${m.serverCpuUsPerMsg.toFixed(3)} | ${m.publishCallUsPerMsg.toFixed(3)} | ${m.serverCpuPct.toFixed(0)} | ${m.clientCpuPct.toFixed(0)} | ${m.loss} | ${m.dropped} |`);
  }
  console.log(JSON.stringify({ node: process.version, cpu: os.cpus()[0]?.model, native, n: N, clientProcs: CLIENT_PROCS, frameBytes: FRAME.length, rounds: ROUNDS, durationMs: DURATION_MS, medians, runs }));
  shutdown();
}

main().catch((err: unknown) => fail(err instanceof Error ? err.stack ?? err.message : String(err)));
