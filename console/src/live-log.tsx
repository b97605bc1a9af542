import { useState } from 'preact/hooks';
import type { ConsoleSession } from './api';
import { clock, compactJson, describeChannel } from './format';
import type { ChannelFrame, ChannelRef, Watched } from './live';

export type EntryKind = 'event' | 'broadcast' | 'response' | 'client event' | 'member';

export interface LogEntry {
  readonly key: number;
  readonly time: number;
  readonly kind: EntryKind;
  readonly event: string;
  /** JSON text. */
  readonly data: string;
  /** A broadcast's id, or the id a response answers. */
  readonly id?: string;
  readonly userId?: string;
}

let nextKey = 0;

/** A frame of the watched channel as a log line: what kind of traffic it is, and its payload. */
export function entryOf(frame: ChannelFrame): LogEntry {
  const base = { key: nextKey++, time: Date.now(), event: frame.event, data: frame.data, ...(frame.user_id === undefined ? {} : { userId: frame.user_id }) };
  if (frame.event === 'console:response') {
    const { id, payload } = JSON.parse(frame.data) as { id: string; payload: unknown };
    return { ...base, kind: 'response', event: 'response', data: JSON.stringify(payload), id };
  }
  const member = /_internal:(member_added|member_removed)$/.exec(frame.event);
  if (member) return { ...base, kind: 'member', event: member[1] ?? frame.event };
  if (frame.id !== undefined) return { ...base, kind: 'broadcast', id: frame.id };
  return { ...base, kind: frame.event.startsWith('client-') ? 'client event' : 'event' };
}

interface Props {
  readonly session: ConsoleSession;
  readonly watched: Watched | undefined;
  readonly entries: readonly LogEntry[];
  readonly error: string | undefined;
  readonly onWatch: (channel: ChannelRef | undefined) => void;
  readonly onClear: () => void;
}

/** The live log of one channel: every event, broadcast, response and member change, newest first. */
export function LiveLog({ watched, entries, error, onWatch, onClear }: Props) {
  const [name, setName] = useState('');
  const [system, setSystem] = useState(false);
  const [consumer, setConsumer] = useState(false);
  const submit = (event: Event) => {
    event.preventDefault();
    const trimmed = name.trim();
    if (trimmed !== '') onWatch(system || consumer ? { name: trimmed, system, consumer } : trimmed);
  };
  return (
    <section class="panel log" aria-label="Live log">
      <h2>
        Live log{' '}
        {watched ? (
          <span class="watched">
            of <b>{describeChannel(watched)}</b>
          </span>
        ) : (
          <span class="muted">no channel watched</span>
        )}
      </h2>
      <form class="row" onSubmit={submit}>
        <input aria-label="Channel to watch" placeholder="channel name or ID" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <label class="check" title="An EXP system channel">
          <input type="checkbox" checked={system} onChange={(e) => setSystem(e.currentTarget.checked)} /> system
        </label>
        <label class="check" title="An EXP consumer channel">
          <input type="checkbox" checked={consumer} onChange={(e) => setConsumer(e.currentTarget.checked)} /> consumer
        </label>
        <button type="submit">Watch</button>
        {watched && (
          <button type="button" class="secondary" onClick={() => onWatch(undefined)}>
            Stop
          </button>
        )}
        <button type="button" class="secondary" onClick={onClear}>
          Clear
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <ol class="entries" aria-live="polite">
        {entries.length === 0 && <li class="muted empty">{watched ? 'Waiting for traffic on this channel…' : 'Pick a channel to watch its traffic live.'}</li>}
        {entries.map((entry) => (
          <li key={entry.key} class={`entry kind-${entry.kind.replace(' ', '-')}`}>
            <span class="time">{clock(entry.time)}</span>
            <span class="kind">{entry.kind}</span>
            <span class="event">{entry.event}</span>
            {entry.id && <span class="id" title="broadcast id">{entry.id}</span>}
            {entry.userId && <span class="id">user {entry.userId}</span>}
            <code class="data">{compactJson(entry.data)}</code>
          </li>
        ))}
      </ol>
    </section>
  );
}
