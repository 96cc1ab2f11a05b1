/** Users (admins): people of the tenant (or every tenant), their roles, activation, TOTP reset. */
import { useState } from 'preact/hooks';
import { api, query } from '../api/http.js';
import type { Role, Tenant, User } from '../api/types.js';
import {
  Choice,
  ErrorNote,
  Field,
  Page,
  Section,
  Submit,
  Table,
  tenantOptions,
  valueOf,
} from '../components/ui.js';
import { formatTime } from '../lib/format.js';
import { can, isPlatformAdmin, useSession } from '../lib/session.js';
import { useAction } from '../lib/use-action.js';
import { useAsync } from '../lib/use-async.js';

const ROLES: Role[] = ['viewer', 'operator', 'admin'];

export function UsersPage() {
  const { me } = useSession();
  const platform = isPlatformAdmin(me);
  const [tenantFilter, setTenantFilter] = useState('');
  const users = useAsync(
    () => api.get<User[]>(`/api/users${query({ tenantId: tenantFilter })}`),
    [tenantFilter],
  );
  const tenants = useAsync(
    () => (platform ? api.get<Tenant[]>('/api/tenants') : Promise.resolve([])),
    [platform],
  );
  const { error, run: act } = useAction(users.reload);
  const admin = can(me, 'admin');
  const path = (u: User) => `/api/users/${encodeURIComponent(u.id)}`;

  return (
    <Page title="Users">
      {platform && (
        <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
          <Field label="Tenant">
            <Choice
              value={tenantFilter}
              onValue={setTenantFilter}
              options={tenantOptions(tenants.data)}
              empty="all"
            />
          </Field>
        </form>
      )}
      <ErrorNote error={users.error ?? error} />
      <Section title="Users">
        <Table label="Users" testid="users-table">
          <thead>
            <tr>
              <th scope="col">Username</th>
              <th scope="col">Tenant</th>
              <th scope="col">Role</th>
              <th scope="col">State</th>
              <th scope="col">Created</th>
              {admin && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {(users.data ?? []).map((u) => (
              <tr key={u.id} data-testid={`user-row-${u.username}`}>
                <td>
                  {u.username}
                  {u.totpEnabled && <span class="badge on">TOTP</span>}
                </td>
                <td>{u.tenantId ?? 'platform'}</td>
                <td>
                  {admin && u.id !== me.user.id ? (
                    <select
                      aria-label={`Role of ${u.username}`}
                      value={u.role}
                      onChange={(e) => void act(() => api.patch(path(u), { role: valueOf(e) }))}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  ) : (
                    u.role
                  )}
                </td>
                <td>{u.active ? 'active' : 'deactivated'}</td>
                <td>{formatTime(u.createdAt)}</td>
                {admin && (
                  <td class="row">
                    {u.id !== me.user.id && (
                      <button
                        type="button"
                        onClick={() => void act(() => api.patch(path(u), { active: !u.active }))}
                      >
                        {u.active ? 'Deactivate' : 'Activate'}
                      </button>
                    )}
                    {u.totpEnabled && (
                      <button type="button" onClick={() => void act(() => api.del(`${path(u)}/totp`))}>
                        Reset TOTP
                      </button>
                    )}
                    {u.id !== me.user.id && (
                      <button
                        type="button"
                        class="danger"
                        aria-label={`Delete user ${u.username}`}
                        onClick={() => {
                          if (window.confirm(`Delete ${u.username}? Their sessions and API tokens end.`)) {
                            void act(() => api.del(path(u)));
                          }
                        }}
                      >
                        Delete
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </Table>
      </Section>
      {admin && <NewUser tenants={tenants.data ?? []} platform={platform} onCreated={users.reload} />}
    </Page>
  );
}

function NewUser(props: { tenants: Tenant[]; platform: boolean; onCreated: () => void }) {
  const [form, setForm] = useState({ username: '', password: '', role: 'viewer' as Role, tenantId: '' });
  const { error, run } = useAction(props.onCreated);
  const submit = (e: Event) => {
    e.preventDefault();
    const tenantId = props.platform ? form.tenantId || null : undefined;
    void run(async () => {
      await api.post('/api/users', {
        username: form.username,
        password: form.password,
        role: form.role,
        tenantId,
      });
      setForm({ ...form, username: '', password: '' });
    });
  };
  return (
    <Section title="New user">
      <form class="form-grid" onSubmit={submit}>
        <Field label="New username">
          <input
            required
            autocomplete="off"
            value={form.username}
            onInput={(e) => setForm({ ...form, username: valueOf(e) })}
          />
        </Field>
        <Field label="Initial password" hint="At least 8 characters.">
          <input
            required
            type="password"
            autocomplete="new-password"
            value={form.password}
            onInput={(e) => setForm({ ...form, password: valueOf(e) })}
          />
        </Field>
        <Field label="Role">
          <select value={form.role} onChange={(e) => setForm({ ...form, role: valueOf(e) as Role })}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </Field>
        {props.platform && (
          <Field label="Tenant of the new user">
            <Choice
              value={form.tenantId}
              onValue={(tenantId) => setForm({ ...form, tenantId })}
              options={tenantOptions(props.tenants)}
              empty="platform (no tenant)"
            />
          </Field>
        )}
        <ErrorNote error={error} />
        <Submit label="Create user" />
      </form>
    </Section>
  );
}
