import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from 'uWebSockets.js';
import type { Answer, ApiResponse } from '../http/api-types.js';

/**
 * One HTTP request/response on uWS: remembers whether the client went away (uWS forbids touching `res` after
 * that) and whom to tell, and writes the answer once, whenever it is ready.
 */
export class HttpExchange {
  private aborted = false;
  private address: string | undefined;
  private readonly abortListeners: Array<() => void> = [];

  constructor(private readonly res: HttpResponse) {
    res.onAborted(() => {
      this.aborted = true;
      for (const listener of this.abortListeners.splice(0)) listener();
    });
  }

  /** Registers what to do if the client goes away before the answer (a held broadcast, a body being read). */
  readonly onAborted = (listener: () => void): void => {
    if (this.aborted) listener();
    else this.abortListeners.push(listener);
  };

  /** The peer's address as text, read once when first asked for ('' once the client has gone). */
  readonly remoteAddress = (): string => {
    this.address ??= this.aborted ? '' : Buffer.from(this.res.getRemoteAddressAsText()).toString();
    return this.address;
  };

  /** Writes the answer when it is ready, unless the client has gone. */
  reply(answer: Answer, closeConnection = false): void {
    if (answer instanceof Promise) void answer.then((later) => this.reply(later, closeConnection));
    else if (!this.aborted) writeResponse(this.res, answer, closeConnection);
  }
}

/** Bytes of request bodies being read right now, over all requests, at most `maxBytes`. */
export class BodyBudget {
  private used = 0;

  constructor(readonly maxBytes: number) {}

  take(bytes: number): boolean {
    if (this.used + bytes > this.maxBytes) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used -= bytes;
  }
}

/** Why a body was not read to its end. */
export type BodyRefusal = 'tooLarge' | 'busy';

/**
 * Reads a request body of at most `limitBytes`, within the shared budget. uWS hands out chunks that are only
 * valid during the callback, so each is copied; they are joined once at the end. Calls `onRefused` (once) as
 * soon as the body passes the limit or the budget has no room, and ignores the rest. Whatever happens, the
 * bytes go back to the budget and the chunks are let go: at the end, on a refusal, or when the client leaves.
 */
export function readBody(
  res: HttpResponse,
  exchange: HttpExchange,
  limits: { readonly limitBytes: number; readonly budget: BodyBudget },
  onBody: (body: Buffer) => void,
  onRefused: (why: BodyRefusal) => void,
): void {
  let chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  const release = () => {
    if (done) return;
    done = true;
    limits.budget.give(size);
    chunks = [];
  };
  exchange.onAborted(release);
  res.onData((chunk, isLast) => {
    if (done) return;
    const refusal = size + chunk.byteLength > limits.limitBytes ? 'tooLarge' : limits.budget.take(chunk.byteLength) ? undefined : 'busy';
    if (refusal) {
      release();
      return onRefused(refusal);
    }
    size += chunk.byteLength;
    // A copy into Node's buffer pool: a seventh of the cost of chunk.slice(0), which allocates an ArrayBuffer.
    chunks.push(Buffer.from(new Uint8Array(chunk)));
    if (!isLast) return;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
    release();
    onBody(body);
  });
}

const OK_STATUS = 200;
/** Status lines by code, made once rather than on every response. */
const STATUS_LINES = new Map(Object.entries(STATUS_CODES).map(([code, text]) => [Number(code), `${code} ${text}`]));

export function writeResponse(res: HttpResponse, response: ApiResponse, closeConnection = false): void {
  res.cork(() => {
    // uWS answers 200 OK unless told otherwise: the most common answer costs no call.
    if (response.status !== OK_STATUS) res.writeStatus(STATUS_LINES.get(response.status) ?? String(response.status));
    const { headers } = response;
    if (headers?.['content-type'] === undefined) res.writeHeader('content-type', 'application/json');
    if (headers !== undefined) for (const name in headers) res.writeHeader(name, headers[name] as string);
    res.end(response.body, closeConnection);
  });
}
