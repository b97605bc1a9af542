/** A broadcast or event as a listener receives it. */
export interface Message {
  /** The broadcast id; absent on plain events, which cannot be answered. */
  readonly id?: string;
  readonly name: string;
  /** The channel's wire name. */
  readonly channel: string;
  readonly payload: unknown;
  /** On client events in presence channels: the sender. */
  readonly userId?: string;
  /** On history channels: the event's offset in the channel's stream (PROTOCOL.md §9). */
  readonly offset?: number;
}

/** Answers the broadcast (any number of times); false when it cannot be sent (plain event, or offline). */
export type Respond = (response: unknown) => boolean;

export type ListenCallback = (payload: unknown, respond: Respond, message: Message) => void;

/** One queued delivery, as `wait()` returns it. */
export interface Delivery {
  readonly payload: unknown;
  readonly respond: Respond;
  readonly message: Message;
}

interface Queued extends Delivery {
  readonly at: number;
}

/**
 * One registration on a channel: a callback for one event name, or for every event (name undefined). Every
 * delivery is also queued for `wait()`, as in the EXP SDKs; entries older than maxAgeMs are dropped, and at
 * most `limit` are kept, so an unused queue costs bounded memory.
 */
export class Listener {
  private readonly queue: Queued[] = [];
  private readonly waiters: Array<(delivery: Delivery | null) => void> = [];
  private cancelled = false;

  constructor(
    readonly channel: string,
    readonly name: string | undefined,
    readonly context: string,
    private readonly callback: ListenCallback | undefined,
    private readonly limits: { readonly maxAgeMs: number; readonly limit: number; readonly now: () => number },
    private readonly onCancel: (listener: Listener) => void,
    /** Where an exception thrown by the callback goes, so it cannot break delivery to other listeners. */
    private readonly onCallbackError: (error: unknown) => void,
  ) {}

  get active(): boolean {
    return !this.cancelled;
  }

  /** Stops delivery; the channel is unsubscribed when no listener is left on it. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.queue.length = 0;
    for (const waiter of this.waiters.splice(0)) waiter(null);
    this.onCancel(this);
  }

  /** The oldest queued delivery, or the next one within `timeoutMs`, or null. */
  wait(timeoutMs = 0): Promise<Delivery | null> {
    this.prune();
    const oldest = this.queue.shift();
    if (oldest) return Promise.resolve(strip(oldest));
    if (this.cancelled || timeoutMs <= 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve(null);
      }, timeoutMs);
      const waiter = (delivery: Delivery | null) => {
        clearTimeout(timer);
        resolve(delivery);
      };
      this.waiters.push(waiter);
    });
  }

  /** @internal Called by the runtime for every matching message, with this listener's own payload copy. */
  deliver(delivery: Delivery): void {
    if (this.cancelled) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter(delivery);
    else {
      this.queue.push({ ...delivery, at: this.limits.now() });
      if (this.queue.length > this.limits.limit) this.queue.shift();
    }
    try {
      this.callback?.(delivery.payload, delivery.respond, delivery.message);
    } catch (error) {
      this.onCallbackError(error);
    }
  }

  private prune(): void {
    const oldest = this.limits.now() - this.limits.maxAgeMs;
    while (this.queue.length > 0 && (this.queue[0] as Queued).at < oldest) this.queue.shift();
  }
}

function strip({ payload, respond, message }: Queued): Delivery {
  return { payload, respond, message };
}
