/**
 * The signed-in user's security: TOTP second factor (enrol with a QR code and a
 * confirming code, or turn off with a current code) and their password.
 */
import { useState } from 'preact/hooks';
import { api } from '../api/http.js';
import type { TotpEnrolment } from '../api/types.js';
import { ErrorNote, Field, Page, Section, Submit, valueOf } from '../components/ui.js';
import { useSession } from '../lib/session.js';
import { useAction } from '../lib/use-action.js';

export function SecurityPage() {
  const { me } = useSession();
  return (
    <Page title="Security">
      <Section title="Account">
        <dl class="facts">
          <dt>Username</dt>
          <dd>{me.user.username}</dd>
          <dt>Role</dt>
          <dd>{me.role}</dd>
          <dt>Tenant</dt>
          <dd>{me.tenantId ?? 'platform'}</dd>
        </dl>
      </Section>
      <TotpSection />
      <PasswordSection />
    </Page>
  );
}

function CodeInput(props: { label: string; value: string; onValue: (v: string) => void }) {
  return (
    <Field label={props.label}>
      <input
        inputMode="numeric"
        autocomplete="one-time-code"
        pattern="[0-9]{6}"
        maxLength={6}
        required
        value={props.value}
        onInput={(e) => props.onValue(valueOf(e))}
      />
    </Field>
  );
}

function TotpSection() {
  const { me, refresh } = useSession();
  const [enrolment, setEnrolment] = useState<TotpEnrolment>();
  const [code, setCode] = useState('');
  const { error, run } = useAction();
  const [done, setDone] = useState('');
  const enabled = me.user.totpEnabled === true;

  const act = async (action: () => Promise<unknown>, message: string) => {
    setDone('');
    if (await run(action)) {
      setCode('');
      setDone(message);
    }
  };
  const start = () => act(async () => setEnrolment(await api.post<TotpEnrolment>('/api/me/totp')), '');
  const confirm = (e: Event) => {
    e.preventDefault();
    void act(async () => {
      await api.post('/api/me/totp/confirm', { code });
      setEnrolment(undefined);
      await refresh();
    }, 'Two-factor sign-in is on. You will be asked for a code at every sign-in.');
  };
  const disable = (e: Event) => {
    e.preventDefault();
    void act(async () => {
      await api.del('/api/me/totp', { code });
      await refresh();
    }, 'Two-factor sign-in is off.');
  };

  return (
    <Section title="Two-factor sign-in (TOTP)">
      <p data-testid="totp-state">
        {enabled
          ? 'On: sign-in asks for a code from your authenticator app.'
          : 'Off: sign-in asks for your password only.'}
      </p>
      {done && (
        <p class="note ok" role="status">
          {done}
        </p>
      )}
      <ErrorNote error={error} />
      {!enabled && !enrolment && (
        <button type="button" class="primary" onClick={() => void start()}>
          Set up two-factor sign-in
        </button>
      )}
      {enrolment && (
        <form class="totp-enrol" onSubmit={confirm}>
          <p>Scan this code with an authenticator app, then enter the 6-digit code it shows.</p>
          <img
            class="qr"
            data-testid="totp-qr"
            alt="QR code of the TOTP secret"
            src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrolment.qrSvg)}`}
          />
          <p class="small">
            Or enter the secret by hand: <code data-testid="totp-secret">{enrolment.secret}</code>
          </p>
          <CodeInput label="Code from the app" value={code} onValue={setCode} />
          <Submit label="Turn on">
            <button type="button" onClick={() => setEnrolment(undefined)}>
              Cancel
            </button>
          </Submit>
        </form>
      )}
      {enabled && (
        <form class="form-grid" onSubmit={disable}>
          <CodeInput label="Current code to turn it off" value={code} onValue={setCode} />
          <Submit label="Turn off" danger />
        </form>
      )}
    </Section>
  );
}

function PasswordSection() {
  const { me } = useSession();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const { error, run } = useAction();
  const [done, setDone] = useState(false);
  const submit = (e: Event) => {
    e.preventDefault();
    setDone(false);
    void run(async () => {
      await api.put(`/api/users/${encodeURIComponent(me.user.id)}/password`, {
        currentPassword: current,
        password: next,
      });
      setCurrent('');
      setNext('');
      setDone(true);
    });
  };
  return (
    <Section title="Password">
      <form class="form-grid" onSubmit={submit}>
        <Field label="Current password">
          <input
            type="password"
            autocomplete="current-password"
            required
            value={current}
            onInput={(e) => setCurrent(valueOf(e))}
          />
        </Field>
        <Field label="New password" hint="At least 8 characters.">
          <input
            type="password"
            autocomplete="new-password"
            required
            value={next}
            onInput={(e) => setNext(valueOf(e))}
          />
        </Field>
        {done && (
          <p class="note ok" role="status">
            Password changed.
          </p>
        )}
        <ErrorNote error={error} />
        <Submit label="Change password" />
      </form>
    </Section>
  );
}
