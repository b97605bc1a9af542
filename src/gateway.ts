import { accessSync, constants } from 'node:fs';
import { nanoid } from 'nanoid';
import { type App, AppRegistry } from './apps/app-registry.js';
import { broadcastTimeoutMs, checkBroadcastName, payloadText } from './broadcasts/broadcast-event.js';
import type { ClusterParts } from './cluster/cluster-node.js';
import { ConfigError, type GatewayConfig, type GatewayOptions, resolveConfig } from './config.js';
import { GatewayConsole } from './console/gateway-console.js';
import { HttpError } from './errors.js';
import { GatewayNode, type Health } from './gateway-node.js';
import { createApi } from './http/api.js';
import { asHttp } from './http/request-body.js';
import { createLogger, type Logger } from './log.js';
import { type GatewayMetrics, NO_METRICS } from './metrics/gateway-metrics.js';
import type { MetricsServer } from './metrics/metrics-server.js';
import { type ChannelRef, resolveChannel } from './protocol/channel-name.js';
import { dataAsJsonText, encodeFrame } from './protocol/codec.js';
import { FALLBACK_WARNING, isNativeUws } from './transport/uws.js';
import { UwsServer } from './transport/uws-server.js';

export interface PublishOptions {
  /** The publisher's own socket, which should not receive the event (Pusher `socket_id`). */
  readonly exceptSocketId?: string;
}

export interface BroadcastOptions {
  /** How long to collect responses; the app's broadcastTimeoutMs when absent, at most maxBroadcastTimeoutMs. */
  readonly timeoutMs?: number;
}

/**
 * A gateway embedded in a Node process. Methods other than listen and close need it listening. Errors are
 * HttpErrors carrying the catalogue name, as REST answers them (AppNotFound, BadRequest, TooManyBroadcasts…).
 */
export interface Gateway {
  readonly config: GatewayConfig;
  readonly nodeId: string;
  /** Serving wss:// and https:// (tlsCertFile is set). */
  readonly isSecure: boolean;
  /** Starts serving; resolves to the bound port (pass 0 for a free one). */
  listen(port?: number, host?: string): Promise<number>;
  /**
   * Publishes an event to a channel's subscribers on every node. `data` is JSON text (delivered
   * verbatim), any other string (delivered as a JSON string), or a value (JSON-encoded).
   * Returns how many subscribers the channel has on this node.
   */
  publish(appId: string, channel: string, event: string, data: unknown, options?: PublishOptions): number;
  /**
   * Broadcasts `name` with `payload` on a channel (a wire name or ID, or `{name, system, consumer}`) and
   * resolves, after the timeout, to the response payloads (D9). Like REST, it may use system channels.
   */
  broadcast(appId: string, channel: ChannelRef, name: string, payload: unknown, options?: BroadcastOptions): Promise<unknown[]>;
  health(): Health;
  /** The port of the Prometheus endpoint once listening, when metrics are on (metricsPort ≥ 0). */
  metricsPort(): number | undefined;
  /** Stops accepting, tells every client to reconnect elsewhere (4200), and resolves once all are gone. */
  close(): Promise<void>;
}

