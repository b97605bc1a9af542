import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from 'uWebSockets.js';
import type { FanOut } from '../channels/fan-out.js';
import { HttpError } from '../errors.js';
import { errorResponse, type RequestHead, type Step } from '../http/api-types.js';
import type { UpgradeRequest } from '../protocol/connection.js';
import { BodyBudget, HttpExchange, readBody } from './http-io.js';
import { TopicFanOut } from './topic-fan-out.js';
import { EXCLUSIVE_PORT, uws } from './uws.js';
import { type SocketHandler, UwsConnection } from './uws-connection.js';

export interface TransportHandlers {
  /** A socket opened; returns its handler, or undefined when it was refused (and is being closed). */
  open(connection: UwsConnection, request: UpgradeRequest): SocketHandler | undefined;
  /** Answers a REST request from its head, or says what to do with its body once read (http/api.ts). */
  http(head: RequestHead): Step;
}

export interface TransportOptions {
  readonly maxFrameBytes: number;
  readonly maxBackpressureBytes: number;
  readonly maxRequestBytes: number;
  /** Bytes of request bodies being read at once, over all requests; more get 503. */
  readonly maxRequestBytesInFlight: number;
  /** uWS's own timeout: a safety net for dead TCP connections behind the gateway's ping sweep. */
  readonly idleTimeoutSeconds: number;
  /** PEM files: serve wss:// and https:// instead of ws:// and http://. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly passphrase: string } | undefined;
}

/** uWS listens with options only in a form its typings omit: (host, port, options, callback). */
type ListenWithOptions = (host: string, port: number, options: number, callback: (socket: us_listen_socket | false) => void) => void;

/**
 * uWS copies the user data's properties onto its own socket object, so the socket gets exactly one: the
 * connection, which holds everything else (one small object per idle connection, see bench S3).
 */
interface SocketData {
  readonly connection: UwsConnection;
}

/**
 * The uWebSockets.js binding: sockets and HTTP in, calls to the handlers out. It makes no protocol
 * decisions. Every path is upgradable so that refusals (unknown path or key) can be reported in the
 * protocol rather than as a bare HTTP error.
 */
export class UwsServer {
  private readonly app: TemplatedApp;
  private readonly bodyBudget: BodyBudget;
  private listenSocket: us_listen_socket | undefined;

  /** Throws when the TLS certificate and key cannot be loaded. */
  constructor(private readonly options: TransportOptions) {
    this.bodyBudget = new BodyBudget(options.maxRequestBytesInFlight);
    const { tls } = options;
    if (!tls) {
      this.app = uws.App();
      return;
    }
    try {
      this.app = uws.SSLApp({ cert_file_name: tls.certFile, key_file_name: tls.keyFile, passphrase: tls.passphrase });
    } catch {
      throw new Error(`cannot load the TLS certificate ${tls.certFile} with the key ${tls.keyFile}: are both PEM files of one pair (and the passphrase right)?`);
    }
  }

  get isSecure(): boolean {
    return this.options.tls !== undefined;
  }

  /** Fan-out through this server's native topics (see TopicFanOut). */
  fanOut(): FanOut {
    return new TopicFanOut(this.app);
  }

  /** Routes every WebSocket and HTTP request to `handlers`; call once, before listen. */
  serve(handlers: TransportHandlers): void {
    const { options } = this;
    this.app.ws<SocketData>('/*', {
      maxPayloadLength: options.maxFrameBytes,
      // A hard cap on each socket's send buffer: uWS drops sends beyond it. The session's sweep evicts
      // a connection at maxBackpressureBytes, so drops only hit a consumer already being evicted.
      maxBackpressure: options.maxBackpressureBytes * 2,
      closeOnBackpressureLimit: 0, // typed as a number by uWS; 0 means off
      idleTimeout: options.idleTimeoutSeconds,
      sendPingsAutomatically: false,
      upgrade: (res, req, context) => {
        // req is only valid synchronously inside this handler: copy everything before upgrading.
        const request: UpgradeRequest = { path: req.getUrl(), query: req.getQuery() ?? '' };
        res.upgrade<SocketData>(
          { connection: new UwsConnection(request) },
          req.getHeader('sec-websocket-key'),
          req.getHeader('sec-websocket-protocol'),
          req.getHeader('sec-websocket-extensions'),
          context,
        );
      },
      open: (ws) => {
        const { connection } = ws.getUserData();
        connection.ws = ws;
        connection.isOpen = true;
        const request = connection.request as UpgradeRequest;
        connection.request = undefined;
        connection.handler = handlers.open(connection, request);
      },
      message: (ws, message, isBinary) => ws.getUserData().connection.handler?.receive(message, isBinary),
      ping: (ws) => ws.getUserData().connection.handler?.markAlive(),
      pong: (ws) => ws.getUserData().connection.handler?.markAlive(),
      close: (ws: WebSocket<SocketData>, code: number) => {
        const { connection } = ws.getUserData();
        connection.isOpen = false;
        connection.handler?.close(code);
      },
    });
    this.app.any('/*', (res, req) => this.serveHttp(handlers, res, req));
  }

