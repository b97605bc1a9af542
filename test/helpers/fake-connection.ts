import type { App, Role } from '../../src/apps/app-registry.js';
import { ChannelIndex } from '../../src/channels/channel-index.js';
import { LoopFanOut } from '../../src/channels/fan-out.js';
import { PresenceChannels } from '../../src/channels/presence-channels.js';
import { type ClusterStore, SingleNodeStore } from '../../src/cluster/cluster-store.js';
import { PendingBroadcasts } from '../../src/broadcasts/pending-broadcasts.js';
import { type GatewayConfig, type GatewayOptions, resolveConfig } from '../../src/config.js';
import type { Logger } from '../../src/log.js';
import type { Connection } from '../../src/protocol/connection.js';
import type { Dialect } from '../../src/protocol/frames.js';
import { Session, type SessionContext } from '../../src/protocol/session.js';

/** A server frame as sent on the wire, parsed once: `data` is still the JSON text the protocol requires. */
export interface SentFrame {
  readonly event: string;
  readonly channel?: string;
  readonly data: unknown;
}

/** A server frame with its `data` string parsed as well. */
export interface DecodedFrame {
  readonly event: string;
  readonly channel?: string;
  readonly data: unknown;
}

/**
 * A Connection that records what the protocol does to it. Like the real transport, it ignores sends
 * once it is closed or terminated; `sentAfterClose` counts those, so tests can assert on ordering.
 */
export class FakeConnection implements Connection {
  /** Frames exactly as sent, in order. */
  readonly sent: string[] = [];
  closed?: { code: number; reason: string };
  pings = 0;
  terminated = false;
  sentAfterClose = 0;
  /** What bufferedAmount() reports; set it to simulate a slow consumer. */
  buffered = 0;
  /** Called on close(), as the transport's close handler would be. */
  onClose?: () => void;

  send(frame: string): void {
    if (this.closed || this.terminated) {
      this.sentAfterClose++;
      return;
    }
    this.sent.push(frame);
  }

  close(code: number, reason: string): void {
    if (this.closed || this.terminated) return;
    this.closed = { code, reason };
    this.onClose?.();
  }

  terminate(): void {
    this.terminated = true;
  }

  ping(): void {
    this.pings++;
  }

  bufferedAmount(): number {
    return this.buffered;
  }

  /** Every sent frame, JSON-parsed; `data` left as the string that was sent. */
  frames(): SentFrame[] {
    return this.sent.map((text) => JSON.parse(text) as SentFrame);
  }

  /** Every sent frame with `data` JSON-parsed too (a non-string `data` is kept as is). */
  decoded(): DecodedFrame[] {
    return this.frames().map((frame) => ({
      ...frame,
      data: typeof frame.data === 'string' ? (JSON.parse(frame.data) as unknown) : frame.data,
    }));
  }

  /** The last frame sent, decoded; throws if nothing was sent. */
  last(): DecodedFrame {
    const frame = this.decoded().at(-1);
    if (!frame) throw new Error('no frame was sent');
    return frame;
  }

  /** Forgets the frames sent so far. */
  clear(): void {
    this.sent.length = 0;
  }
}

/** A logger that keeps what it is told, so tests can assert nothing unexpected was logged. */
export function recordingLogger(): Logger & { readonly lines: Array<{ level: string; message: string }> } {
  const lines: Array<{ level: string; message: string }> = [];
  const at = (level: string) => (message: string) => {
    lines.push({ level, message });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Lets promises settle: presence subscriptions complete asynchronously, once the cluster store answers. */
export function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A clock tests move by hand. */
export interface FakeClock {
  now: number;
}

export interface SessionOptions {
  readonly dialect?: Dialect;
  /** Overrides for the one app (TEST_APP plus the schema defaults otherwise). */
  readonly app?: Partial<App>;
  /** Top-level config overrides (activityTimeout, pongTimeout, maxMessageBytes, ...). */
  readonly config?: Omit<GatewayOptions, 'apps'>;
  readonly socketId?: string;
  /** Reuse an index, e.g. to put several sessions in one. */
  readonly index?: ChannelIndex;
  /** Reuse presence together with the index, for presence across sessions. */
  readonly presence?: PresenceChannels;
  /** The cluster store new presence is built on (a single node's by default). */
  readonly store?: ClusterStore;
  /** Reuse pending broadcasts, for broadcasts and responses across sessions. */
  readonly broadcasts?: PendingBroadcasts;
  /** The credential the connection was made with: the app key (trusted) or a consumer key. */
  readonly role?: Role;
  readonly clock?: FakeClock;
}

export interface SessionFixture {
  readonly session: Session;
  readonly connection: FakeConnection;
  readonly clock: FakeClock;
  readonly index: ChannelIndex;
  readonly app: App;
  readonly config: GatewayConfig;
  readonly context: SessionContext;
  readonly log: ReturnType<typeof recordingLogger>;
  /** Feeds one text message to the session, as the transport would. */
  send(message: unknown): void;
  /** User ids the session reported signing in as. */
  readonly signedIn: string[];
}

export const TEST_APP = { id: 'test-app', key: 'test-key', secret: 'test-secret' } as const;

/** Resolves one app through the config schema, so every limit not given is the documented default. */
export function testApp(overrides: SessionOptions['app'] = {}, config: SessionOptions['config'] = {}): { app: App; config: GatewayConfig } {
  const resolved = resolveConfig({ ...config, apps: [{ ...TEST_APP, ...overrides }] });
  const app = resolved.apps[0];
  if (!app) throw new Error('resolveConfig returned no app');
  return { app, config: resolved };
}

/**
 * A Session over a FakeConnection with a hand-moved clock and a ChannelIndex over LoopFanOut. The
 * session is not opened: call `session.open()` when the test is about connection_established.
 */
export function makeSession(options: SessionOptions = {}): SessionFixture {
  const { app, config } = testApp(options.app, options.config);
  const clock = options.clock ?? { now: 1_000_000 };
  const index = options.index ?? new ChannelIndex(new LoopFanOut());
  const log = recordingLogger();
  const store = options.store ?? new SingleNodeStore();
  const context: SessionContext = {
    index,
    presence: options.presence ?? new PresenceChannels(index, () => store, () => {}, log),
    broadcasts: options.broadcasts ?? new PendingBroadcasts(),
    publish: (appId, channel, encode, except) => index.publish(appId, channel, encode, except),
    respond: (appId, id, channel, payload) => {
      context.broadcasts.respond(appId, id, channel, payload);
    },
    onSignedIn: (_session, userId) => signedIn.push(userId),
    onClosed: () => {},
    log,
    now: () => clock.now,
    activityTimeoutMs: config.activityTimeout * 1000,
    pongTimeoutMs: config.pongTimeout * 1000,
    maxMessageBytes: config.maxMessageBytes,
    maxBackpressureBytes: config.maxBackpressureBytes,
  };
  const signedIn: string[] = [];
  const connection = new FakeConnection();
  const session = new Session(connection, app, options.role ?? 'trusted', options.dialect ?? 'broadcastt', options.socketId ?? '123.456', context);
  const send = (message: unknown) => {
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    session.receive(Buffer.from(text), false);
  };
  return { session, connection, clock, index, app, config, context, log, send, signedIn };
}
