/** A REST request as the transport hands it over: everything already copied and the body fully read. */
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

export interface ApiResponse {
  readonly status: number;
  /** JSON text. */
  readonly body: string;
}

export function json(status: number, value: unknown): ApiResponse {
  return { status, body: JSON.stringify(value) };
}
