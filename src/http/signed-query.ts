/** The query parameters a signature check reads, by their wire names. */
const READ = ['auth_key', 'auth_timestamp', 'auth_version', 'auth_signature', 'body_md5'] as const;
type ReadName = (typeof READ)[number];
const SIGNATURE: ReadName = 'auth_signature';
const SIGNATURE_INDEX = READ.indexOf(SIGNATURE);

/**
 * A signed REST request's query as its signature check sees it: the parameters it reads (URL-decoded, the
 * first of each name, null when absent) and `canonical`, the query part of the string to sign: every parameter
 * but auth_signature, URL-decoded, sorted by key (stable, in UTF-16 code units) and joined as `k=v&…` without
 * encoding (research/broadcastt-protocol.md §3.2).
 */
export type SignedQuery = { readonly [name in ReadName]: string | null } & { readonly canonical: string };

/** Reads a raw query string (without `?`); any string is accepted, exactly as URLSearchParams decodes it. */
export function readSignedQuery(query: string): SignedQuery {
  return readLibraryQuery(query) ?? readAnyQuery(query);
}

/**
 * The server libraries send their parameters sorted by key, with nothing to decode. Such a query is its own
 * canonical form once auth_signature is cut out, so it is read in one pass, without splitting it into pairs
 * or copying out its keys: this runs on every REST publish. Undefined for any other query (something
 * encoded, keys out of order, an empty part or one without `=`, two signatures), which readAnyQuery reads.
 */
function readLibraryQuery(query: string): SignedQuery | undefined {
  if (query.includes('%') || query.includes('+')) return undefined;
  // By READ's index: an array read and written by position, not an object by a name that varies (which V8
  // answers through its slowest, megamorphic lookups).
  const values: Array<string | null> = [null, null, null, null, null];
  let previousKeyStart = 0;
  let previousKeyEnd = 0;
  let signatureStart = -1;
  let signatureEnd = -1;
  for (let start = 0; start <= query.length; ) {
    const ampersand = query.indexOf('&', start);
    const end = ampersand < 0 ? query.length : ampersand;
    const equals = query.indexOf('=', start);
    if (end === start || equals < 0 || equals > end) return undefined;
    const index = readIndexAt(query, start, equals);
    if (index === SIGNATURE_INDEX) {
      if (signatureStart >= 0) return undefined;
      signatureStart = start;
      signatureEnd = end;
    } else if (comesBefore(query, start, equals, previousKeyStart, previousKeyEnd)) {
      return undefined;
    } else {
      previousKeyStart = start;
      previousKeyEnd = equals;
    }
    if (index >= 0 && values[index] === null) values[index] = query.slice(equals + 1, end);
    start = end + 1;
  }
  const [auth_key = null, auth_timestamp = null, auth_version = null, auth_signature = null, body_md5 = null] = values;
  const canonical = signatureStart < 0 ? query : withoutPart(query, signatureStart, signatureEnd);
  return { auth_key, auth_timestamp, auth_version, auth_signature, body_md5, canonical };
}

/** The index in READ of the parameter name at [start, end) of the query, or -1 if it is not one of them. */
function readIndexAt(query: string, start: number, end: number): number {
  for (let i = 0; i < READ.length; i++) {
    const name = READ[i] as ReadName;
    if (end - start === name.length && query.startsWith(name, start)) return i;
  }
  return -1;
}

/**
 * Whether the text at [aStart, aEnd) sorts before the text at [bStart, bEnd), in UTF-16 code units (as `<`
 * compares strings). Positions rather than slices: no key is copied out of the query.
 */
function comesBefore(text: string, aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  const common = Math.min(aEnd - aStart, bEnd - bStart);
  for (let i = 0; i < common; i++) {
    const difference = text.charCodeAt(aStart + i) - text.charCodeAt(bStart + i);
    if (difference !== 0) return difference < 0;
  }
  return aEnd - aStart < bEnd - bStart;
}

/** The query without its part at [start, end) and the `&` that joins it to the rest. */
function withoutPart(query: string, start: number, end: number): string {
  if (start === 0) return query.slice(end + 1);
  return query.slice(0, start - 1) + query.slice(end);
}

/** Any query, by URLSearchParams's own decoding and sort (which is stable, in UTF-16 code units). */
function readAnyQuery(query: string): SignedQuery {
  const params = new URLSearchParams(query);
  const read = Object.fromEntries(READ.map((name) => [name, params.get(name)])) as Record<ReadName, string | null>;
  params.delete(SIGNATURE);
  params.sort();
  return { ...read, canonical: [...params].map(([key, value]) => `${key}=${value}`).join('&') };
}
