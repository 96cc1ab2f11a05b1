/**
 * One device: its record, live latest values, a chart of any key, credentials,
 * activation, and its recent audit entries.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api/http.js';
import type { AuditEntry, Device, Latest } from '../api/types.js';
import { ErrorNote, Loading, OnlineBadge, Page, Section, Table, When } from '../components/ui.js';
import { formatTime, formatValue } from '../lib/format.js';
import { can, useLive, useSession } from '../lib/session.js';
import { useAsync } from '../lib/use-async.js';
import { AuditRows } from './audit.js';
import { DeviceChart } from './device-chart.js';
import { DeviceCredentials } from './device-credentials.js';

const AUDIT_SHOWN = 20;

export function DevicePage(props: { id: string }) {
  const { me, live } = useSession();
  const path = `/api/devices/${encodeURIComponent(props.id)}`;
  const device = useAsync(() => api.get<Device>(path), [path]);
  const latest = useAsync(() => api.get<Latest>(`${path}/telemetry/latest`), [path]);
  const target = `device:${props.id}`;
  const audit = useAsync(
    () => api.get<AuditEntry[]>(`/api/audit${query({ target, limit: AUDIT_SHOWN })}`),
    [target],
  );
  const [actionError, setActionError] = useState<unknown>();

  useEffect(() => live.watch([props.id]), [live, props.id]);
  useLive('telemetry', (t) => {
    if (t.deviceId !== props.id) return;
    latest.setData((old) => {
      const next = { ...old };
      for (const [key, value] of Object.entries(t.values)) {
        if ((next[key]?.ts ?? -Infinity) <= t.ts) next[key] = { ts: t.ts, value };
      }
      return next;
    });
  });
  useLive('presence', (p) => {
    if (p.deviceId === props.id) device.setData((d) => d && { ...d, online: p.online, lastSeen: p.at });
  });
  useLive('audit', ({ entry }) => {
    if (entry.target === target) audit.setData((old) => [entry, ...(old ?? [])].slice(0, AUDIT_SHOWN));
  });

  const setActive = async (activate: boolean) => {
    setActionError(undefined);
    try {
      const updated = await api.post<Device>(`${path}/${activate ? 'activate' : 'deactivate'}`);
      device.setData(() => updated);
    } catch (err) {
      setActionError(err);
      device.reload();
    }
  };

  if (device.error) {
    return (
      <Page title={props.id}>
        <ErrorNote error={device.error} />
      </Page>
    );
  }
  const d = device.data;
  const keys = Object.keys(latest.data ?? {}).sort();
  return (
    <Page
      title={d?.name || props.id}
      actions={
        d &&
        can(me, 'operator') && (
          <button type="button" onClick={() => void setActive(!d.active)} data-testid="toggle-active">
            {d.active ? 'Deactivate' : 'Activate'}
          </button>
        )
      }
    >
      <ErrorNote error={actionError} />
      {!d ? (
        <Loading />
      ) : (
        <Section title="Device">
          <dl class="facts">
            <dt>Id</dt>
            <dd>{d.id}</dd>
            <dt>Status</dt>
            <dd>
              <OnlineBadge online={d.online} />{' '}
              <span class={d.active ? 'badge on' : 'badge off'} data-testid="active-badge">
                {d.active ? 'active' : 'deactivated'}
              </span>
            </dd>
            <dt>Last seen</dt>
            <dd>
              <When at={d.lastSeen} now={d.online} />
            </dd>
            <dt>Tenant</dt>
            <dd>{d.tenantId}</dd>
            <dt>Profile</dt>
            <dd>{d.profileId ?? '—'}</dd>
            <dt>Type</dt>
            <dd>{d.type || '—'}</dd>
            <dt>Serial</dt>
            <dd>{d.serial ?? '—'}</dd>
            <dt>Tags</dt>
            <dd>{d.tags.length ? d.tags.join(', ') : '—'}</dd>
            <dt>Created</dt>
            <dd>{formatTime(d.createdAt)}</dd>
          </dl>
        </Section>
      )}
      <Section title="Latest values">
        <ErrorNote error={latest.error} />
        {keys.length === 0 ? (
          <p class="muted">No telemetry yet.</p>
        ) : (
          <div class="values" data-testid="latest-values">
            {keys.map((key) => (
              <div class="value" key={key}>
                <span class="value-key">{key}</span>
                <span class="value-now" data-testid={`latest-${key}`}>
                  {formatValue(latest.data![key].value)}
                </span>
                <span class="muted small">
                  <When at={latest.data![key].ts} />
                </span>
              </div>
            ))}
          </div>
        )}
      </Section>
      <DeviceChart deviceId={props.id} liveKeys={keys} />
      <DeviceCredentials deviceId={props.id} canWrite={can(me, 'operator')} />
      <Section title="Recent audit entries">
        <ErrorNote error={audit.error} />
        <Table label="Recent audit entries of this device" testid="device-audit">
          <AuditRows entries={audit.data ?? []} />
        </Table>
      </Section>
    </Page>
  );
}
