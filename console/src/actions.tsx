import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type ConsoleSession, rest } from './api';
import { compactJson, jsonValue } from './format';
import type { Watched } from './live';

interface Props {
  readonly session: ConsoleSession;
  readonly watched: Watched | undefined;
  readonly onError: (error: unknown) => void;
}

type Outcome = { readonly ok: boolean; readonly text: string } | undefined;

/** A form that runs `act` and shows how it went; the channel field follows the watched channel. */
function useAction(onError: (error: unknown) => void) {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>();
  const run = async (act: () => Promise<string>) => {
    setBusy(true);
    setOutcome(undefined);
    try {
      setOutcome({ ok: true, text: await act() });
    } catch (error) {
      onError(error);
      setOutcome({ ok: false, text: error instanceof Error ? error.message : String(error) });
    } finally {
      setBusy(false);
    }
  };
  return { busy, outcome, run };
}

function useChannelField(watched: Watched | undefined) {
  const [channel, setChannel] = useState('');
  useEffect(() => {
    if (watched) setChannel(watched.wire);
  }, [watched?.wire]);
  return [channel, setChannel] as const;
}

function Result({ outcome, children }: { outcome: Outcome; children?: ComponentChildren }) {
  if (!outcome) return null;
  return (
    <div class={outcome.ok ? 'result ok' : 'result error'} role="status">
      {outcome.text}
      {children}
    </div>
  );
}

/** POST /events through the REST API: the event reaches the channel's subscribers like any backend's. */
function Publish({ session, watched, onError }: Props) {
  const [channel, setChannel] = useChannelField(watched);
  const [name, setName] = useState('console-event');
  const [data, setData] = useState('{"hello":"from the console"}');
  const { busy, outcome, run } = useAction(onError);
  const submit = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      await rest(session, 'POST', '/events', { name, channel, data });
      return `Published ${name} on ${channel}`;
    });
  };
  return (
    <form class="action" aria-label="Publish an event" onSubmit={submit}>
      <h3>Publish an event</h3>
      <label>
        Channel <input name="channel" required value={channel} onInput={(e) => setChannel(e.currentTarget.value)} />
      </label>
      <label>
        Event <input name="event" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Data <textarea name="data" rows={2} value={data} onInput={(e) => setData(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={busy}>
        Publish
      </button>
      <Result outcome={outcome} />
    </form>
  );
}

/** POST /broadcasts: every subscriber gets it with an id; the answer is the responses collected in time. */
function Broadcast({ session, watched, onError }: Props) {
  const [channel, setChannel] = useChannelField(watched);
  const [name, setName] = useState('console-ask');
  const [payload, setPayload] = useState('{"question":"who is there?"}');
  const [timeout, setTimeoutMs] = useState('1000');
  const [responses, setResponses] = useState<unknown[]>();
  const { busy, outcome, run } = useAction(onError);
  const submit = (event: Event) => {
    event.preventDefault();
    setResponses(undefined);
    void run(async () => {
      const answer = await rest<unknown[]>(session, 'POST', `/broadcasts?timeout=${encodeURIComponent(timeout)}`, { name, channel, payload: jsonValue(payload) });
      setResponses(answer);
      return `${answer.length} response${answer.length === 1 ? '' : 's'}`;
    });
  };
  return (
    <form class="action" aria-label="Send a broadcast" onSubmit={submit}>
      <h3>Send a broadcast</h3>
      <label>
        Channel <input name="channel" required value={channel} onInput={(e) => setChannel(e.currentTarget.value)} />
      </label>
      <label>
        Name <input name="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Payload <textarea name="payload" rows={2} value={payload} onInput={(e) => setPayload(e.currentTarget.value)} />
      </label>
      <label>
        Timeout (ms) <input name="timeout" type="number" min="0" value={timeout} onInput={(e) => setTimeoutMs(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={busy}>
        {busy ? 'Collecting responses…' : 'Broadcast'}
      </button>
      <Result outcome={outcome}>
        {responses && responses.length > 0 && (
          <ol class="responses">
            {responses.map((response, i) => (
              <li key={i}>
                <code>{compactJson(JSON.stringify(response))}</code>
              </li>
            ))}
          </ol>
        )}
      </Result>
    </form>
  );
}

/** POST /users/:id/terminate_connections: that signed-in user's sockets are closed with 4009, on every node. */
function Terminate({ session, onError }: Props) {
  const [userId, setUserId] = useState('');
  const { busy, outcome, run } = useAction(onError);
  const submit = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      await rest(session, 'POST', `/users/${encodeURIComponent(userId)}/terminate_connections`, {});
      return `Closed the connections of user ${userId}`;
    });
  };
  return (
    <form class="action" aria-label="Terminate a user's connections" onSubmit={submit}>
      <h3>Terminate a user's connections</h3>
      <label>
        User id <input name="userId" required value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
      </label>
      <button type="submit" class="danger" disabled={busy}>
        Terminate
      </button>
      <Result outcome={outcome} />
    </form>
  );
}

export function Actions(props: Props) {
  return (
    <section class="panel actions" aria-label="Actions">
      <h2>Actions</h2>
      <Publish {...props} />
      <Broadcast {...props} />
      <Terminate {...props} />
    </section>
  );
}