/** The uWS server for the configuration; a TLS certificate or key that cannot be loaded is a ConfigError. */
function transportFor(config: GatewayConfig): UwsServer {
  const tls = config.tlsCertFile === '' ? undefined : { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile, passphrase: config.tlsPassphrase };
  for (const [setting, file] of tls ? [['tlsCertFile', tls.certFile], ['tlsKeyFile', tls.keyFile]] : []) {
    try {
      accessSync(file as string, constants.R_OK);
    } catch (error) {
      throw new ConfigError(`config.${setting}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  try {
    return new UwsServer({
      maxFrameBytes: config.maxFrameBytes,
      maxBackpressureBytes: config.maxBackpressureBytes,
      maxRequestBytes: config.maxRequestBytes,
      maxRequestBytesInFlight: config.maxRequestBytesInFlight,
      // Well after the sweep would have closed a silent peer with 4201; uWS wants a multiple of 4 s.
      idleTimeoutSeconds: Math.min(960, 4 * Math.ceil((config.activityTimeout + 2 * config.pongTimeout + 8) / 4)),
      tls,
    });
  } catch (error) {
    throw new ConfigError(`config.tlsCertFile: ${(error as Error).message}`);
  }
}

/**
 * The metrics for the configuration: none while metricsPort is -1, else prom-client's and their server, loaded
 * only then (prom-client costs about 12 MB of RSS and a tenth of a second at startup).
 */
async function metricsFor(config: GatewayConfig, log: Logger): Promise<{ counts: GatewayMetrics; server?: MetricsServer }> {
  if (config.metricsPort < 0) return { counts: NO_METRICS };
  const [{ PrometheusMetrics }, { MetricsServer }] = await Promise.all([import('./metrics/prometheus-metrics.js'), import('./metrics/metrics-server.js')]);
  const counts = new PrometheusMetrics(config.metricsPrefix);
  return { counts, server: new MetricsServer(counts, log) };
}

export interface GatewayDependencies extends ClusterParts {
  readonly logger?: Logger;
}

/**
 * The composition root: configuration → node → REST API (and the console, when on) → transport. Configuration
 * errors throw here (ConfigError); everything else is built when the gateway starts listening.
 */
export function createGateway(options: GatewayOptions & GatewayDependencies = {}): Gateway {
  const { logger, broker, store, history, ...settings } = options;
  const config = resolveConfig(settings);
  const apps = new AppRegistry(config.apps);
  const log = logger ?? createLogger(config.logLevel);
  const nodeId = nanoid(12);
  const transport = transportFor(config);
  let metricsServer: MetricsServer | undefined;
  let metricsPort: number | undefined;
  let node: GatewayNode | undefined;
  let debugConsole: GatewayConsole | undefined;
  let starting: Promise<number> | undefined;
  let closing: Promise<void> | undefined;

  async function start(port: number, host: string): Promise<number> {
    if (!isNativeUws) log.warn(FALLBACK_WARNING);
    const metrics = await metricsFor(config, log);
    metricsServer = metrics.server;
    const started = await GatewayNode.create({ id: nodeId, config, apps, log, fanOut: transport.fanOut(), metrics: metrics.counts }, { broker, store, history });
    const gatewayConsole = config.console ? new GatewayConsole({ apps, node: started, log, tokenTtlSeconds: config.consoleTokenTtlSeconds }) : undefined;
    [node, debugConsole] = [started, gatewayConsole];
    const api = createApi({ apps, log, nowSeconds: () => Math.floor(Date.now() / 1000), node: started, maxJsonDepth: config.maxJsonDepth, bearer: gatewayConsole?.bearer });
    // The console's page, sign-in and sockets are on the same port as the app's; everything else is the app's.
    transport.serve({
      open: (connection, request) => (gatewayConsole?.accepts(request.path) ? gatewayConsole.open(connection, request) : started.open(connection, request)),
      http: (head) => gatewayConsole?.http(head) ?? api(head),
    });
    try {
      const bound = await transport.listen(host, port);
      if (metricsServer) metricsPort = await metricsServer.listen(config.metricsHost === '' ? host : config.metricsHost, config.metricsPort);
      log.info('listening', { host, port: bound, nodeId, nativeUws: isNativeUws, ...(metricsPort === undefined ? {} : { metricsPort }) });
      return bound;
    } catch (error) {
      transport.stopListening();
      await node.drain(0);
      throw error;
    }
  }

  const listening = (): GatewayNode => {
    if (!node) throw new Error('the gateway is not listening yet: await listen() first');
    return node;
  };
  const appWithId = (appId: string): App => {
    const app = apps.findById(appId);
    if (!app) throw new HttpError('AppNotFound', appId);
    return app;
  };

  return {
    config,
    nodeId,
    isSecure: transport.isSecure,
    listen(port = config.port, host = config.host) {
      if (starting || closing) throw new Error('listen() may be called once, before close()');
      starting = start(port, host);
      return starting;
    },
    publish(appId, channel, event, data, publishOptions = {}) {
      const app = appWithId(appId);
      const { wire } = asHttp('channel', () => resolveChannel(channel, app));
      const text = dataAsJsonText(data);
      return listening().publish(app.id, wire, () => encodeFrame(event, text, wire), publishOptions.exceptSocketId);
    },
    async broadcast(appId, channel, name, payload, broadcastOptions = {}) {
      const app = appWithId(appId);
      const { wire } = asHttp('channel', () => resolveChannel(channel, app));
      asHttp('name', () => checkBroadcastName(name, app));
      const data = asHttp('payload', () => payloadText(payload, app));
      const outcome = await listening().broadcast(app, wire, name, data, broadcastTimeoutMs(broadcastOptions.timeoutMs, app));
      return JSON.parse(outcome.responses) as unknown[];
    },
    health: () => listening().health(),
    metricsPort: () => metricsPort,
    close() {
      // The port stays open while draining: /ready answers 503 and new sockets get 4200, so balancers and
      // clients are told rather than refused at the TCP level.
      closing ??= (async () => {
        await starting?.catch(() => {});
        debugConsole?.close();
        await node?.drain(config.shutdownTimeoutMs);
        transport.stopListening();
        await metricsServer?.close();
        log.info('closed', { nodeId });
      })();
      return closing;
    },
  };
}
