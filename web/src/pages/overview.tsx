/** Overview: devices online and offline, message and point rates, and what just happened. */
import { useState } from 'preact/hooks';
import { api } from '../api/http.js';
import type { LiveOf } from '../api/live.js';
import type { AuditEntry, Device, Page as DevicePage } from '../api/types.js';
import { Link } from '../components/link.js';
import { ErrorNote, Page, Section, When } from '../components/ui.js';
import { formatRate } from '../lib/format.js';
import { useLive } from '../lib/session.js';
import { useAsync } from '../lib/use-async.js';

interface Event {
  key: string;
  at: number;
  text: string;
  deviceId?: string;
  tone: 'good' | 'bad' | 'plain';
}

const MAX_EVENTS = 30;

export function auditEvent(e: AuditEntry): Event {
  return {
    key: `a${e.id}`,
    at: e.at,
    text: `${e.action} by ${e.actor}${e.target ? ` on ${e.target}` : ''}`,
    tone: e.outcome === 'failure' ? 'bad' : 'plain',
  };
}

function presenceEvent(p: LiveOf<'presence'>): Event {
  return {
    key: `p${p.deviceId}${p.at}${p.online}`,
    at: p.at,
    text: `${p.deviceId} went ${p.online ? 'online' : 'offline'}${p.cause ? ` (${p.cause})` : ''}`,
    deviceId: p.deviceId,
    tone: p.online ? 'good' : 'bad',
  };
}

export function OverviewPage() {
  const [stats, setStats] = useState<LiveOf<'stats'>>();
  const [events, setEvents] = useState<Event[]>([]);
  const devices = useAsync(() => api.get<DevicePage<Device>>('/api/devices?limit=1000'), []);
  const audit = useAsync(() => api.get<AuditEntry[]>('/api/audit?limit=15'), []);

  const push = (e: Event) => setEvents((old) => [e, ...old].slice(0, MAX_EVENTS));
  useLive('stats', setStats);
  useLive('presence', (p) => {
    push(presenceEvent(p));
    devices.setData(
      (page) =>
        page && {
          ...page,
          items: page.items.map((d) => (d.id === p.deviceId ? { ...d, online: p.online } : d)),
        },
    );
  });
  useLive('audit', (m) => push(auditEvent(m.entry)));

  const total = devices.data?.total;
  const online = stats?.devicesOnline ?? devices.data?.items.filter((d) => d.online).length;
  const all = [...events, ...(audit.data ?? []).map(auditEvent)];
  const shown = all.filter((e, i) => all.findIndex((o) => o.key === e.key) === i).slice(0, MAX_EVENTS);

  return (
    <Page title="Overview">
      <ErrorNote error={devices.error} />
      <div class="tiles">
        <Tile label="Devices online" value={online} testid="tile-online" tone="good" />
        <Tile
          label="Devices offline"
          value={total !== undefined && online !== undefined ? Math.max(total - online, 0) : undefined}
          testid="tile-offline"
        />
        <Tile label="Messages / s" value={stats && formatRate(stats.messagesPerSecond)} testid="tile-mps" />
        <Tile label="Points / s" value={stats && formatRate(stats.pointsPerSecond)} testid="tile-pps" />
        <Tile label="Connections" value={stats?.connections} testid="tile-connections" />
      </div>
      <Section title="Recent events">
        <ErrorNote error={audit.error} />
        {shown.length === 0 ? (
          <p class="muted">Nothing yet.</p>
        ) : (
          <ol class="events" data-testid="events" aria-live="polite">
            {shown.map((e) => (
              <li key={e.key} class={e.tone}>
                <When at={e.at} />{' '}
                {e.deviceId ? (
                  <Link href={`/devices/${encodeURIComponent(e.deviceId)}`}>{e.text}</Link>
                ) : (
                  e.text
                )}
              </li>
            ))}
          </ol>
        )}
      </Section>
    </Page>
  );
}

function Tile(props: { label: string; value: string | number | undefined; testid: string; tone?: 'good' }) {
  return (
    <div class={`tile ${props.tone ?? ''}`}>
      <span class="tile-label">{props.label}</span>
      <span class="tile-value" data-testid={props.testid}>
        {props.value ?? '…'}
      </span>
    </div>
  );
}
