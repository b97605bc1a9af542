import type { App, AppRegistry } from '../apps/app-registry.js';
import { HttpError, ProtocolError } from '../errors.js';
import type { RequestHead, Step } from '../http/api-types.js';
import { type Logger, throttledLog } from '../log.js';
import type { Connection, UpgradeRequest } from '../protocol/connection.js';
import { type ConsoleAssets, loadConsoleAssets } from './console-assets.js';
import { ConsoleEvents, encodeConsoleFrame } from './console-frames.js';
import { CONSOLE_PATH, consoleHttp } from './console-http.js';
import type { ConsoleNode } from './console-node.js';
import { ConsoleSocket } from './console-socket.js';
import { verifyToken } from './console-token.js';
import { SignInLimiter } from './sign-in-limiter.js';

/** Where the console page opens its socket. */
export const CONSOLE_SOCKET_PATH = `${CONSOLE_PATH}/socket`;
/** Console sockets one node holds at once, signed in or not; more are refused with 4100. */
export const MAX_CONSOLE_SOCKETS = 64;

export interface ConsoleOptions {
  readonly apps: AppRegistry;
  readonly node: ConsoleNode;
  readonly log: Logger;
  readonly tokenTtlSeconds: number;
  readonly nowMs?: () => number;
  /** The built page; read from dist/console/ when not given. */
  readonly assets?: ConsoleAssets;
}

/**
 * The debug console of a gateway (docs/console.md), when the configuration turns it on: its page and sign-in
 * over HTTP, its sockets, and the bearer check the REST API uses for the page's requests. It serves only on
 * the gateway's own port, and a token grants the one app it was issued for.
 */
export class GatewayConsole {
  /** The console's answer to an HTTP request under /console; undefined for any other path. */
  readonly http: (head: RequestHead) => Step | undefined;
  private readonly sockets = new Set<ConsoleSocket>();
  private readonly nowMs: () => number;
  private readonly logUnexpected: (fields: Record<string, unknown>) => void;
  private isClosing = false;

  constructor(private readonly options: ConsoleOptions) {
    this.nowMs = options.nowMs ?? Date.now;
    this.logUnexpected = throttledLog(options.log, 'error', 'unexpected error in the console');
    const assets = options.assets ?? loadConsoleAssets();
    if (!assets) options.log.warn('the console page has not been built (dist/console/ is missing): run npm run build');
    this.http = consoleHttp({
      apps: options.apps,
      node: options.node,
      assets,
      limiter: new SignInLimiter(),
      tokenTtlSeconds: options.tokenTtlSeconds,
      nowMs: this.nowMs,
      logUnexpected: this.logUnexpected,
    });
  }

  /** Whether a WebSocket to `path` is a console socket (rather than a client of an app). */
  accepts(path: string): boolean {
    return path === CONSOLE_SOCKET_PATH;
  }

  /** A console socket opened: its handler, or undefined when it was refused (and is being closed). */
  open(connection: Connection, _request: UpgradeRequest): ConsoleSocket | undefined {
    const refusal = this.isClosing
      ? new ProtocolError('ServerRestarting')
      : this.sockets.size >= MAX_CONSOLE_SOCKETS
        ? new ProtocolError('OverCapacity', `at most ${MAX_CONSOLE_SOCKETS} console sockets`)
        : undefined;
    if (refusal) {
      connection.send(encodeConsoleFrame(ConsoleEvents.error, { code: refusal.code, message: refusal.message }));
      connection.close(refusal.code, refusal.message);
      return undefined;
    }
    const socket = new ConsoleSocket(connection, {
      apps: this.options.apps,
      node: this.options.node,
      nowMs: this.nowMs,
      logUnexpected: this.logUnexpected,
      closed: (gone) => this.sockets.delete(gone),
    });
    this.sockets.add(socket);
    return socket;
  }

  /** The REST API's check of `Authorization: Bearer <token>`: a live token of this very app. */
  readonly bearer = (token: string, app: App): void => {
    const grant = verifyToken(token, this.options.apps, Math.floor(this.nowMs() / 1000));
    if (grant.app !== app) throw new HttpError('ConsoleTokenInvalid', `the token is for app ${grant.app.id}, not ${app.id}`);
  };

  /** The gateway is shutting down: every console socket is told (4200) and closed; new ones are refused. */
  close(): void {
    this.isClosing = true;
    for (const socket of this.sockets) socket.fail(new ProtocolError('ServerRestarting'));
  }
}
