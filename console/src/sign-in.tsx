import { useState } from 'preact/hooks';
import { type ConsoleSession, signIn } from './api';

/**
 * The app id and secret, sent once to POST /console/api/session; the page keeps the token it gets back and
 * forgets the secret (the field is cleared whatever the answer).
 */
export function SignIn({ notice, onSignedIn }: { notice: string | undefined; onSignedIn: (session: ConsoleSession) => void }) {
  const [appId, setAppId] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await signIn(appId.trim(), secret));
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setSecret('');
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <form class="card" onSubmit={submit}>
        <h1>broadcastt console</h1>
        <p class="muted">Sign in with an app's id and secret to watch and drive its channels.</p>
        {notice && <p class="notice">{notice}</p>}
        <label>
          App id
          <input name="appId" autoComplete="username" required value={appId} onInput={(e) => setAppId(e.currentTarget.value)} />
        </label>
        <label>
          Secret
          <input name="secret" type="password" autoComplete="current-password" required value={secret} onInput={(e) => setSecret(e.currentTarget.value)} />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="muted small">The secret is sent once and not kept: the page holds a token that expires.</p>
      </form>
    </main>
  );
}
