import type { ClusterMessage } from './cluster-message.js';

/**
 * The seam between nodes (D12): cross-node messages, frames already encoded. A node delivers a publish to
 * its own subscribers itself and sends it through the broker to every other node; a message never comes
 * back to its origin, but for a stored publication (D18), which Redis publishes to every node, its origin
 * included, as it assigns its offset (redis-history-store.ts). Implementations only move bytes; what a message means is decided above the seam, by
 * the GatewayNode. Siblings: memory-broker.ts (one process) and redis-broker.ts.
 */
export interface Broker {
  /** Starts receiving the other nodes' messages. */
  start(receive: (message: ClusterMessage) => void): Promise<void>;
  /** Sends to every other node; never blocks the caller and drops the message if the broker is unreachable. */
  send(message: ClusterMessage): void;
  close(): Promise<void>;
}

/** A single node: there is nobody to tell. The default. */
export class SingleNodeBroker implements Broker {
  async start(): Promise<void> {}

  send(): void {}

  async close(): Promise<void> {}
}
