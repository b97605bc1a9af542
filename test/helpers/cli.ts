import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { WAIT_MS } from './ws-client.js';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

/** The gateway CLI as a child process, as users run it (through tsx, so no build is needed). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env, ...env } });
}

/** Collects a stream's text until `pattern` appears; fails after a while instead of hanging. */
export function waitFor(stream: NodeJS.ReadableStream, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in output within ${WAIT_MS * 2} ms: ${text}`)), WAIT_MS * 2);
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = pattern.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
  });
}

/**
 * A free port below the kernel's ephemeral range. A restart test must reuse its server's port while a client
 * keeps reconnecting to it; with a port from the ephemeral range (what port 0 gives), a reconnect attempt
 * can be handed that very port as its source and connect to itself, and the restarted server cannot bind.
 */
export async function portOutsideEphemeralRange(): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const { createServer } = await import('node:net');
  const [low] = (await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/).map(Number);
  const top = Math.min(low ?? 32768, 32768);
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * (top - 10_000));
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}
