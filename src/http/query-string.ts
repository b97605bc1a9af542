/**
 * A query string as key/value pairs, in order, decoded as application/x-www-form-urlencoded: exactly what
 * URLSearchParams gives (test/unit/query-string.test.ts compares them), without building one. Signed REST
 * requests parse their query once each, on the publish path, and most values are plain (hex, digits).
 */
export function parseQuery(query: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (query === '') return pairs;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const at = part.indexOf('=');
    pairs.push(at < 0 ? [decode(part), ''] : [decode(part.slice(0, at)), decode(part.slice(at + 1))]);
  }
  return pairs;
}

const ENCODED = /[%+]/;

/** A plain value is itself; anything encoded is decoded by URLSearchParams's own rules (lenient with bad %). */
function decode(raw: string): string {
  if (!ENCODED.test(raw)) return raw;
  return new URLSearchParams(`x=${raw.replace(/&/g, '%26')}`).get('x') ?? '';
}
