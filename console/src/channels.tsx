import { useEffect, useState } from 'preact/hooks';
import { type ConsoleSession, rest } from './api';
import { decodeChannel, describeChannel } from './format';
import type { ChannelRef, Watched } from './live';

const REFRESH_MS = 2000;
/** The busiest channels shown; an app with more has the rest counted below the table. */
const MAX_ROWS = 200;

interface Row {
  readonly wire: string;
  readonly label: string;
  readonly subscriptions: number;
  /** Presence channels: distinct users. */
  readonly users?: number;
}

type ChannelsAnswer = { channels: Record<string, { subscription_count?: number; user_count?: number }> };

/** Runs `load` now and every REFRESH_MS while the component shows, and stops when `key` changes. */
function usePolling(load: () => Promise<void>, key: unknown[]): void {
  useEffect(() => {
    void load();
    const timer = window.setInterval(() => void load(), REFRESH_MS);
    return () => window.clearInterval(timer);
  }, key);
}

/**
 * The app's occupied channels from the REST API's own channel queries (GET /channels), which count the
 * app's clients only: this page's socket is in none of the counts.
 */
export function Channels(props: { session: ConsoleSession; watched: Watched | undefined; onWatch: (channel: ChannelRef) => void; onError: (error: unknown) => void }) {
  const { session, watched, onWatch, onError } = props;
  const [rows, setRows] = useState<Row[]>();
  const [members, setMembers] = useState<string[]>();
  usePolling(async () => {
    try {
      const [all, presence] = await Promise.all([
        rest<ChannelsAnswer>(session, 'GET', '/channels?info=subscription_count'),
        rest<ChannelsAnswer>(session, 'GET', '/channels?filter_by_prefix=presence-&info=user_count'),
      ]);
      const listed = Object.entries(all.channels).map(([wire, info]) => ({
        wire,
        label: describeChannel(decodeChannel(wire, session.appId)),
        subscriptions: info.subscription_count ?? 0,
        users: presence.channels[wire]?.user_count,
      }));
      setRows(listed.sort((a, b) => b.subscriptions - a.subscriptions || a.label.localeCompare(b.label)));
    } catch (error) {
      onError(error);
    }
  }, [session]);
  usePolling(async () => {
    if (watched?.type !== 'presence') return setMembers(undefined);
    try {
      const { users } = await rest<{ users: Array<{ id: string }> }>(session, 'GET', `/channels/${watched.wire}/users`);
      setMembers(users.map((user) => user.id));
    } catch (error) {
      onError(error);
    }
  }, [session, watched?.wire, watched?.type]);

  return (
    <section class="panel channels" aria-label="Channels">
      <h2>
        Channels <span class="muted">{rows ? rows.length : '…'}</span>
      </h2>
      {rows && rows.length === 0 && <p class="muted">No occupied channels.</p>}
      {rows && rows.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Channel</th>
              <th class="num">Subscribers</th>
              <th class="num">Members</th>
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, MAX_ROWS).map((row) => (
              <tr key={row.wire} class={row.wire === watched?.wire ? 'selected' : ''} onClick={() => onWatch(row.wire)} title="Watch this channel">
                <td class="channel-name">{row.label}</td>
                <td class="num">{row.subscriptions}</td>
                <td class="num">{row.users ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {rows && rows.length > MAX_ROWS && <p class="muted">and {rows.length - MAX_ROWS} more with fewer subscribers.</p>}
      {members && (
        <div class="members">
          <h3>
            Members of {watched?.name} <span class="muted">{members.length}</span>
          </h3>
          <ul>
            {members.map((id) => (
              <li key={id}>
                <code>{id}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
