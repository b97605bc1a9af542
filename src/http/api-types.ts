/** A REST request as the endpoints see it: everything copied from the transport and the body fully read. */
export interface ApiRequest {
  /** Upper case, e.g. `POST`. */
  readonly method: string;
  /** Path as sent, without the query: signatures are computed over it. */
  readonly path: string;
  /** Raw query string without `?`. */
  readonly query: string;
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
  /** JSON text. */
  readonly body: string;
}

export function json(status: number, value: unknown): ApiResponse {
  return { status, body: JSON.stringify(value) };
}
