// The IPC side every benchmarked server shares: it reports its port, publishes in-process bursts on
// request, and exits with the orchestrator. A server only supplies `publish`.
import { stampedPayload } from '../load/protocol.js';

export type ServerCommand =
  /** Publishes `count` events round-robin over `channels`, synchronously, each stamped with its publish time. */
  | { type: 'publish'; id: number; channels: string[]; count: number; payloadBytes: number }
  /**
   * A full garbage collection (servers run with --expose-gc), so memory figures show what is retained rather
   * than when V8 last happened to collect.
   */
  | { type: 'gc'; id: number };

export type ServerReply =
  | { type: 'listening'; port: number }
  /** `heapUsed` (bytes) answers a gc: the JS heap the server retains, its own code's share of memory. */
  | { type: 'done'; id: number; heapUsed?: number }
  | { type: 'error'; message: string };

/** The REST-shaped publish every server accepts: POST /apps/<id>/events with a Pusher single trigger. */
export const BENCH_APP = { id: 'bench', key: 'bench-key', secret: 'bench-secret-0123' } as const;
export const EVENT_NAME = 'tick';
/** Where that publish goes. */
export const EVENTS_PATH = `/apps/${BENCH_APP.id}/events`;

export interface BenchServer {
  readonly port: number;
  publish(channel: string, event: string, data: string): void;
  /** Releases what outlives the process (a clustered gateway's entries in Redis) before it exits. */
  close?(): Promise<void>;
}

export async function serve(start: () => Promise<BenchServer>): Promise<void> {
  const reply = (message: ServerReply): void => {
    process.send?.(message);
  };
  try {
    const server = await start();
    process.on('message', (command: ServerCommand) => {
      if (command.type === 'gc') {
        (globalThis as { gc?: () => void }).gc?.();
        return reply({ type: 'done', id: command.id, heapUsed: process.memoryUsage().heapUsed });
      }
      const { channels, count, payloadBytes } = command;
      for (let i = 0; i < count; i++) server.publish(channels[i % channels.length] as string, EVENT_NAME, stampedPayload(payloadBytes));
      reply({ type: 'done', id: command.id });
    });
    process.on('disconnect', () => void (server.close?.() ?? Promise.resolve()).finally(() => process.exit(0)));
    reply({ type: 'listening', port: server.port });
  } catch (error) {
    reply({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exit(1);
  }
}