  /**
   * Listens on an exclusive port: uWS otherwise sets SO_REUSEPORT, and a second gateway started on a port
   * already in use would silently share it, each getting some of the connections.
   */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      (this.app.listen as unknown as ListenWithOptions).call(this.app, host, port, EXCLUSIVE_PORT, (socket) => {
        if (!socket) return reject(new Error(`cannot listen on ${host}:${port}: the port is in use, or the address is not one of this machine's`));
        this.listenSocket = socket;
        resolve(uws.us_socket_local_port(socket as never));
      });
    });
  }

  /** Stops accepting connections; open ones are untouched. */
  stopListening(): void {
    if (this.listenSocket) uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
  }

  /**
   * One HTTP request: the API sees its head first and may answer at once (a read, or a refusal that needs no
   * body); only an accepted request's body is read, within maxRequestBytes and the shared budget of bytes in
   * flight. A refused body closes the connection, so the client stops sending it.
   */
  private serveHttp(handlers: TransportHandlers, res: HttpResponse, req: HttpRequest): void {
    const exchange = new HttpExchange(res);
    const method = upperCase(req.getMethod());
    const refusal = this.refusalOfHeaders(req);
    if (refusal) return exchange.reply(errorResponse(refusal), true);
    const step = handlers.http({
      method,
      path: req.getUrl(),
      query: req.getQuery() ?? '',
      authorization: req.getHeader('authorization'),
      remoteAddress: exchange.remoteAddress,
      onAborted: exchange.onAborted,
    });
    // A request answered from its head alone (a read, or a refusal) leaves any body unread: close the connection.
    if ('answer' in step) return exchange.reply(step.answer, method !== 'GET' && method !== 'HEAD');
    readBody(
      res,
      exchange,
      { limitBytes: this.options.maxRequestBytes, budget: this.bodyBudget },
      (body) => exchange.reply(step.withBody(body)),
      (why) => exchange.reply(errorResponse(why === 'busy' ? this.busy() : this.tooLarge()), true),
    );
  }

  /** What the headers alone refuse: a body declared over the limit, or a request smuggling two lengths. */
  private refusalOfHeaders(req: HttpRequest): HttpError | undefined {
    let lengths = 0;
    req.forEach((name) => {
      if (name === 'content-length') lengths++;
    });
    if (lengths > 1) return new HttpError('BadRequest', 'more than one Content-Length header (RFC 9112 §6.3)');
    if (Number(req.getHeader('content-length')) > this.options.maxRequestBytes) return this.tooLarge();
    return undefined;
  }

  private tooLarge(): HttpError {
    return new HttpError('PayloadTooLarge', `request body over ${this.options.maxRequestBytes} bytes`);
  }

  private busy(): HttpError {
    return new HttpError('ServerBusy', `over ${this.bodyBudget.maxBytes} bytes of request bodies are being read`);
  }
}

/** uWS gives methods in lower case; the API reads them in upper case, made once for the common ones. */
const UPPER_CASE_METHODS = new Map(['get', 'head', 'post', 'put', 'delete', 'options', 'patch'].map((method) => [method, method.toUpperCase()]));

function upperCase(method: string): string {
  return UPPER_CASE_METHODS.get(method) ?? method.toUpperCase();
}
