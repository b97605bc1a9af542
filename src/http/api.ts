import type { App, AppRegistry } from '../apps/app-registry.js';
import type { BroadcastOutcome } from '../broadcasts/pending-broadcasts.js';
import { HttpError } from '../errors.js';
import type { OverLimit } from '../limits/app-limits.js';
import { type Logger, throttledLog } from '../log.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { nestsDeeperThan } from '../protocol/codec.js';
import { type Answer, type ApiResponse, errorResponse, json, type RequestHead, type Step } from './api-types.js';
import { parseBroadcast, parseResponse } from './broadcasts-endpoint.js';
import { type ChannelQueries, channelInfo, channelUsers, listChannels } from './channels-endpoint.js';
import { type OutgoingEvent, parseBatch, parseEvents, parseTrigger } from './events-endpoint.js';
import { channelHistory, type HistoryReads } from './history-endpoint.js';
import { verifyBodyMd5, verifyQuerySignature } from './request-signature.js';
import { asksForInfo, infoAnswer } from './trigger-info.js';

/** What the REST API acts through: the node (GatewayNode), cluster-wide in every method. */
export interface ApiNode extends ChannelQueries {
  /**
   * Publishes a channel event whose `data` is JSON text; `exceptSocketId` does not receive it. A promise when
   * the publication waits for a cluster's history stream (D18): it rejects with an HttpError if it cannot be kept.
   */
  publishEvent(appId: string, channel: string, event: string, data: string, exceptSocketId?: string): Promise<void> | undefined;
  /** The apps' history rules and the channels' streams. */
  readonly history: HistoryReads;
  /**
   * Sends a broadcast and resolves, after `timeoutMs`, to what it collected. Throws TooManyBroadcasts when
   * the app is at its limit. `cancel` is handed to `onAborted` for when the HTTP client goes away.
   */
  broadcast(app: App, channel: string, name: string, data: string, timeoutMs: number, onAborted: (cancel: () => void) => void): Promise<BroadcastOutcome>;
  respond(appId: string, id: string, channel: string, payload: string): void;
  /** Closes every connection signed in as this user (4009). */
  terminateUser(appId: string, userId: string): void;
  health(): unknown;
  readonly isReady: boolean;
  /** A request for a known app was refused (`request` is its method and path), for the console's list. */
  refused(appId: string, error: HttpError, request: string): void;
  /** The app's cluster-wide rate limits, this node's share (limits/app-limits.ts). */
  readonly appLimits: {
    takeBackendEvents(app: App, cost: number): OverLimit | undefined;
    takeRead(app: App): OverLimit | undefined;
  };
  readonly metrics: GatewayMetrics;
}

export interface ApiContext {
  readonly apps: AppRegistry;
  readonly log: Logger;
  readonly nowSeconds: () => number;
  readonly node: ApiNode;
  /** Deeper JSON bodies are refused before they are parsed. */
  readonly maxJsonDepth: number;
  /**
   * Authorizes a request for `app` by a bearer token instead of the query signature, or throws (the console's
   * tokens, docs/console.md). Absent while the console is off: an Authorization header is then ignored.
   */
  readonly bearer?: (token: string, app: App) => void;
}

/** A route's handler: the head and body apart, so that no request object is copied to join them. */
type AppRoute = (head: RequestHead, body: Buffer, app: App) => Answer;

/** A route found: its handler, its pattern (what metrics and logs call it), and whether it is a read. */
interface FoundRoute {
  readonly name: string;
  readonly handle: AppRoute;
  readonly isRead: boolean;
}

/** What metrics and logs call a request that matched no app route (never its raw path: unbounded labels). */
const UNMATCHED = 'unmatched';

const NO_BODY = Buffer.alloc(0);
/** The answer of every accepted publish, made once. */
const OK: ApiResponse = Object.freeze(json(200, {}));
const BEARER = 'Bearer ';
const APP_PATH = /^\/apps\/([^/]+)\//;

/**
 * The REST API as a pure function of a request: routing, app lookup, signature check and the endpoint. The
 * transport only moves bytes. It hands over the head first: an unknown route or app and a bad query signature
 * (or console token) are refused before any body is read; an accepted request's body then goes to `withBody`.
 * Every failure is an HttpError answered as `{"error": message}` (and, for a known app, noted as one of its
 * refusals); anything else is logged and answered 500.
 */
