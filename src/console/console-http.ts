import type { AppRegistry } from '../apps/app-registry.js';
import { HttpError } from '../errors.js';
import { type Answer, type ApiResponse, errorResponse, json, type RequestHead, type Step } from '../http/api-types.js';
import { parseJson } from '../http/request-body.js';
import { nestsDeeperThan } from '../protocol/codec.js';
import { describeErrors, validators } from '../protocol/schemas.js';
import type { ConsoleAssets } from './console-assets.js';
import type { ConsoleNode } from './console-node.js';
import { issueToken, signIn } from './console-token.js';
import type { SignInLimiter } from './sign-in-limiter.js';

/** Everything of the console is under this path on the gateway's port. */
export const CONSOLE_PATH = '/console';
const SIGN_IN_PATH = '/api/session';
/** Answers of the console API hold tokens: no cache may keep them. */
const NO_STORE = { 'cache-control': 'no-store' } as const;

export interface ConsoleHttpContext {
  readonly apps: AppRegistry;
  readonly node: ConsoleNode;
  /** Undefined when `npm run build` has not built the page. */
  readonly assets: ConsoleAssets | undefined;
  readonly limiter: SignInLimiter;
  readonly tokenTtlSeconds: number;
  readonly nowMs: () => number;
  readonly logUnexpected: (fields: Record<string, unknown>) => void;
}

/**
 * The console's HTTP side: the page and its two files, and sign-in (POST /console/api/session with
 * `{appId, secret}` → `{token, expiresAt, appId, key}`). Everything else the page does goes through the
 * REST API with its token (http/api.ts) and through its socket. Undefined for paths outside /console.
 */
export function consoleHttp(context: ConsoleHttpContext): (head: RequestHead) => Step | undefined {
  const answerError = (head: RequestHead, error: unknown): ApiResponse => {
    if (!(error instanceof HttpError)) {
      context.logUnexpected({ path: head.path, error: String(error) });
      return answerError(head, new HttpError('ServerError'));
    }
    return errorResponse(error, NO_STORE);
  };
  const guarded = (head: RequestHead, run: () => Answer): Answer => {
    try {
      return run();
    } catch (error) {
      return answerError(head, error);
    }
  };

  const route = (head: RequestHead): Step => {
    const rest = head.path.slice(CONSOLE_PATH.length);
    const isRead = head.method === 'GET' || head.method === 'HEAD';
    if (isRead && (rest === '' || rest === '/')) {
      if (!context.assets) throw new HttpError('ConsoleNotBuilt');
      return { answer: context.assets.page };
    }
    const file = isRead && rest.startsWith('/') ? context.assets?.file(rest.slice(1), head.query) : undefined;
    if (file) return { answer: file };
    if (head.method === 'POST' && rest === SIGN_IN_PATH) return signInStep(head);
    throw new HttpError('RouteNotFound', `no route for ${head.method} ${head.path}`);
  };

  /** Refused at once while the address (or everyone) is over its failed sign-ins; else checked once the body is in. */
  const signInStep = (head: RequestHead): Step => {
    const retryAfterSeconds = context.limiter.retryAfterSeconds(head.remoteAddress(), context.nowMs());
    if (retryAfterSeconds > 0) throw new HttpError('TooManySignInAttempts', `from ${head.remoteAddress()}`, retryAfterSeconds);
    return { withBody: (body) => guarded(head, () => signInAnswer(head, body)) };
  };

  const signInAnswer = (head: RequestHead, body: Buffer): ApiResponse => {
    if (nestsDeeperThan(body, 2)) throw new HttpError('BadRequest', 'body must be {"appId": "...", "secret": "..."}');
    const value = parseJson(body);
    if (!validators.consoleSignIn(value)) throw new HttpError('BadRequest', describeErrors(validators.consoleSignIn.errors, 'body'));
    const { appId, secret } = value;
    const nowMs = context.nowMs();
    try {
      const app = signIn(context.apps, appId, secret);
      const { token, expiresAt } = issueToken(app, Math.floor(nowMs / 1000), context.tokenTtlSeconds);
      return { ...json(200, { token, expiresAt, appId: app.id, key: app.key }), headers: NO_STORE };
    } catch (error) {
      context.limiter.failed(head.remoteAddress(), nowMs);
      if (error instanceof HttpError && context.apps.findById(appId)) context.node.refused(appId, error, `${head.method} ${head.path}`);
      throw error;
    }
  };

  return (head) => {
    if (head.path !== CONSOLE_PATH && !head.path.startsWith(`${CONSOLE_PATH}/`)) return undefined;
    try {
      return route(head);
    } catch (error) {
      return { answer: answerError(head, error) };
    }
  };
}
