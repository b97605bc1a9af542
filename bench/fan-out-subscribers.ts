// Load generator for bench/fan-out-strategies.ts, run as a forked child process.
//
// It lives in its own process so that the server's process.cpuUsage() measures
// only server work: a `ws` client decoding frames is far more expensive per
// message than uWS sending them, and would otherwise swamp the figure we want.
//
// Usage (normally via fork from the benchmark): fan-out-subscribers.ts <url> <count>
// IPC protocol:
//   child -> parent  { type: 'ready' } once every connection is open
//                    { type: 'counts', id, messages, bytes, cpuMicros }
//                    { type: 'error', message }
//   parent -> child  { type: 'count', id }
import WebSocket from 'ws';

export type ParentMessage = { type: 'count'; id: number };
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'counts'; id: number; messages: number; bytes: number; cpuMicros: number }
  | { type: 'error'; message: string };

// Opening 1000 sockets at once can overflow the listen backlog on a busy
// 2-core box; a bounded number of concurrent handshakes keeps setup reliable.
const CONNECT_CONCURRENCY = 100;

function reply(msg: ChildMessage): void {
  process.send?.(msg);
}

async function main(): Promise<void> {
  const [url, countArg] = process.argv.slice(2);
  const count = Number(countArg);
  if (!url || !Number.isInteger(count) || count <= 0) {
    throw new Error('usage: fan-out-subscribers.ts <url> <count>');
  }
  if (!process.send) throw new Error('must be started with an IPC channel (child_process.fork)');

  let messages = 0;
  let bytes = 0;
  let ready = false;

  const connect = () =>
    new Promise<void>((resolve, reject) => {
      // skipUTF8Validation and no deflate keep the per-message client cost as
      // low as `ws` allows, since the client side is the likely bottleneck.
      const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
      ws.on('open', () => resolve());
      ws.on('error', (err) => (ready ? reply({ type: 'error', message: String(err) }) : reject(err)));
      // A server-side close mid-run (e.g. backpressure limit) would silently shrink N.
      ws.on('close', (code) => ready && reply({ type: 'error', message: `socket closed by server (code ${code})` }));
      ws.on('message', (data: Buffer) => {
        messages++;
        bytes += data.length;
      });
    });

  for (let opened = 0; opened < count; opened += CONNECT_CONCURRENCY) {
    const batch = Math.min(CONNECT_CONCURRENCY, count - opened);
    await Promise.all(Array.from({ length: batch }, connect));
  }
  ready = true;

  process.on('message', (msg: ParentMessage) => {
    if (msg.type !== 'count') return;
    const cpu = process.cpuUsage();
    reply({ type: 'counts', id: msg.id, messages, bytes, cpuMicros: cpu.user + cpu.system });
  });
  // The parent owns our lifetime; if it goes away (or kills the IPC channel) we go too.
  process.on('disconnect', () => process.exit(0));
  reply({ type: 'ready' });
}

main().catch((err: unknown) => {
  reply({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) });
  process.exit(1);
});
