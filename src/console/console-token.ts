import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { App, AppRegistry } from '../apps/app-registry.js';
import { HttpError } from '../errors.js';

/** What the console page holds after sign-in instead of the secret. */
export interface ConsoleToken {
  readonly token: string;
  /** Unix seconds. */
  readonly expiresAt: number;
}

const VERSION = 'v1';
/** Keeps console tokens apart from every other HMAC made with the app's secret (REST and channel signatures). */
const KEY_LABEL = 'broadcastt-gateway console token v1';
const MAX_TOKEN_LENGTH = 1024;
/** Secrets are compared as HMACs under a key of this process, so both sides have one length whatever was sent. */
const COMPARE_KEY = randomBytes(32);

/**
 * Checks an app id and secret in constant time (the same work whether the app exists or not) and returns
 * the app, or throws ConsoleSignInFailed without saying which of the two was wrong. Disabled apps do not
 * sign in.
 */
export function signIn(apps: AppRegistry, appId: string, secret: string): App {
  const app = apps.findById(appId);
  const given = createHmac('sha256', COMPARE_KEY).update(secret).digest();
  const expected = createHmac('sha256', COMPARE_KEY).update(app?.secret ?? randomBytes(32)).digest();
  if (!timingSafeEqual(given, expected) || !app?.enabled) throw new HttpError('ConsoleSignInFailed');
  return app;
}

/**
 * A token for the console of `app`: `v1.<payload>.<signature>`, the payload naming the app and the expiry,
 * the signature an HMAC-SHA256 under a key derived from the app's secret. Any node of a cluster with the
 * same apps accepts it, and changing the secret revokes every token of the app.
 */
export function issueToken(app: Pick<App, 'id' | 'secret'>, nowSeconds: number, ttlSeconds: number): ConsoleToken {
  const expiresAt = nowSeconds + ttlSeconds;
  const payload = Buffer.from(JSON.stringify({ app: app.id, exp: expiresAt, nonce: randomBytes(9).toString('base64url') })).toString('base64url');
  return { token: `${VERSION}.${payload}.${signature(app.secret, payload)}`, expiresAt };
}

/**
 * The enabled app a token was issued for, with its expiry, or ConsoleTokenInvalid saying why not. A token
 * grants its own app and nothing else, until it expires.
 */
export function verifyToken(token: string, apps: AppRegistry, nowSeconds: number): { app: App; expiresAt: number } {
  const [version, payload, given, ...rest] = token.length > MAX_TOKEN_LENGTH ? [] : token.split('.');
  if (version !== VERSION || !payload || !given || rest.length > 0) throw invalid('not a console token');
  let claims: { app?: unknown; exp?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claims;
  } catch {
    throw invalid('not a console token');
  }
  const app = typeof claims.app === 'string' ? apps.findById(claims.app) : undefined;
  if (!app || typeof claims.exp !== 'number') throw invalid('not a console token of an app served here');
  const expected = Buffer.from(signature(app.secret, payload), 'base64url');
  const actual = Buffer.from(given, 'base64url');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw invalid('the signature does not match');
  if (claims.exp <= nowSeconds) throw invalid('it has expired');
  if (!app.enabled) throw invalid(`app ${app.id} is disabled`);
  return { app, expiresAt: claims.exp };
}

function signature(secret: string, payload: string): string {
  const key = createHmac('sha256', secret).update(KEY_LABEL).digest();
  return createHmac('sha256', key).update(`${VERSION}.${payload}`).digest('base64url');
}

function invalid(why: string): HttpError {
  return new HttpError('ConsoleTokenInvalid', why);
}
