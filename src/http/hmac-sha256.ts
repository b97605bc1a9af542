import * as crypto from 'node:crypto';
import { createHmac, createSecretKey } from 'node:crypto';

/** SHA-256's block size in bytes: B in RFC 2104. */
const BLOCK_BYTES = 64;
const SHA256_BYTES = 32;
const INNER_PAD = 0x36;
const OUTER_PAD = 0x5c;
const LAST_ASCII = 0x7f;

type OneShotHash = (algorithm: string, data: string | Buffer, outputEncoding: 'hex' | 'latin1') => string;
/** crypto.hash: Node ≥ 20.12 (and 21.7). */
const oneShot = (crypto as { hash?: OneShotHash }).hash;

/** Signs messages (UTF-8 text) with one key: the HMAC-SHA256 as lowercase hex. */
export type HmacSigner = (message: string) => string;

/**
 * HMAC-SHA256 with a fixed key, the same bytes as createHmac (test/unit/hmac-sha256.test.ts compares them).
 * Every signed REST request computes one, and createHmac spends most of its ~1.3 µs setting up an OpenSSL
 * context per call; RFC 2104's own definition, H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)), with both padded keys
 * made once, is two one-shot hashes (~0.8 µs). That form needs crypto.hash and a key of ASCII text no longer
 * than a block (so K ⊕ ipad is ASCII text too, prepended to the message as text); any other key uses createHmac.
 */
export function hmacSha256Signer(key: string): HmacSigner {
  if (!oneShot || !isAscii(key) || key.length > BLOCK_BYTES) {
    const keyObject = createSecretKey(Buffer.from(key));
    return (message) => createHmac('sha256', keyObject).update(message).digest('hex');
  }
  const hash = oneShot;
  const padded = Buffer.alloc(BLOCK_BYTES);
  padded.write(key, 'latin1');
  const innerPad = Buffer.from(padded.map((byte) => byte ^ INNER_PAD)).toString('latin1');
  // The outer hash's input: K ⊕ opad, then the inner digest written after it on each call. Reused: signing
  // is synchronous. The inner digest crosses as latin1, a byte per character: less work than hex both ways.
  const outer = Buffer.alloc(BLOCK_BYTES + SHA256_BYTES);
  for (let i = 0; i < BLOCK_BYTES; i++) outer[i] = (padded[i] as number) ^ OUTER_PAD;
  return (message) => {
    outer.write(hash('sha256', innerPad + message, 'latin1'), BLOCK_BYTES, 'latin1');
    return hash('sha256', outer, 'hex');
  };
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > LAST_ASCII) return false;
  return true;
}
