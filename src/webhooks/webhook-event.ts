/**
 * One event of a webhook request, with Pusher's field names and shapes (pusher.com/docs/webhooks), so a
 * backend written for Pusher or soketi reads them unchanged. `channel` is the wire name clients use.
 */
export type WebhookEvent =
  | { readonly name: 'channel_occupied' | 'channel_vacated' | 'cache_miss'; readonly channel: string }
  | { readonly name: 'member_added' | 'member_removed'; readonly channel: string; readonly user_id: string }
  | ClientEventWebhook;

/** A client-* event as sent: `data` is the JSON text relayed to the channel; `user_id` on presence channels. */
export interface ClientEventWebhook {
  readonly name: 'client_event';
  readonly channel: string;
  readonly event: string;
  readonly data: string;
  readonly socket_id: string;
  readonly user_id?: string;
}
