/**
 * The gateway's HTTP side as the page uses it: sign-in, then the app's own REST API with the token as a
 * bearer credential (the gateway accepts it instead of a request signature). The secret is sent once, to
 * sign in, and kept nowhere.
 */

export interface ConsoleSession {
  readonly token: string;
  readonly appId: string;
  readonly key: string;
  /** Unix seconds. */
  readonly expiresAt: number;
}

/** A refused request: `signedOut` when the token is no longer accepted (expired, or the secret changed). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly signedOut: boolean,
  ) {
    super(message);
  }
}

const UNAUTHORIZED = 401;

async function answer<T>(response: Response): Promise<T> {
  const body = (await response.json().catch(() => ({}))) as T & { error?: string };
  if (!response.ok) throw new ApiError(body.error ?? `${response.status} ${response.statusText}`, response.status === UNAUTHORIZED);
  return body;
}

export async function signIn(appId: string, secret: string): Promise<ConsoleSession> {
  const response = await fetch('/console/api/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ appId, secret }),
  });
  const body = await answer<ConsoleSession>(response);
  return { token: body.token, appId: body.appId, key: body.key, expiresAt: body.expiresAt };
}

/** A REST call for the session's app: `path` is relative to /apps/<appId>. */
export async function rest<T>(session: ConsoleSession, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(`/apps/${encodeURIComponent(session.appId)}${path}`, {
    method,
    headers: { authorization: `Bearer ${session.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return answer<T>(response);
}

const STORAGE_KEY = 'broadcastt-console-session';

/** The session survives a reload of the tab (not the secret: there is none to keep). */
export function storedSession(): ConsoleSession | undefined {
  try {
    const session = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as ConsoleSession | null;
    return session && session.expiresAt * 1000 > Date.now() ? session : undefined;
  } catch {
    return undefined;
  }
}

export function storeSession(session: ConsoleSession | undefined): void {
  if (session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(STORAGE_KEY);
}
