import type { App, AppRegistry, Role } from '../apps/app-registry.js';
import { ProtocolError } from '../errors.js';
import { encodeFrame, errorData } from '../protocol/codec.js';
import type { Connection, UpgradeRequest } from '../protocol/connection.js';
import { type Dialect, ServerEvents } from '../protocol/frames.js';

export type Admission =
  | { readonly dialect: Dialect; readonly app: App; readonly role: Role; readonly error?: undefined }
  /** A refusal names the app when it knows it (a disabled app, one over its quota). */
  | { readonly dialect: Dialect; readonly app?: App; readonly error: ProtocolError };

const APP_PATH = /^\/apps?\/([^/]+)\/?$/;

/**
 * Decides whether a new WebSocket may join an app. Every upgrade is accepted by the transport so that a
 * refusal can be reported in the protocol (error frame, then close with the same code, D6), in the
 * dialect the client asked for.
 */
export function admit(request: UpgradeRequest, apps: AppRegistry, connectionsOf: (app: App) => number): Admission {
  const dialect = dialectOf(request.query);
  const key = APP_PATH.exec(request.path)?.[1];
  if (key === undefined) return { dialect, error: new ProtocolError('PathNotFound', request.path.slice(0, 200)) };
  const credential = apps.findByKey(key);
  if (!credential) return { dialect, error: new ProtocolError('AppNotFound') };
  const { app, role } = credential;
  if (!app.enabled) return { dialect, app, error: new ProtocolError('AppDisabled') };
  if (connectionsOf(app) >= app.maxConnections) {
    return { dialect, app, error: new ProtocolError('OverConnectionQuota', `at most ${app.maxConnections} connections`) };
  }
  return { dialect, app, role };
}

/** `protocol=7` selects the Pusher dialect (pusher-js, Laravel Echo); anything else is broadcastt. */
export function dialectOf(query: string): Dialect {
  return new URLSearchParams(query).get('protocol') === '7' ? 'pusher' : 'broadcastt';
}

/** Reports a refusal to a connection that never became a session: the error frame, then the close (D6). */
export function refuse(connection: Connection, dialect: Dialect, error: ProtocolError): void {
  connection.send(encodeFrame(ServerEvents[dialect].error, errorData(error)));
  connection.close(error.code, error.message);
}
