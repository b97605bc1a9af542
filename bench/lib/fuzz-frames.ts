// Random client frames for robustness checks: invalid JSON, wrong types, unknown events, binary and
// oversized frames, and valid frames with a field replaced by junk. Seeded, so a failure can be replayed.
// Sign-in frames are left out on purpose: a forged sign-in is fatal (4009) by design.

export interface FuzzFrame {
  readonly kind: string;
  readonly data: string | Buffer;
  readonly binary: boolean;
}

/** mulberry32: a small, fast, seedable PRNG; good enough to pick cases. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PREFIXES = ['broadcastt', 'pusher', 'broadcastt_internal', 'pusher_internal', '', 'client'];
const VERBS = ['subscribe', 'unsubscribe', 'ping', 'pong', 'broadcast', 'response', 'nope', 'connection_established', 'error', ''];
const VALID: ReadonlyArray<Record<string, unknown>> = [
  { event: 'broadcastt:subscribe', data: { channel: 'fuzz' } },
  { event: 'pusher:subscribe', data: { channel: 'private-fuzz', auth: 'k:0' } },
  { event: 'broadcastt:subscribe', data: { channel: 'presence-fuzz', auth: 'k:0', channel_data: '{"user_id":"1"}' } },
  { event: 'broadcastt:unsubscribe', data: { channel: 'fuzz' } },
  { event: 'broadcastt:ping', data: {} },
  { event: 'client-x', channel: 'private-fuzz', data: {} },
  { event: 'broadcastt:broadcast', data: { request_id: 'r', channel: 'fuzz', name: 'e', payload: {}, timeout: 0 } },
  { event: 'broadcastt:response', data: { id: 'x', channel: 'fuzz', payload: 1 } },
  { event: 'broadcastt:subscribe', data: { channel: 'lobby', consumer: true } },
];

export function* fuzzFrames(seed: number, count: number, maxMessageBytes: number): Generator<FuzzFrame> {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const junkValue = (depth = 0): unknown => {
    const roll = next();
    if (depth > 2 || roll < 0.2) return pick([null, true, false, 0, -1, 1e308, '', 'x', '\u0000', '日本', '{"a":1}', 'WyJ4IiwieSIsMSwxXQ==']);
    if (roll < 0.4) return Math.floor(next() * 2 ** 40) * (next() < 0.5 ? -1 : 1);
    if (roll < 0.6) return randomText(Math.floor(next() * 200));
    if (roll < 0.8) return Array.from({ length: Math.floor(next() * 4) }, () => junkValue(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, () => [randomText(6), junkValue(depth + 1)]));
  };
  const randomText = (length: number) => String.fromCharCode(...Array.from({ length }, () => Math.floor(next() * (next() < 0.9 ? 95 : 0xffff)) + 32));
  const cases: Array<() => FuzzFrame> = [
    () => ({ kind: 'garbage', data: randomText(1 + Math.floor(next() * 300)), binary: false }),
    () => ({ kind: 'truncated', data: JSON.stringify(pick(VALID)).slice(0, -1 - Math.floor(next() * 10)), binary: false }),
    () => ({ kind: 'not-an-object', data: JSON.stringify(junkValue(3)), binary: false }),
    () => ({ kind: 'unknown-event', data: JSON.stringify({ event: `${pick(PREFIXES)}:${pick(VERBS)}`, data: junkValue() }), binary: false }),
    () => ({ kind: 'wrong-event-type', data: JSON.stringify({ event: junkValue(3), data: junkValue() }), binary: false }),
    () => {
      const frame = structuredClone(pick(VALID)) as Record<string, unknown>;
      const target = next() < 0.5 || typeof frame.data !== 'object' ? frame : (frame.data as Record<string, unknown>);
      target[pick(Object.keys(target))] = junkValue();
      return { kind: 'mutated', data: JSON.stringify(frame), binary: false };
    },
    () => {
      const frame = structuredClone(pick(VALID)) as { data?: unknown };
      if (typeof frame.data === 'object') frame.data = JSON.stringify(frame.data).slice(0, -1);
      return { kind: 'bad-string-data', data: JSON.stringify(frame), binary: false };
    },
    () => ({ kind: 'deep', data: `${'['.repeat(5000 + Math.floor(next() * 5000))}${']'.repeat(5000)}`, binary: false }),
    () => ({ kind: 'binary', data: Buffer.from(Array.from({ length: 1 + Math.floor(next() * 200) }, () => Math.floor(next() * 256))), binary: true }),
    () => ({ kind: 'huge', data: JSON.stringify({ event: 'broadcastt:ping', data: 'x'.repeat(maxMessageBytes + Math.floor(next() * 1000)) }), binary: false }),
  ];
  for (let i = 0; i < count; i++) yield (pick(cases))();
}
