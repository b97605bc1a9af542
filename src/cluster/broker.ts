import type { ClusterMessage } from './cluster-message.js';

/**
 * The seam between nodes (D12): cross-node messages, frames already encoded. A node delivers a publish to
 * its own subscribers itself and sends it through the broker to the other nodes; a message never comes
 * back to its origin, but for a stored publication (D18), which Redis publishes to the nodes, its origin
 * included, as it assigns its offset (redis-history-store.ts). Implementations only move bytes; what a message
 * means is decided above the seam, by the GatewayNode. Siblings: memory-broker.ts (one process),
 * redis-broker.ts (every node receives everything) and redis-sharded-broker.ts (D21: a node receives the
 * channels it follows).
 */
export interface Broker {
  /** Starts receiving the other nodes' messages. */
  start(receive: (message: ClusterMessage) => void): Promise<void>;
  /**
   * Sends to the other nodes that need it: a channel's messages to those following the channel (all of them,
   * for a broker without `follow`), a broadcast response to its target, the rest to every node. Never blocks
   * the caller and drops the message if the broker is unreachable.
   */
  send(message: ClusterMessage): void;
  /**
   * For brokers that route by channel (D21): this node has subscribers on the channel (called on each join).
   * Undefined once the channel's messages reach this node; otherwise a promise that settles when they do, or
   * when the broker gave up waiting (Redis is away: it goes on trying and the node carries on locally). Never
   * rejects.
   */
  follow?(appId: string, channel: string): Promise<void> | undefined;
  /** This node's last subscriber left the channel: its messages may stop coming (after a linger). */
  unfollow?(appId: string, channel: string): void;
  close(): Promise<void>;
}

/** A single node: there is nobody to tell. The default. */
export class SingleNodeBroker implements Broker {
  async start(): Promise<void> {}

  send(): void {}

  async close(): Promise<void> {}
}
