import { type Logger, throttledLog } from '../log.js';

/**
 * Publishes to Redis that it has not acknowledged yet, bounded in bytes (docs/scaling.md, "When Redis is away"):
 * a publish while Redis is not connected, or while `maxPendingBytes` are already waiting, is dropped and said
 * in a throttled log line instead of queued, so a frozen Redis cannot grow the node's memory. Shared by both
 * brokers, which differ only in the command and the channel.
 */
export class BoundedPublishes {
  private pendingBytes = 0;
  private readonly logDropped: (fields: Record<string, unknown>) => void;

  constructor(
    private readonly maxPendingBytes: number,
    log: Logger,
  ) {
    this.logDropped = throttledLog(log, 'warn', 'redis publish dropped');
  }

  /** Sends `text` with `publish` when Redis `isReady` and there is room; drops it otherwise. */
  send(isReady: boolean, text: string, publish: (text: string) => Promise<unknown>): void {
    if (!isReady) return this.logDropped({ reason: 'redis is not connected' });
    if (this.pendingBytes >= this.maxPendingBytes) return this.logDropped({ reason: `over ${this.maxPendingBytes} bytes are waiting for redis` });
    // UTF-16 length, not bytes: a cheap bound that never undercounts by more than 3×.
    this.pendingBytes += text.length;
    const settled = () => {
      this.pendingBytes -= text.length;
    };
    publish(text).then(settled, (error: Error) => {
      settled();
      this.logDropped({ reason: error.message });
    });
  }
}
