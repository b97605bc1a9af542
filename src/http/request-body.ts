import { HttpError, ProtocolError } from '../errors.js';

/** Helpers the REST endpoints share for reading JSON bodies and reporting what is wrong with them. */

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError('BadRequest', 'body is not valid JSON');
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Runs a check shared with the WebSocket side and answers its ProtocolError over HTTP: too large is 413,
 * anything else 400; `at` names the offending part of the body.
 */
export function asHttp<T>(at: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    throw new HttpError(error.kind === 'MessageTooLarge' ? 'PayloadTooLarge' : 'BadRequest', `${at}: ${error.message}`);
  }
}
