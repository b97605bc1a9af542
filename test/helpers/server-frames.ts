import { describeErrors, validatorFor, validators } from '../../src/protocol/schemas.js';

/** A server frame with its `data` string decoded. */
export interface Frame {
  event: string;
  channel?: string;
  data: Record<string, unknown>;
  /** The frame's other top-level fields (e.g. a broadcast's `id`). */
  [field: string]: unknown;
}

const DEF_BY_SUFFIX: Record<string, string> = {
  connection_established: 'connectionEstablished',
  error: 'error',
  pong: 'pong',
  subscription_succeeded: 'subscriptionSucceeded',
  subscription_error: 'subscriptionError',
  member_added: 'memberAdded',
  member_removed: 'memberRemoved',
  signin_success: 'signinSuccess',
  broadcast_responses: 'broadcastResponses',
  subscription_count: 'subscriptionCount',
  cache_miss: 'cacheMiss',
  watchlist_events: 'watchlistEvents',
};

/** The protocol/server-frames.schema.json definition a frame with this event must satisfy. */
export function serverFrameDef(event: string): string {
  const match = /^(?:broadcastt|pusher)(?:_internal)?:(.+)$/.exec(event);
  if (!match) return 'channelEvent';
  return DEF_BY_SUFFIX[match[1] ?? ''] ?? 'unknown';
}

/**
 * Decodes one server frame and checks it against protocol/: the envelope against the schema, then the
 * decoded `data` against the definition's contentSchema. Throws with the reason when it does not conform.
 */
export function decodeServerFrame(text: string): Frame {
  const frame = JSON.parse(text) as Frame;
  if (!validators.serverFrame(frame)) {
    throw new Error(`frame does not match server-frames.schema.json (${describeErrors(validators.serverFrame.errors, 'frame')}): ${text}`);
  }
  const def = serverFrameDef(frame.event);
  const data = JSON.parse(frame.data as unknown as string);
  // pong and cache_miss have no contentSchema: their data is the constant "{}", which the frame schema checks.
  if (def !== 'pong' && def !== 'cacheMiss' && def !== 'unknown' && def !== 'channelEvent') {
    const inner = validatorFor(`server-frames.schema.json#/$defs/${def}/properties/data/contentSchema`);
    if (!inner(data)) throw new Error(`data of ${frame.event} is invalid (${describeErrors(inner.errors, 'data')}): ${text}`);
  }
  return { ...frame, data };
}
