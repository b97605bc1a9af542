import { clock } from './format';
import type { Refusal, Stats, WebhookAttempt } from './live';

function Card({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div class="card stat" title={hint}>
      <div class="stat-value">{value}</div>
      <div class="stat-label">{label}</div>
    </div>
  );
}

/** The app's counts from the console socket, every second; the console itself is in none of them. */
export function ActivityCards({ stats, rate }: { stats: Stats | undefined; rate: number | undefined }) {
  const show = (value: number | null | undefined) => (value === undefined ? '…' : value === null ? '?' : value.toLocaleString());
  return (
    <section class="stats" aria-label="Counts">
      <Card label="connections" value={show(stats?.connections)} hint="The app's clients in the whole cluster" />
      <Card label="occupied channels" value={show(stats?.channels)} hint="Channels with at least one subscriber; ? while the cluster store cannot be read" />
      <Card label="events / s" value={rate === undefined ? '…' : rate.toFixed(rate < 10 ? 1 : 0)} hint="Events published on the app's channels, as this node sees them" />
      <Card label="events published" value={show(stats?.published)} hint="Since this node started" />
    </section>
  );
}

/** Refused connections, frames, subscriptions and REST calls of the app, newest first. */
export function Refusals({ refusals }: { refusals: readonly Refusal[] }) {
  return (
    <section class="panel refusals" aria-label="Recent refusals">
      <h2>
        Recent refusals <span class="muted">{refusals.length}</span>
      </h2>
      {refusals.length === 0 ? (
        <p class="muted">No refusals kept on this node.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Time</th>
              <th>Where</th>
              <th>Code</th>
              <th>Message</th>
              <th>About</th>
            </tr>
          </thead>
          <tbody>
            {refusals.map((refusal) => (
              <tr key={refusal.seq}>
                <td class="time">{clock(refusal.time)}</td>
                <td>{refusal.source}</td>
                <td>
                  {refusal.code} <span class="muted">{refusal.name}</span>
                </td>
                <td class="message">{refusal.message}</td>
                <td class="about">{[refusal.request, refusal.channel, refusal.socketId && `socket ${refusal.socketId}`].filter(Boolean).join(' · ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** What became of the app's webhook requests on this node, newest first; null when it has no webhooks. */
export function WebhookDeliveries({ deliveries }: { deliveries: null | readonly WebhookAttempt[] }) {
  return (
    <section class="panel webhooks" aria-label="Webhook deliveries">
      <h2>
        Webhook deliveries <span class="muted">{deliveries?.length ?? ''}</span>
      </h2>
      {deliveries === null ? (
        <p class="muted">This app has no webhooks configured (docs/webhooks.md).</p>
      ) : deliveries.length === 0 ? (
        <p class="muted">No webhook requests made on this node yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Time</th>
              <th>Outcome</th>
              <th>Events</th>
              <th>URL</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((attempt) => (
              <tr key={attempt.seq}>
                <td class="time">{clock(attempt.time)}</td>
                <td class={`outcome ${attempt.outcome}`}>
                  {OUTCOMES[attempt.outcome]}
                  {attempt.ms === undefined ? '' : ` · ${attempt.ms} ms`}
                  {attempt.detail && <span class="muted"> · {attempt.detail}</span>}
                </td>
                <td class="events">{attempt.events.join(', ')}</td>
                <td class="about">{attempt.url}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const OUTCOMES: Readonly<Record<WebhookAttempt['outcome'], string>> = {
  delivered: 'delivered',
  attempt_failed: 'failed (retried later)',
  failed: 'given up',
  dropped: 'dropped',
};
