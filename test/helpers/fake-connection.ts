import type { Test } from 'tap';
import { type App, AppRegistry, type Role } from '../../src/apps/app-registry.js';
import type { ChannelIndex } from '../../src/channels/channel-index.js';
import { type FanOut, LoopFanOut } from '../../src/channels/fan-out.js';
import type { Broker } from '../../src/cluster/broker.js';
import { ClusterNode } from '../../src/cluster/cluster-node.js';
import type { ClusterStore } from '../../src/cluster/cluster-store.js';
import type { HistoryStore } from '../../src/cluster/history-store.js';
import { type GatewayConfig, type GatewayOptions, resolveConfig } from '../../src/config.js';
import { SubscriptionErrors, type SubscriptionErrorName } from '../../src/errors.js';
import { GatewayNode } from '../../src/gateway-node.js';
import type { Logger } from '../../src/log.js';
import type { Connection } from '../../src/protocol/connection.js';
import type { Dialect } from '../../src/protocol/frames.js';
import { Session } from '../../src/session/session.js';

/**
 * A server frame parsed once: as `SentFrame`, `data` is still the JSON text the protocol requires; as
 * `DecodedFrame` it has been parsed as well.
 */
export interface SentFrame {
  readonly event: string;
  readonly channel?: string;
  readonly data: unknown;
}

export type DecodedFrame = SentFrame;

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

/** Asserts the connection got exactly one frame, a non-fatal error with `code`, and is still open. */
export function assertNonFatalError(
  t: Test,
  connection: FakeConnection,
  code: number,
  message: RegExp,
  prefix = 'broadcastt',
): void {
  t.same(
    connection.decoded().map((f) => f.event),
    [`${prefix}:error`],
    'exactly one error frame',
  );
  t.match(connection.last().data, { code, message });
  t.equal(connection.closed, undefined, 'connection stays open');
}

/** Asserts the connection got exactly one frame, a subscription_error for `channel` of `type`, and is still open. */
export function assertRefusedSubscription(t: Test, connection: FakeConnection, channel: string, type: SubscriptionErrorName, message: RegExp): void {
  t.same(
    connection.decoded().map((f) => [f.event, f.channel]),
    [['broadcastt:subscription_error', channel]],
    'exactly one subscription_error, for that channel',
  );
  t.match(connection.last().data, { type, status: SubscriptionErrors[type].status, error: message });
  t.equal(connection.closed, undefined, 'connection stays open');
}

/** A logger that keeps what it is told, so tests can assert nothing unexpected was logged. */
export function recordingLogger(): Logger & { readonly lines: Array<{ level: string; message: string }> } {
  const lines: Array<{ level: string; message: string }> = [];
  const at = (level: string) => (message: string) => {
    lines.push({ level, message });
  };
  return { lines, isDebug: false, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Lets promises settle: presence subscriptions complete asynchronously, once the cluster store answers. */
export function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A clock tests move by hand. */
export interface FakeClock {
  now: number;
}

export interface NodeOptions {
  /** Overrides for the one app (TEST_APP plus the schema defaults otherwise). */
  readonly app?: Partial<App>;
  /** Top-level config overrides (activityTimeout, pongTimeout, maxMessageBytes, ...). */
  readonly config?: Omit<GatewayOptions, 'apps'>;
  readonly clock?: FakeClock;
  readonly id?: string;
  /** Cluster parts: a node of an in-process cluster (MemoryHub, MemoryStoreHub); a single node by default. */
  readonly broker?: Broker;
  readonly store?: ClusterStore;
  /** The channels' history; a single node's memory streams by default. */
  readonly history?: HistoryStore;
  /** How frames reach the sockets; a loop over the members by default. */
  readonly fanOut?: FanOut;
}

export interface NodeFixture {
  readonly node: GatewayNode;
  readonly app: App;
  readonly config: GatewayConfig;
  readonly clock: FakeClock;
  readonly log: ReturnType<typeof recordingLogger>;
}

export const TEST_APP = { id: 'test-app', key: 'test-key', secret: 'test-secret' } as const;

/** Resolves one app through the config schema, so every limit not given is the documented default. */
export function testApp(overrides: NodeOptions['app'] = {}, config: NodeOptions['config'] = {}): { app: App; config: GatewayConfig } {
  const resolved = resolveConfig({ ...config, apps: [{ ...TEST_APP, ...overrides }] });
  const app = resolved.apps[0];
  if (!app) throw new Error('resolveConfig returned no app');
  return { app, config: resolved };
}

/**
 * The gateway's own node over LoopFanOut, with a hand-moved clock and a recording logger. It is not
 * started: sweeps are run by hand, and a cluster store given here must be started by the test.
 */
export function makeNode(options: NodeOptions = {}): NodeFixture {
  const { app, config } = testApp(options.app, options.config);
  const clock = options.clock ?? { now: 1_000_000 };
  const log = recordingLogger();
  const id = options.id ?? 'node-a';
  const cluster = ClusterNode.of(id, config, log, { broker: options.broker, store: options.store, history: options.history });
  const node = new GatewayNode({ id, config, apps: new AppRegistry(config.apps), log, fanOut: options.fanOut ?? new LoopFanOut(), cluster, now: () => clock.now });
  return { node, app, config, clock, log };
}

export interface SessionOptions extends NodeOptions {
  readonly dialect?: Dialect;
  readonly socketId?: string;
  /** The credential the connection was made with: the app key (trusted) or a consumer key. */
  readonly role?: Role;
  /** Put the session on this node (beside other sessions); a new node of its own otherwise. */
  readonly on?: NodeFixture;
}

export interface SessionFixture extends NodeFixture {
  readonly session: Session;
  readonly connection: FakeConnection;
  readonly index: ChannelIndex;
  /** Feeds one text message to the session, as the transport would. */
  send(message: unknown): void;
}

/**
 * A Session over a FakeConnection on a real GatewayNode (its own, or `on`'s). The session is not opened:
 * call `session.open()` when the test is about connection_established.
 */
export function makeSession(options: SessionOptions = {}): SessionFixture {
  const host = options.on ?? makeNode(options);
  const app = options.on && options.app ? testApp(options.app, options.config).app : host.app;
  const connection = new FakeConnection();
  const session = new Session(connection, app, options.role ?? 'trusted', options.dialect ?? 'broadcastt', options.socketId ?? '123.456', host.node);
  host.node.sessions.add(session);
  const send = (message: unknown) => {
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    session.receive(Buffer.from(text), false);
  };
  return { ...host, app, session, connection, index: host.node.index, send };
}
