import type { App } from '../apps/app-registry.js';
import type { ChannelHistory } from '../channels/channel-history.js';
import { HttpError } from '../errors.js';
import { resolveChannel } from '../protocol/channel-name.js';
import type { ApiResponse } from './api-types.js';
import { asHttp } from './request-body.js';

/** What the history endpoint reads: the apps' rules and the channels' streams. */
export type HistoryReads = Pick<ChannelHistory, 'ruleFor' | 'page'>;

const WHOLE_NUMBER = /^\d{1,15}$/;

/**
 * GET /apps/:id/channels/:name/history?since=&limit=&epoch= (PROTOCOL.md §9.4): the kept events of a history
 * channel after `since` (all kept ones without it), oldest first, at most `limit` (the rule's size by default,
 * and at most). The answer is `{"epoch","offset","recovered"?,"events":[…]}` where each event is the frame
 * subscribers got, `offset` included; the frames are kept as JSON text, so the body is joined, not encoded.
 */
export async function channelHistory(history: HistoryReads, app: App, name: string, query: URLSearchParams): Promise<ApiResponse> {
  const { wire } = asHttp('channel', () => resolveChannel(name, app));
  const rule = history.ruleFor(app.id, wire);
  if (rule === undefined) throw new HttpError('NoHistory', wire);
  const since = wholeNumber(query, 'since', 0);
  const limit = Math.min(wholeNumber(query, 'limit', 1) ?? rule.size, rule.size);
  const epoch = query.get('epoch') ?? undefined;
  let page;
  try {
    page = await history.page(app.id, wire, rule, limit, since, epoch);
  } catch (error) {
    throw new HttpError('ClusterUnavailable', `the history of ${wire} cannot be read: ${String(error)}`);
  }
  const recovered = page.recovered === undefined ? '' : `"recovered":${page.recovered},`;
  const body = `{"epoch":${JSON.stringify(page.position.epoch)},"offset":${page.position.offset},${recovered}"events":[${page.frames.join(',')}]}`;
  return { status: 200, body };
}

/** A query parameter that must be a whole number of at least `minimum`, if present. */
function wholeNumber(query: URLSearchParams, name: string, minimum: number): number | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  const value = WHOLE_NUMBER.test(text) ? Number(text) : Number.NaN;
  if (!(value >= minimum)) throw new HttpError('BadRequest', `${name} must be a whole number of at least ${minimum}, got ${JSON.stringify(text.slice(0, 40))}`);
  return value;
}
