import WebSocket from 'ws';
import { decodeServerFrame, type Frame } from './server-frames.js';

export type { Frame };
type Match = string | ((frame: Frame) => boolean);

/** How long a test waits for a frame before failing loudly. Not a sleep: waits end on the event. */
export const WAIT_MS = 5000;

/**
 * A real `ws` client that checks every frame the server sends against protocol/ (a frame that does not
 * conform fails the next wait) and lets tests await frames by event name or predicate.
 */
export class TestClient {
  readonly received: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private queue: Frame[] = [];
  private waiters: Array<{ match: Match; resolve: (f: Frame) => void; reject: (e: Error) => void }> = [];
  private failure: Error | undefined;

  private constructor(
    readonly ws: WebSocket,
    /** Checks and decodes one frame; throws when it does not conform (the console's socket has its own). */
    private readonly decode: (text: string) => Frame = decodeServerFrame,
  ) {
    ws.on('message', (raw, isBinary) => this.onMessage(raw.toString(), isBinary));
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        const error = new Error(`connection closed (${code} ${reason.toString()}) while waiting for a frame`);
        for (const waiter of this.waiters.splice(0)) waiter.reject(error);
        resolve({ code, reason: reason.toString() });
      });
    });
  }

  static connect(url: string, options: WebSocket.ClientOptions = {}, decode?: (text: string) => Frame): Promise<TestClient> {
    const ws = new WebSocket(url, options);
    const client = new TestClient(ws, decode);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  /** Connects and waits for connection_established; returns the client and its socket id. */
  static async established(url: string, options?: WebSocket.ClientOptions): Promise<{ client: TestClient; socketId: string }> {
    const client = await TestClient.connect(url, options);
    const frame = await client.next((f) => f.event.endsWith(':connection_established'));
    return { client, socketId: frame.data.socket_id as string };
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  /** The next frame (in order) matching `match`; earlier non-matching frames stay queued. */
  next(match: Match, timeoutMs = WAIT_MS): Promise<Frame> {
    if (this.failure) return Promise.reject(this.failure);
    const index = this.queue.findIndex((f) => matches(match, f));
    if (index >= 0) return Promise.resolve(this.queue.splice(index, 1)[0] as Frame);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (f: Frame) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no frame matching ${String(match)} within ${timeoutMs} ms; queued: ${JSON.stringify(this.queue)}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Frames received and not yet consumed by next(). */
  pending(): readonly Frame[] {
    return this.queue;
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }

  private onMessage(text: string, isBinary: boolean): void {
    let frame: Frame;
    try {
      if (isBinary) throw new Error('server sent a binary frame');
      frame = this.decode(text);
    } catch (error) {
      this.failure = error as Error;
      for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
      return;
    }
    this.received.push(frame);
    const index = this.waiters.findIndex((w) => matches(w.match, frame));
    if (index >= 0) this.waiters.splice(index, 1)[0]?.resolve(frame);
    else this.queue.push(frame);
  }
}

/** Resolves once `condition` holds, checking after each event-loop turn; fails after `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function matches(match: Match, frame: Frame): boolean {
  return typeof match === 'string' ? frame.event === match : match(frame);
}
