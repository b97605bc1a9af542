import type { HttpError } from '../errors.js';

/** A REST request as the endpoints see it: everything copied from the transport and the body fully read. */
export interface ApiRequest {
  /** Upper case, e.g. `POST`. */
  readonly method: string;
  /** Path as sent, without the query: signatures are computed over it. */
  readonly path: string;
  /** Raw query string without `?`. */
  readonly query: string;
  /** The Authorization header ('' when absent): a console token as `Bearer <token>` (docs/console.md). */
  readonly authorization: string;
  /**
   * The peer's IP address as text, for per-address limits (a proxy's, behind one). A function: few requests
   * need it, and reading it costs an allocation on every request that does.
   */
  readonly remoteAddress: () => string;
  readonly body: Buffer;
  /** Registers what to do if the client goes away before the answer (e.g. a held broadcast). */
  readonly onAborted: (listener: () => void) => void;
}

/** What the transport hands over before it reads a body: the API refuses what it can from this alone. */
export type RequestHead = Omit<ApiRequest, 'body'>;

export type Answer = ApiResponse | Promise<ApiResponse>;

/**
 * What the API makes of a request head: its answer (a read, or a refusal that needs no body: unknown route or
 * app, bad signature), or, for a request it accepts, what to do with the body once it has been read.
 */
export type Step = { readonly answer: Answer } | { readonly withBody: (body: Buffer) => Answer };

export interface ApiResponse {
  readonly status: number;
  /** JSON text, unless `headers` give another content-type. */
  readonly body: string;
  /** Headers beside the default `content-type: application/json` (which a `content-type` here replaces). */
  readonly headers?: Readonly<Record<string, string>>;
}

export function json(status: number, value: unknown): ApiResponse {
  return { status, body: JSON.stringify(value) };
}

/** The answer to a refused request: `{"error": message}`, with `Retry-After` when the error says when to retry. */
export function errorResponse(error: HttpError, headers: Readonly<Record<string, string>> = {}): ApiResponse {
  const retry: Record<string, string> = error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) };
  return { ...json(error.status, { error: error.message }), headers: { ...headers, ...error.headers, ...retry } };
}
