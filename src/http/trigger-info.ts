import type { App } from '../apps/app-registry.js';
import { HttpError } from '../errors.js';
import { parseChannelId } from '../protocol/channel-id.js';
import { classifyChannel } from '../protocol/channel-type.js';
import { type ApiResponse, json } from './api-types.js';
import type { ChannelQueries } from './channels-endpoint.js';

export type InfoAttribute = 'user_count' | 'subscription_count';

/**
 * What a publish asked to be told about the channels it reached: Pusher's `info` on a trigger (for each of its
 * channels) or on an item of a batch (for that item's channel). Made only when `info` is present.
 */
export interface InfoRequest {
  readonly attributes: readonly InfoAttribute[];
  readonly inBatch: boolean;
}

const ATTRIBUTES: ReadonlySet<string> = new Set<InfoAttribute>(['user_count', 'subscription_count']);

/** `info` as sent, "a,b", read; an attribute the API does not know is a 400 naming `at`. */
export function parseInfo(info: string, at: string, inBatch: boolean): InfoRequest {
  const attributes = info.split(',').filter((attribute) => attribute !== '');
  const unknown = attributes.find((attribute) => !ATTRIBUTES.has(attribute));
  if (unknown !== undefined) throw new HttpError('BadRequest', `${at}: unknown attribute "${unknown.slice(0, 40)}"; use user_count, subscription_count`);
  return { attributes: [...new Set(attributes)] as InfoAttribute[], inBatch };
}

/** A published event as the answer needs it. */
export interface InfoTarget {
  readonly channel: string;
  readonly info: InfoRequest | undefined;
}

/** Whether any event asked for info: only then does a publish read counts. */
export function asksForInfo(events: readonly InfoTarget[]): boolean {
  for (const event of events) if (event.info) return true;
  return false;
}

/**
 * The answer of a publish that asked for info, as Pusher gives it, read cluster-wide: for a trigger
 * `{"channels": {<channel>: {attributes}}}`, one entry per channel; for a batch `{"batch": [{attributes}, ...]}`, one
 * entry per event in order (`{}` for those that asked nothing). `user_count` is given for presence channels only.
 */
export async function infoAnswer(queries: ChannelQueries, app: App, events: readonly InfoTarget[]): Promise<ApiResponse> {
  const attributesOf = async ({ channel, info }: InfoTarget) => {
    const attributes: Partial<Record<InfoAttribute, number>> = {};
    if (!info) return attributes;
    if (info.attributes.includes('user_count') && isPresence(channel)) attributes.user_count = (await queries.userIds(app.id, channel)).length;
    if (info.attributes.includes('subscription_count')) attributes.subscription_count = await queries.subscriptionCount(app.id, channel);
    return attributes;
  };
  const answers = await Promise.all(events.map(attributesOf));
  if (events.some((event) => event.info?.inBatch)) return json(200, { batch: answers });
  return json(200, { channels: Object.fromEntries(events.map((event, i) => [event.channel, answers[i]])) });
}

function isPresence(wire: string): boolean {
  return classifyChannel(parseChannelId(wire)?.name ?? wire) === 'presence';
}