export function createApi(context: ApiContext): (head: RequestHead) => Step {
  const routes = appRoutes(context.node);
  const { metrics } = context.node;
  const logUnexpected = throttledLog(context.log, 'error', 'unexpected error in REST handler');
  const failed = (head: RequestHead, error: unknown): ApiResponse => {
    if (error instanceof HttpError) {
      const appId = APP_PATH.exec(head.path)?.[1];
      if (appId !== undefined && context.apps.findById(appId)) context.node.refused(appId, error, `${head.method} ${head.path}`);
      return errorResponse(error);
    }
    logUnexpected({ path: head.path, error: String(error) });
    return errorResponse(new HttpError('ServerError'));
  };
  const guarded = (head: RequestHead, run: () => Answer): Answer => {
    try {
      const answer = run();
      return answer instanceof Promise ? answer.catch((error: unknown) => failed(head, error)) : answer;
    } catch (error) {
      return failed(head, error);
    }
  };

  /** The query signature's checks, or the bearer token's; a signed request's body_md5 is checked once it is read. */
  const authorize = (head: RequestHead, app: App): { bodyMd5: string | null } | undefined => {
    if (context.bearer && head.authorization.startsWith(BEARER)) {
      context.bearer(head.authorization.slice(BEARER.length), app);
      return undefined;
    }
    return { bodyMd5: verifyQuerySignature(head, app, context.nowSeconds()) };
  };

  /** What this request is, for its metric and its debug line: set by `begin` as soon as it is known. */
  interface Seen {
    appId: string;
    route: string;
  }

  const begin = (head: RequestHead, seen: Seen): Step => {
    const served = serviceAnswer(head, context.node);
    if (served) return { answer: served };
    const { appId, rest } = appPath(head.path);
    const found = appId ? routes(head.method, rest) : undefined;
    if (!found) throw new HttpError('RouteNotFound', `no route for ${head.method} ${head.path}`);
    const app = context.apps.findById(appId);
    if (!app) throw new HttpError('AppNotFound', appId);
    seen.appId = app.id;
    seen.route = found.name;
    if (!app.enabled) throw new HttpError('AppDisabled', app.id);
    const signed = authorize(head, app);
    // Only requests that prove they are the app's use its budget: nobody else can spend it.
    if (found.isRead) checkLimit(context.node.appLimits.takeRead(app), app, metrics);
    if (head.method !== 'POST') return { answer: guarded(head, () => found.handle(head, NO_BODY, app)) };
    return {
      withBody: (body) =>
        guarded(head, () => {
          if (signed) verifyBodyMd5(head.method, body, signed.bodyMd5);
          if (nestsDeeperThan(body, context.maxJsonDepth)) throw new HttpError('BadRequest', `body nests deeper than ${context.maxJsonDepth} levels`);
          return found.handle(head, body, app);
        }),
    };
  };

  /** Counts the answer (route, status, time, bytes) and logs it at debug, once it is ready. */
  const observed = (head: RequestHead, seen: Seen, startedAtMs: number, bodyBytes: number, answer: Answer): Answer => {
    const record = (response: ApiResponse): ApiResponse => {
      metrics.httpRequest(seen.appId, seen.route, response.status, (metrics.nowMs() - startedAtMs) / 1000, bodyBytes, response.body.length);
      if (context.log.isDebug) context.log.debug('rest', { appId: seen.appId, route: seen.route, method: head.method, status: response.status });
      return response;
    };
    return answer instanceof Promise ? answer.then(record) : record(answer);
  };

  const run = (head: RequestHead, seen: Seen): Step => {
    try {
      return begin(head, seen);
    } catch (error) {
      return { answer: failed(head, error) };
    }
  };

  return (head) => {
    if (!metrics.isOn && !context.log.isDebug) return run(head, { appId: '', route: UNMATCHED });
    const seen: Seen = { appId: '', route: UNMATCHED };
    const startedAtMs = metrics.nowMs();
    const step = run(head, seen);
    if ('answer' in step) return { answer: observed(head, seen, startedAtMs, 0, step.answer) };
    return { withBody: (body) => observed(head, seen, startedAtMs, body.length, step.withBody(body)) };
  };
}

/**
 * A request over one of the app's limits: 429 with Retry-After and this node's share of the limit as
 * X-RateLimit-Limit, and what is left of it as X-RateLimit-Remaining (limits/app-limits.ts).
 */
function checkLimit(over: OverLimit | undefined, app: App, metrics: GatewayMetrics): void {
  if (over === undefined) return;
  metrics.rateLimited(app.id, over.limit);
  throw limitError(over);
}

function limitError({ limit, appLimit, share, remaining, retryAfterSeconds }: OverLimit): HttpError {
  const detail = `${limit}: the app may make ${appLimit} per second over the cluster, ${share} of them on this node`;
  return new HttpError('OverLimit', detail, retryAfterSeconds, { 'x-ratelimit-limit': String(share), 'x-ratelimit-remaining': String(remaining) });
}

/** Publishes every event; a promise only when some wait for a history stream, settled when all were kept. */
function publishAll(node: ApiNode, app: App, events: readonly OutgoingEvent[]): Promise<typeof OK> | undefined {
  let storing: Array<Promise<void>> | undefined;
  for (const e of events) {
    const stored = node.publishEvent(app.id, e.channel, e.name, e.data, e.exceptSocketId);
    if (stored) (storing ??= []).push(stored);
  }
  return storing && Promise.all(storing).then(() => OK);
}

const APPS_PREFIX = '/apps/';
const NOT_AN_APP_PATH = { appId: '', rest: '' } as const;

/**
 * The app id and the rest of an `/apps/:appId/…` path (an empty id for any other path). Found by position
 * rather than split into parts: every REST publish is routed.
 */
