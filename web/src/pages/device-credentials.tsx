/**
 * A device's credentials: list, issue (token, password, certificate, HMAC
 * secret), rotate, revoke. A secret is in the one answer that issues it, so it
 * is shown here once, with downloads for a certificate's files.
 */
import { useState } from 'preact/hooks';
import { api } from '../api/http.js';
import type { Credential, CredentialKind, IssuedCredential } from '../api/types.js';
import { ErrorNote, Field, Section, Submit, Table, valueOf } from '../components/ui.js';
import { downloadText } from '../lib/download.js';
import { formatTime } from '../lib/format.js';
import { useAction } from '../lib/use-action.js';
import { useAsync } from '../lib/use-async.js';

const KINDS: Array<{ kind: CredentialKind; label: string }> = [
  { kind: 'token', label: 'Access token' },
  { kind: 'password', label: 'Username and password' },
  { kind: 'certificate', label: 'Client certificate' },
  { kind: 'hmac', label: 'HMAC secret (line protocol)' },
];

export function DeviceCredentials(props: { deviceId: string; canWrite: boolean }) {
  const path = `/api/devices/${encodeURIComponent(props.deviceId)}/credentials`;
  const list = useAsync(() => api.get<Credential[]>(path), [path]);
  const [kind, setKind] = useState<CredentialKind>('token');
  const [username, setUsername] = useState('');
  const [issued, setIssued] = useState<IssuedCredential>();
  const { error, run } = useAction(list.reload);

  const issue = (e: Event) => {
    e.preventDefault();
    const body = kind === 'password' ? { kind, username } : { kind };
    void run(async () => setIssued(await api.post<IssuedCredential>(path, body)));
  };
  const rotate = (c: Credential) =>
    void run(async () => setIssued(await api.post<IssuedCredential>(`${path}/${c.id}/rotate`)));
  const revoke = (c: Credential) => {
    if (!window.confirm(`Revoke ${c.kind} ${c.label}? Connections using it are closed at once.`)) return;
    void run(() => api.del(`${path}/${c.id}`));
  };

  return (
    <Section title="Credentials">
      <ErrorNote error={list.error ?? error} />
      {issued && (
        <IssuedSecret deviceId={props.deviceId} issued={issued} onDone={() => setIssued(undefined)} />
      )}
      <Table label="Credentials" testid="credentials">
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">Label</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">State</th>
            {props.canWrite && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((c) => (
            <tr key={c.id} data-testid={`credential-${c.id}`}>
              <td>{c.kind}</td>
              <td>
                <code>{c.lookup ?? c.label}</code>
              </td>
              <td>{formatTime(c.createdAt)}</td>
              <td>{c.expiresAt ? formatTime(c.expiresAt) : '—'}</td>
              <td data-testid="credential-state">
                {c.revokedAt ? `revoked ${formatTime(c.revokedAt)}` : 'valid'}
              </td>
              {props.canWrite && (
                <td class="row">
                  {!c.revokedAt && (
                    <>
                      <button
                        type="button"
                        onClick={() => rotate(c)}
                        aria-label={`Rotate ${c.kind} ${c.label}`}
                      >
                        Rotate
                      </button>
                      <button
                        type="button"
                        class="danger"
                        onClick={() => revoke(c)}
                        aria-label={`Revoke ${c.kind} ${c.label}`}
                      >
                        Revoke
                      </button>
                    </>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </Table>
      {props.canWrite && (
        <form class="form-grid" onSubmit={issue} aria-label="Issue a credential">
          <Field label="Kind of credential">
            <select value={kind} onChange={(e) => setKind(valueOf(e) as CredentialKind)}>
              {KINDS.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.label}
                </option>
              ))}
            </select>
          </Field>
          {kind === 'password' && (
            <Field label="MQTT username" hint="Unique across the platform; the password is generated.">
              <input required value={username} onInput={(e) => setUsername(valueOf(e))} />
            </Field>
          )}
          <Submit label="Issue credential" />
        </form>
      )}
    </Section>
  );
}

function IssuedSecret(props: { deviceId: string; issued: IssuedCredential; onDone: () => void }) {
  const { credential, secret, certificate } = props.issued;
  const base = props.deviceId;
  return (
    <div class="note secret" role="status" data-testid="issued-credential">
      <p>
        <strong>New {credential.kind}</strong> — copy it now: it is shown only this once.
      </p>
      {credential.lookup && credential.kind === 'password' && (
        <p>
          Username: <code>{credential.lookup}</code>
        </p>
      )}
      {secret && (
        <p class="secret-line">
          <code data-testid="credential-secret">{secret}</code>
          <button type="button" onClick={() => void navigator.clipboard?.writeText(secret)}>
            Copy
          </button>
        </p>
      )}
      {certificate && (
        <div class="row">
          <button
            type="button"
            class="primary"
            onClick={() =>
              downloadText(
                `${base}-bundle.pem`,
                [certificate.keyPem ?? '', certificate.certPem, certificate.caPem].filter(Boolean).join('\n'),
              )
            }
          >
            Download bundle
          </button>
          <button type="button" onClick={() => downloadText(`${base}.cert.pem`, certificate.certPem)}>
            Certificate
          </button>
          {certificate.keyPem && (
            <button type="button" onClick={() => downloadText(`${base}.key.pem`, certificate.keyPem!)}>
              Private key
            </button>
          )}
          <button type="button" onClick={() => downloadText('ca.pem', certificate.caPem)}>
            CA
          </button>
        </div>
      )}
      <button type="button" onClick={props.onDone}>
        Done
      </button>
    </div>
  );
}
