/** Devices: search and filters, online badges that follow presence live, last seen; new devices for operators. */
import { useState } from 'preact/hooks';
import { api, query } from '../api/http.js';
import type { Device, Page as DevicePage, Profile, Tenant } from '../api/types.js';
import { Link } from '../components/link.js';
import {
  Choice,
  ErrorNote,
  Field,
  Loading,
  OnlineBadge,
  Page,
  Section,
  Submit,
  Table,
  tenantOptions,
  valueOf,
  When,
} from '../components/ui.js';
import { navigate } from '../lib/router.js';
import { can, isPlatformAdmin, useLive, useSession } from '../lib/session.js';
import { useAction } from '../lib/use-action.js';
import { useAsync } from '../lib/use-async.js';
import { useDebounced } from '../lib/use-debounced.js';

type Status = '' | 'online' | 'offline' | 'active' | 'deactivated';

const PAGE_SIZE = 100;

const STATUS_OPTIONS = ['online', 'offline', 'active', 'deactivated'].map((s) => ({ value: s, label: s }));

const profileOptions = (profiles: Profile[] | undefined) =>
  (profiles ?? []).map((p) => ({ value: p.id, label: p.name }));

export function DevicesPage() {
  const { me } = useSession();
  const [search, setSearch] = useState('');
  const [tenantId, setTenantId] = useState('');
  const [profileId, setProfileId] = useState('');
  const [status, setStatus] = useState<Status>('');
  const [limit, setLimit] = useState(PAGE_SIZE);
  const [adding, setAdding] = useState(false);
  const searchTerm = useDebounced(search.trim(), 250);
  const platform = isPlatformAdmin(me);

  const tenants = useAsync(
    () => (platform ? api.get<Tenant[]>('/api/tenants') : Promise.resolve([])),
    [platform],
  );
  const profiles = useAsync(() => api.get<Profile[]>(`/api/profiles${query({ tenantId })}`), [tenantId]);
  const active = status === 'active' ? true : status === 'deactivated' ? false : undefined;
  const devices = useAsync(
    () =>
      api.get<DevicePage<Device>>(
        `/api/devices${query({ search: searchTerm, tenantId, profileId, active, limit })}`,
      ),
    [searchTerm, tenantId, profileId, active, limit],
  );

  useLive('presence', (p) =>
    devices.setData(
      (page) =>
        page && {
          ...page,
          items: page.items.map((d) =>
            d.id === p.deviceId ? { ...d, online: p.online, lastSeen: p.at } : d,
          ),
        },
    ),
  );

  const items = (devices.data?.items ?? []).filter(
    (d) => (status !== 'online' || d.online) && (status !== 'offline' || !d.online),
  );

  return (
    <Page
      title="Devices"
      actions={
        can(me, 'operator') && (
          <button type="button" class="primary" onClick={() => setAdding(!adding)} aria-expanded={adding}>
            Add device
          </button>
        )
      }
    >
      {adding && (
        <NewDevice tenants={tenants.data ?? []} platform={platform} profiles={profiles.data ?? []} />
      )}
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <Field label="Search">
          <input
            type="search"
            value={search}
            placeholder="id, name or serial"
            onInput={(e) => setSearch(valueOf(e))}
          />
        </Field>
        {platform && (
          <Field label="Tenant">
            <Choice
              value={tenantId}
              onValue={setTenantId}
              options={tenantOptions(tenants.data)}
              empty="all tenants"
            />
          </Field>
        )}
        <Field label="Profile">
          <Choice
            value={profileId}
            onValue={setProfileId}
            options={profileOptions(profiles.data)}
            empty="all profiles"
          />
        </Field>
        <Field label="Status">
          <Choice
            value={status}
            onValue={(v) => setStatus(v as Status)}
            options={STATUS_OPTIONS}
            empty="any"
          />
        </Field>
      </form>
      <ErrorNote error={devices.error} />
      {devices.loading && !devices.data ? (
        <Loading />
      ) : (
        <Section title={`${items.length} of ${devices.data?.total ?? 0} devices`}>
          <Table label="Devices" testid="devices-table">
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Status</th>
                {platform && <th scope="col">Tenant</th>}
                <th scope="col">Profile</th>
                <th scope="col">Type</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr key={d.id} data-testid={`device-row-${d.id}`}>
                  <td>
                    <Link href={`/devices/${encodeURIComponent(d.id)}`}>{d.name || d.id}</Link>
                    {d.name && d.name !== d.id && <div class="muted small">{d.id}</div>}
                  </td>
                  <td>
                    <OnlineBadge online={d.online} />
                    {!d.active && <span class="badge off">deactivated</span>}
                  </td>
                  {platform && <td>{d.tenantId}</td>}
                  <td>{d.profileId ?? '—'}</td>
                  <td>{d.type || '—'}</td>
                  <td>
                    <When at={d.lastSeen} now={d.online} />
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
          {devices.data && devices.data.total > devices.data.items.length && (
            <button type="button" onClick={() => setLimit(limit + PAGE_SIZE)}>
              Show more
            </button>
          )}
        </Section>
      )}
    </Page>
  );
}

function NewDevice(props: { tenants: Tenant[]; profiles: Profile[]; platform: boolean }) {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [tenantId, setTenantId] = useState('');
  const [profileId, setProfileId] = useState('');
  const { error, run } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const device = await api.post<Device>('/api/devices', {
        ...(id ? { id } : {}),
        ...(name ? { name } : {}),
        ...(tenantId ? { tenantId } : {}),
        ...(profileId ? { profileId } : {}),
      });
      navigate(`/devices/${encodeURIComponent(device.id)}`);
    });
  };
  return (
    <Section title="New device">
      <form class="form-grid" onSubmit={submit}>
        <Field label="Device id" hint="Leave empty for a generated id.">
          <input value={id} onInput={(e) => setId(valueOf(e))} />
        </Field>
        <Field label="Name">
          <input value={name} onInput={(e) => setName(valueOf(e))} />
        </Field>
        {props.platform && (
          <Field label="Tenant of the new device">
            <Choice
              required
              value={tenantId}
              onValue={setTenantId}
              options={tenantOptions(props.tenants)}
              empty="choose…"
            />
          </Field>
        )}
        <Field label="Profile of the new device">
          <Choice
            value={profileId}
            onValue={setProfileId}
            options={profileOptions(props.profiles)}
            empty="none"
          />
        </Field>
        <ErrorNote error={error} />
        <Submit label="Create device" />
      </form>
    </Section>
  );
}
