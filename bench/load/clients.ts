// A load-generator process: many `ws` clients speaking the broadcastt protocol subset every benchmarked
// server serves (connection_established, subscribe → subscription_succeeded, channel events). It runs in
// its own process so the server's CPU figures contain no client work. Driven over IPC (./protocol.ts).
import WebSocket from 'ws';
import { type ClientCommand, type ClientReply, nowMicros, TIME_MARKER } from './protocol.js';

/** Handshakes in flight at once: opening thousands at once overflows the listen backlog on a 2-core box. */
const CONNECT_CONCURRENCY = 100;

let messages = 0;
let latencies: number[] = [];
let measureLatency = false;
let respond = false;
const sockets = new Set<WebSocket>();

const reply = (message: ClientReply): void => {
  process.send?.(message);
};

function latencyOf(frame: string): number | undefined {
  const at = frame.indexOf(TIME_MARKER);
  if (at < 0) return undefined;
  const sent = Number.parseInt(frame.slice(at + TIME_MARKER.length, at + TIME_MARKER.length + 20), 10);
  return Number.isFinite(sent) ? nowMicros() - sent : undefined;
}

/** Opens a connection, subscribes it to `channels` and resolves once every subscription is acknowledged. */
function open(url: string, channels: readonly string[], keep: boolean): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
    let acks = 0;
    let subscribed = false;
    ws.on('error', reject);
    const subscribedAll = () => {
      subscribed = true;
      if (keep) sockets.add(ws);
      resolve(ws);
    };
    ws.on('message', (data: Buffer) => {
      if (subscribed) {
        messages++;
        if (measureLatency) {
          const latency = latencyOf(data.toString());
          if (latency !== undefined) latencies.push(latency);
        }
        if (respond) answer(ws, data.toString());
        return;
      }
      const text = data.toString();
      if (text.includes('connection_established')) {
        if (channels.length === 0) return subscribedAll();
        for (const channel of channels) ws.send(JSON.stringify({ event: 'broadcastt:subscribe', data: { channel } }));
      } else if (text.includes('subscription_succeeded')) {
        if (++acks === channels.length) subscribedAll();
      } else {
        reject(new Error(`unexpected frame before subscribing: ${text.slice(0, 200)}`));
      }
    });
    ws.on('close', (code) => {
      sockets.delete(ws);
      if (!subscribed) reject(new Error(`closed (${code}) before subscribing`));
    });
  });
}

/** Answers a broadcast (an event frame with a top-level `id`). */
function answer(ws: WebSocket, text: string): void {
  if (!text.includes('"id":"')) return;
  const { id, channel } = JSON.parse(text) as { id?: string; channel?: string };
  if (id !== undefined) ws.send(JSON.stringify({ event: 'broadcastt:response', data: { id, channel, payload: { ok: true } } }));
}

async function inBatches(count: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

function closeOne(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    ws.once('close', () => resolve());
    ws.close();
  });
}

async function handle(command: ClientCommand): Promise<void> {
  switch (command.type) {
    case 'open': {
      measureLatency = command.measureLatency;
      respond = command.respond === true;
      await inBatches(command.channels.length, CONNECT_CONCURRENCY, (i) => open(command.url, command.channels[i] ?? [], true));
      return reply({ type: 'done', id: command.id });
    }
    case 'counts': {
      const cpu = process.cpuUsage();
      return reply({ type: 'done', id: command.id, messages, cpuMicros: cpu.user + cpu.system });
    }
    case 'latencies': {
      const taken = latencies;
      latencies = [];
      return reply({ type: 'done', id: command.id, latencies: taken });
    }
    case 'close':
      await Promise.all([...sockets].map(closeOne));
      return reply({ type: 'done', id: command.id });
    case 'churn':
      await inBatches(command.cycles, command.concurrency, async (i) => closeOne(await open(command.url, [`churn-${i % 100}`], false)));
      return reply({ type: 'done', id: command.id });
  }
}

process.on('message', (command: ClientCommand) => {
  handle(command).catch((error: unknown) => reply({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }));
});
// The orchestrator owns this process's lifetime.
process.on('disconnect', () => process.exit(0));
reply({ type: 'ready' });
