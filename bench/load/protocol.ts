/** IPC between the benchmark orchestrator (bench/run.ts) and its load-generator processes (clients.ts). */

export type ClientCommand =
  /**
   * Opens one connection per entry of `channels`, subscribing it to those channels, and waits for every
   * ack. With `respond`, every broadcast (an event with a top-level id) is answered once.
   */
  | { type: 'open'; id: number; url: string; channels: string[][]; measureLatency: boolean; respond?: boolean }
  /** Messages received since the connections opened, and this process's CPU time. */
  | { type: 'counts'; id: number }
  /** Latency samples (µs) collected since the last call; clears them. */
  | { type: 'latencies'; id: number }
  /** Closes every connection and waits until they are closed. */
  | { type: 'close'; id: number }
  /** Connects, subscribes and disconnects `cycles` times, `concurrency` at a time. */
  | { type: 'churn'; id: number; url: string; cycles: number; concurrency: number };

export type ClientReply =
  | { type: 'ready' }
  | { type: 'done'; id: number; messages?: number; cpuMicros?: number; latencies?: number[] }
  | { type: 'error'; message: string };

/**
 * Published payloads carry their publish time as `"t":<µs>` from process.hrtime (CLOCK_MONOTONIC, shared by
 * all processes of the machine). Inside a frame the payload is JSON text in a string, so the marker there is
 * `\"t\":`; clients find it by scanning instead of parsing the frame, to keep their own cost low.
 */
export const TIME_MARKER = '\\"t\\":';

export function nowMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** A payload of about `bytes` bytes of JSON text, stamped with the current time. */
export function stampedPayload(bytes: number): string {
  const head = `{"t":${nowMicros()},"pad":"`;
  return `${head}${'x'.repeat(Math.max(0, bytes - head.length - 2))}"}`;
}
