import * as crypto from 'node:crypto';
import { createHash, createHmac } from 'node:crypto';
import type { App } from '../apps/app-registry.js';
import { HttpError } from '../errors.js';
import type { ApiRequest } from './api-types.js';
import { type HmacSigner, hmacSha256Signer } from './hmac-sha256.js';
import { readSignedQuery } from './signed-query.js';

/** Requests signed more than this far from server time are refused (replay window, as Pusher). */
export const MAX_CLOCK_SKEW_SECONDS = 600;
const AUTH_VERSION = '1.0';
const SIGNATURE_FORMAT = /^[0-9a-f]{64}$/i;

export type SignableRequest = Pick<ApiRequest, 'method' | 'path' | 'query' | 'body'>;

/**
 * Checks a REST request signed as the broadcastt and Pusher server libraries sign it
 * (research/broadcastt-protocol.md §3.2): HMAC-SHA256 over "METHOD\nPATH\nQUERY", QUERY being every
 * parameter but auth_signature, URL-decoded, sorted by key and joined unencoded; body_md5 over the raw
 * body bytes; auth_timestamp within ±600 s. Throws HttpError(InvalidSignature) saying which check failed.
 */
export function verifyRequestSignature(request: SignableRequest, app: App, nowSeconds: number): void {
  verifyBodyMd5(request.method, request.body, verifyQuerySignature(request, app, nowSeconds));
}

/**
 * The checks the query alone can pass, before the body is read: the signature covers the query, body_md5
 * included, so a request that fails here is refused without reading its body. Returns the body_md5 it
 * claims (null when absent), for verifyBodyMd5 once the body is in.
 */
export function verifyQuerySignature(request: Omit<SignableRequest, 'body'>, app: App, nowSeconds: number): string | null {
  const query = readSignedQuery(request.query);
  const signature = query.auth_signature;
  if (!signature) fail('auth_signature is missing');
  if (!SIGNATURE_FORMAT.test(signature)) fail('auth_signature must be 64 hex digits');
  if (query.auth_key !== app.key) fail('auth_key does not match the app');
  if (query.auth_version !== AUTH_VERSION) fail(`auth_version must be ${AUTH_VERSION}`);

  const timestamp = Number(query.auth_timestamp ?? Number.NaN);
  if (!Number.isInteger(timestamp)) fail('auth_timestamp must be Unix seconds');
  const skew = Math.abs(nowSeconds - timestamp);
  if (skew > MAX_CLOCK_SKEW_SECONDS) fail(`auth_timestamp is ${skew} s from server time; at most ${MAX_CLOCK_SKEW_SECONDS} s allowed`);
  if (request.method === 'POST' && query.body_md5 === null) fail('body_md5 is missing');

  const toSign = stringToSign(request.method, request.path, query.canonical);
  if (!sameHexDigest(signature, signerOf(app)(toSign))) {
    fail(`auth_signature does not match; the string to sign is ${JSON.stringify(toSign)}`);
  }
  return query.body_md5;
}

/** The body is the one the signed query's body_md5 names (a POST, or any request with a body). */
export function verifyBodyMd5(method: string, body: Buffer, claimed: string | null): void {
  if (method !== 'POST' && body.length === 0) return;
  if (claimed !== md5Hex(body)) fail('body_md5 does not match the MD5 of the request body');
}

/** Each app's signer, made once from its secret. */
const signers = new WeakMap<App, HmacSigner>();

function signerOf(app: App): HmacSigner {
  let signer = signers.get(app);
  if (!signer) signers.set(app, (signer = hmacSha256Signer(app.secret)));
  return signer;
}

/** ASCII letters are lower case with this bit set; digits have it set already. */
const LOWER_CASE_BIT = 0x20;

/**
 * Two SHA-256 digests as hex, `given` already checked to be 64 hex digits in either case (so setting the
 * lower-case bit lowers its letters and leaves its digits), `expected` in lower case. Compared in constant time:
 * every character is looked at, whatever the first difference. Compared as text rather than decoded into
 * buffers for crypto.timingSafeEqual, which cost twice as much (bench/README.md, "A signed REST request").
 */
function sameHexDigest(given: string, expected: string): boolean {
  let difference = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) difference |= (given.charCodeAt(i) | LOWER_CASE_BIT) ^ expected.charCodeAt(i);
  return difference === 0;
}

/** MD5 as hex: crypto.hash (Node ≥ 20.12) in one native call, or a Hash object where it is missing (20.10). */
const oneShot = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: 'hex') => string }).hash;
const md5Hex: (body: Buffer) => string = oneShot ? (body) => oneShot('md5', body, 'hex') : (body) => createHash('md5').update(body).digest('hex');

function fail(why: string): never {
  throw new HttpError('InvalidSignature', why);
}

/** "METHOD\nPATH\nQUERY", QUERY being the canonical query (SignedQuery). */
function stringToSign(method: string, path: string, canonicalQuery: string): string {
  return `${method.toUpperCase()}\n${path}\n${canonicalQuery}`;
}

/**
 * Builds the signed query string for a request, exactly as the server libraries do. Exported for tests,
 * benchmarks and backends that call the REST API without a library.
 */
export function signRequestQuery(
  app: Pick<App, 'key' | 'secret'>,
  method: string,
  path: string,
  body: string | Buffer = '',
  extra: Record<string, string> = {},
  nowSeconds = Math.floor(Date.now() / 1000),
): string {
  const params = new Map<string, string>(Object.entries(extra));
  params.set('auth_key', app.key);
  params.set('auth_timestamp', String(nowSeconds));
  params.set('auth_version', AUTH_VERSION);
  if (method.toUpperCase() === 'POST' || body.length > 0) params.set('body_md5', createHash('md5').update(body).digest('hex'));
  const canonical = [...params.keys()]
    .sort()
    .map((key) => `${key}=${params.get(key) ?? ''}`)
    .join('&');
  const signature = createHmac('sha256', app.secret).update(stringToSign(method, path, canonical)).digest('hex');
  params.set('auth_signature', signature);
  return [...params.keys()]
    .sort()
    .map((key) => `${key}=${encodeURIComponent(params.get(key) ?? '')}`)
    .join('&');
}
