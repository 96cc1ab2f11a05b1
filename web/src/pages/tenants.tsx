/** Tenants (platform admins): list, create, delete an empty one. */
import { useState } from 'preact/hooks';
import { api } from '../api/http.js';
import type { Tenant } from '../api/types.js';
import { ErrorNote, Field, Page, Section, Submit, Table, valueOf } from '../components/ui.js';
import { formatTime } from '../lib/format.js';
import { isPlatformAdmin, useSession } from '../lib/session.js';
import { useAction } from '../lib/use-action.js';
import { useAsync } from '../lib/use-async.js';

export function TenantsPage() {
  const { me } = useSession();
  const tenants = useAsync(() => api.get<Tenant[]>('/api/tenants'), []);
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const { error, run: act } = useAction(tenants.reload);
  const platform = isPlatformAdmin(me);

  const create = (e: Event) => {
    e.preventDefault();
    void act(async () => {
      await api.post('/api/tenants', { ...(id ? { id } : {}), name });
      setId('');
      setName('');
    });
  };
  const remove = (t: Tenant) => {
    if (window.confirm(`Delete tenant ${t.name}? Only a tenant without devices and users can be deleted.`)) {
      void act(() => api.del(`/api/tenants/${encodeURIComponent(t.id)}`));
    }
  };

  return (
    <Page title="Tenants">
      <ErrorNote error={tenants.error ?? error} />
      <Section title="Tenants">
        <Table label="Tenants" testid="tenants-table">
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Name</th>
              <th scope="col">Max connections</th>
              <th scope="col">Retention</th>
              <th scope="col">Created</th>
              {platform && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {(tenants.data ?? []).map((t) => (
              <tr key={t.id}>
                <td>{t.id}</td>
                <td>{t.name}</td>
                <td>{t.maxConnections || 'default'}</td>
                <td>{t.retentionDays ? `${t.retentionDays} d` : 'forever'}</td>
                <td>{formatTime(t.createdAt)}</td>
                {platform && (
                  <td>
                    <button
                      type="button"
                      class="danger"
                      onClick={() => remove(t)}
                      aria-label={`Delete tenant ${t.id}`}
                    >
                      Delete
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </Table>
      </Section>
      {platform && (
        <Section title="New tenant">
          <form class="form-grid" onSubmit={create}>
            <Field label="Tenant id" hint="Leave empty for a generated id.">
              <input value={id} onInput={(e) => setId(valueOf(e))} />
            </Field>
            <Field label="Tenant name">
              <input required value={name} onInput={(e) => setName(valueOf(e))} />
            </Field>
            <Submit label="Create tenant" />
          </form>
        </Section>
      )}
    </Page>
  );
}
