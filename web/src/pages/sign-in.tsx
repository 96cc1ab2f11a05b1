/**
 * Sign-in: username and password, then a TOTP code when the API answers
 * TOTP_REQUIRED. The session is the HttpOnly cookie the API sets.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api/http.js';
import type { Me } from '../api/types.js';
import { ErrorNote, Field, valueOf } from '../components/ui.js';

export function SignIn(props: { onSignedIn: (me: Me) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [needsTotp, setNeedsTotp] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const codeInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = 'Sign in · Halyard';
  }, []);
  useEffect(() => {
    if (needsTotp) codeInput.current?.focus();
  }, [needsTotp]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body = needsTotp ? { username, password, totp } : { username, password };
      await api.post('/api/auth/login', body, { expect401: true });
      props.onSignedIn(await api.get<Me>('/api/me'));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'TOTP_REQUIRED') {
        setNeedsTotp(true);
      } else {
        setError(err);
        setTotp('');
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin" id="main">
      <form class="card signin-card" onSubmit={(e) => void submit(e)} aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to Halyard</h1>
        <Field label="Username">
          <input
            name="username"
            autocomplete="username"
            required
            autoFocus
            value={username}
            onInput={(e) => setUsername(valueOf(e))}
            readOnly={needsTotp}
          />
        </Field>
        <Field label="Password">
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(valueOf(e))}
            readOnly={needsTotp}
          />
        </Field>
        {needsTotp && (
          <Field label="Authentication code" hint="The 6-digit code from your authenticator app.">
            <input
              ref={codeInput}
              name="totp"
              inputMode="numeric"
              autocomplete="one-time-code"
              pattern="[0-9]{6}"
              maxLength={6}
              required
              value={totp}
              onInput={(e) => setTotp(valueOf(e))}
            />
          </Field>
        )}
        <ErrorNote error={error} />
        <div class="row">
          <button type="submit" class="primary" disabled={busy}>
            {needsTotp ? 'Verify' : 'Sign in'}
          </button>
          {needsTotp && (
            <button
              type="button"
              onClick={() => {
                setNeedsTotp(false);
                setTotp('');
              }}
            >
              Back
            </button>
          )}
        </div>
      </form>
    </main>
  );
}
