/**
 * What a client does when the server closes its connection, by the close code's class (D6). This is the
 * `classes` table of protocol/errors.json, kept here as plain data so the client SDK (and its browser bundle)
 * can use it without carrying the server's catalogue; test/conformance/errors.test.ts keeps the two equal.
 */
export type ReconnectClass = 'never' | 'backoff' | 'immediately' | 'none';

export interface CloseCodeClass {
  readonly from: number;
  readonly to: number;
  readonly reconnect: ReconnectClass;
}

export const CLOSE_CODE_CLASSES: readonly CloseCodeClass[] = [
  { from: 4000, to: 4099, reconnect: 'never' },
  { from: 4100, to: 4199, reconnect: 'backoff' },
  { from: 4200, to: 4299, reconnect: 'immediately' },
  { from: 4300, to: 4399, reconnect: 'none' },
];

/** The class of a code of the catalogue's ranges, or undefined for any other code. */
export function closeCodeClassOf(code: number): ReconnectClass | undefined {
  return CLOSE_CODE_CLASSES.find((c) => code >= c.from && code <= c.to)?.reconnect;
}

/**
 * What to do after a close with `code`. Codes outside the catalogue's classes (1006 for a lost network,
 * 1001 going away, …) mean the network failed: back off and retry.
 */
export function reconnectAfterClose(code: number): ReconnectClass {
  return closeCodeClassOf(code) ?? 'backoff';
}