function appPath(path: string): { readonly appId: string; readonly rest: string } {
  const idEnd = path.startsWith(APPS_PREFIX) ? path.indexOf('/', APPS_PREFIX.length) : -1;
  return idEnd < 0 ? NOT_AN_APP_PATH : { appId: path.slice(APPS_PREFIX.length, idEnd), rest: path.slice(idEnd + 1) };
}

/** `GET /` (health) and `GET /ready`, which need no app and no signature; undefined for any other path. */
function serviceAnswer(head: RequestHead, node: ApiNode): ApiResponse | undefined {
  if (head.method !== 'GET' && head.method !== 'HEAD') return undefined;
  if (head.path === '/') return json(200, node.health());
  if (head.path !== '/ready') return undefined;
  if (!node.isReady) throw new HttpError('NotReady', 'the gateway is shutting down');
  return json(200, { ready: true });
}

/** The routes under /apps/:appId/, by method and the rest of the path (`events`, `channels/my-channel`). */
function appRoutes(node: ApiNode): (method: string, rest: string) => FoundRoute | undefined {
  /**
   * A publish answers {} once every publication is on its way, those to a cluster's history channels once Redis
   * kept them. One that asked for `info` answers the channels' counts, read before anything is published, so a
   * cluster that cannot be read is a 503 with nothing sent.
   */
  const publishing = (parse: (body: Buffer, app: App) => OutgoingEvent[]): AppRoute => (_, body, app) => {
    const events = parse(body, app);
    // An event to N channels is N events (one per channel), as soketi counts them.
    checkLimit(node.appLimits.takeBackendEvents(app, events.length), app, node.metrics);
    if (!asksForInfo(events)) return publishAll(node, app, events) ?? OK;
    return infoAnswer(node, app, events).then(async (answer) => {
      await publishAll(node, app, events);
      return answer;
    });
  };
  const fixed: Record<string, AppRoute> = {
    'POST event': publishing(parseTrigger),
    'POST events': publishing(parseEvents),
    'POST batch_events': publishing(parseBatch),
    'POST broadcasts': async (head, body, app) => {
      const { channel, name, data, timeoutMs } = parseBroadcast(body, app, new URLSearchParams(head.query));
      checkLimit(node.appLimits.takeBackendEvents(app, 1), app, node.metrics);
      const outcome = await node.broadcast(app, channel.wire, name, data, timeoutMs, head.onAborted);
      return { status: 200, body: outcome.responses };
    },
    'POST responses': (_, body, app) => {
      const { id, channel, data } = parseResponse(body, app);
      node.respond(app.id, id, channel.wire, data);
      return OK;
    },
    'GET channels': (head, _, app) => listChannels(node, app, new URLSearchParams(head.query)),
  };

  /** Routes with a channel name in the path: /channels/:name (and broadcastt's /channel/:name), /channels/:name/users and /history. */
  const channelRoute = (method: string, rest: readonly string[]): FoundRoute | undefined => {
    const [collection, name, tail] = rest;
    if (method !== 'GET' || name === undefined || name === '') return undefined;
    if (rest.length === 2 && (collection === 'channels' || collection === 'channel')) {
      return { name: `GET ${collection}/:name`, isRead: true, handle: (head, _, app) => channelInfo(node, app, name, new URLSearchParams(head.query)) };
    }
    if (rest.length === 3 && collection === 'channels' && tail === 'users') {
      return { name: 'GET channels/:name/users', isRead: true, handle: (_head, _body, app) => channelUsers(node, app, name) };
    }
    if (rest.length === 3 && collection === 'channels' && tail === 'history') {
      return { name: 'GET channels/:name/history', isRead: true, handle: (head, _, app) => channelHistory(node.history, app, name, new URLSearchParams(head.query)) };
    }
    return undefined;
  };

  /** POST /users/:userId/terminate_connections (Pusher): that signed-in user's sockets, on every node. */
  const userRoute = (method: string, rest: readonly string[]): FoundRoute | undefined => {
    const [collection, userId, action] = rest;
    if (method !== 'POST' || rest.length !== 3 || collection !== 'users' || action !== 'terminate_connections' || !userId) return undefined;
    const handle: AppRoute = (_head, _body, app) => {
      let id: string;
      try {
        id = decodeURIComponent(userId);
      } catch {
        throw new HttpError('BadRequest', 'the user id in the path is not valid percent-encoding');
      }
      node.terminateUser(app.id, id);
      return OK;
    };
    return { name: 'POST users/:id/terminate_connections', isRead: false, handle };
  };

  // By method, then by the rest of the path: no key is built per request.
  const fixedRoutes = new Map<string, Map<string, FoundRoute>>();
  for (const [name, handle] of Object.entries(fixed)) {
    const [method = '', rest = ''] = name.split(' ');
    let byRest = fixedRoutes.get(method);
    if (!byRest) fixedRoutes.set(method, (byRest = new Map()));
    byRest.set(rest, { name, handle, isRead: method === 'GET' });
  }
  return (method, rest) => {
    const found = fixedRoutes.get(method)?.get(rest);
    if (found) return found;
    const parts = rest.split('/');
    return channelRoute(method, parts) ?? userRoute(method, parts);
  };
}
