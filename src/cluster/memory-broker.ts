import type { Broker } from './broker.js';
import type { ClusterMessage } from './cluster-message.js';

/**
 * Several nodes in one process, joined by a shared hub: the in-memory implementation the broker contract
 * tests run against beside Redis, and a way to test cluster behaviour without a server.
 */
export class MemoryHub {
  private readonly brokers = new Set<MemoryBroker>();

  broker(): Broker {
    return new MemoryBroker(this.brokers);
  }
}

class MemoryBroker implements Broker {
  private receive: ((message: ClusterMessage) => void) | undefined;

  constructor(private readonly members: Set<MemoryBroker>) {}

  async start(receive: (message: ClusterMessage) => void): Promise<void> {
    this.receive = receive;
    this.members.add(this);
  }

  send(message: ClusterMessage): void {
    // Asynchronously, like a network: a sender never sees other nodes receive inside its own call.
    for (const member of this.members) if (member !== this) queueMicrotask(() => member.receive?.(message));
  }

  async close(): Promise<void> {
    this.members.delete(this);
    this.receive = undefined;
  }
}
