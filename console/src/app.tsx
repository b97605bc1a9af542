import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { Actions } from './actions';
import { ActivityCards, Refusals, WebhookDeliveries } from './activity';
import { ApiError, type ConsoleSession, storedSession, storeSession } from './api';
import { Channels } from './channels';
import { type ChannelRef, LiveSocket, type Refusal, type Stats, type Watched, type WebhookAttempt } from './live';
import { entryOf, LiveLog, type LogEntry } from './live-log';
import { SignIn } from './sign-in';

const MAX_LOG_ENTRIES = 500;
const MAX_REFUSALS = 100;
const MAX_WEBHOOK_ATTEMPTS = 50;

export function App() {
  const [session, setSession] = useState<ConsoleSession | undefined>(storedSession);
  const [notice, setNotice] = useState<string>();
  const signOut = useCallback((reason?: string) => {
    storeSession(undefined);
    setSession(undefined);
    setNotice(reason);
  }, []);
  const signedIn = useCallback((next: ConsoleSession) => {
    storeSession(next);
    setSession(next);
    setNotice(undefined);
  }, []);
  return session ? <Dashboard session={session} onSignOut={signOut} /> : <SignIn notice={notice} onSignedIn={signedIn} />;
}

interface LiveState {
  readonly connection: 'connecting' | 'live' | 'closed';
  readonly reason?: string;
  readonly stats?: Stats;
  /** Events published per second, from the last two counts. */
  readonly rate?: number;
  readonly watched?: Watched;
}

/** The socket's state, kept for the page: counts, the watched channel, its log and the refusals. */
function useLive(session: ConsoleSession, onSignOut: (reason: string) => void) {
  const [live, setLive] = useState<LiveState>({ connection: 'connecting' });
  const [log, setLog] = useState<LogEntry[]>([]);
  const [refusals, setRefusals] = useState<Refusal[]>([]);
  const [webhooks, setWebhooks] = useState<WebhookAttempt[] | null>(null);
  const [error, setError] = useState<string>();
  const socket = useRef<LiveSocket | undefined>(undefined);
  useEffect(() => {
    let last: Stats | undefined;
    const opened = new LiveSocket(session.token, {
      state: (connection, reason) => setLive((s) => ({ ...s, connection, reason })),
      stats: (stats) => {
        const rate = last && stats.time > last.time ? ((stats.published - last.published) * 1000) / (stats.time - last.time) : undefined;
        last = stats;
        setLive((s) => ({ ...s, stats, rate }));
        if (stats.refusals.length > 0) setRefusals((kept) => [...[...stats.refusals].reverse(), ...kept].slice(0, MAX_REFUSALS));
        const attempts = stats.webhooks;
        setWebhooks((kept) => (attempts === null ? null : [...[...attempts].reverse(), ...(kept ?? [])].slice(0, MAX_WEBHOOK_ATTEMPTS)));
      },
      watching: (watched) => setLive((s) => ({ ...s, watched })),
      frame: (frame) => setLog((entries) => [entryOf(frame), ...entries].slice(0, MAX_LOG_ENTRIES)),
      error: setError,
      signedOut: (reason) => onSignOut(`Signed out: ${reason}`),
    });
    socket.current = opened;
    return () => opened.stop();
  }, [session, onSignOut]);
  const watch = useCallback((channel: ChannelRef | undefined) => {
    setLog([]);
    setError(undefined);
    socket.current?.watch(channel);
  }, []);
  return { live, log, refusals, webhooks, error, watch, clearLog: () => setLog([]) };
}

function Dashboard({ session, onSignOut }: { session: ConsoleSession; onSignOut: (reason?: string) => void }) {
  const { live, log, refusals, webhooks, error, watch, clearLog } = useLive(session, onSignOut);
  const remaining = useSecondsLeft(session.expiresAt);
  useEffect(() => {
    if (remaining <= 0) onSignOut('Your console sign-in expired; sign in again.');
  }, [remaining, onSignOut]);
  const failed = useCallback(
    (error: unknown) => {
      if (error instanceof ApiError && error.signedOut) onSignOut(`Signed out: ${error.message}`);
    },
    [onSignOut],
  );
  return (
    <div class="console">
      <header class="topbar">
        <h1>broadcastt console</h1>
        <span class="app-id">
          app <b>{session.appId}</b> · key <code>{session.key}</code>
        </span>
        <span class={`status status-${live.connection}`} title={live.reason}>
          {live.connection === 'live' ? 'live' : live.connection === 'connecting' ? 'connecting…' : 'reconnecting…'}
        </span>
        <span class="expiry">signed in for {Math.floor(remaining / 60)}:{String(remaining % 60).padStart(2, '0')}</span>
        <button type="button" class="link" onClick={() => onSignOut()}>
          Sign out
        </button>
      </header>
      <ActivityCards stats={live.stats} rate={live.rate} />
      <main class="grid">
        <Channels session={session} watched={live.watched} onWatch={watch} onError={failed} />
        <LiveLog session={session} watched={live.watched} entries={log} error={error} onWatch={watch} onClear={clearLog} />
        <Actions session={session} watched={live.watched} onError={failed} />
      </main>
      <section class="grid-bottom">
        <Refusals refusals={refusals} />
        <WebhookDeliveries deliveries={webhooks} />
      </section>
    </div>
  );
}

/** Whole seconds until `expiresAt` (Unix seconds), ticking. */
function useSecondsLeft(expiresAt: number): number {
  const left = () => Math.max(0, Math.round(expiresAt - Date.now() / 1000));
  const [seconds, setSeconds] = useState(left);
  useEffect(() => {
    const timer = window.setInterval(() => setSeconds(left()), 1000);
    return () => window.clearInterval(timer);
  }, [expiresAt]);
  return seconds;
}
