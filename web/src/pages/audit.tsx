/** The audit log: who did what, when, from where, with filters and paging backwards. */
import { useState } from 'preact/hooks';
import { api, query } from '../api/http.js';
import type { AuditEntry } from '../api/types.js';
import { ErrorNote, Field, Page, Section, Table, valueOf, type InputEvent } from '../components/ui.js';
import { formatTime } from '../lib/format.js';
import { isPlatformAdmin, useSession } from '../lib/session.js';
import { useAsync } from '../lib/use-async.js';
import { useDebounced } from '../lib/use-debounced.js';

const PAGE_SIZE = 100;

export function AuditRows(props: { entries: AuditEntry[] }) {
  return (
    <>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Actor</th>
          <th scope="col">Action</th>
          <th scope="col">Target</th>
          <th scope="col">Outcome</th>
          <th scope="col">From</th>
        </tr>
      </thead>
      <tbody>
        {props.entries.map((e) => (
          <tr key={e.id} class={e.outcome === 'failure' ? 'bad' : undefined}>
            <td>{formatTime(e.at)}</td>
            <td>
              {e.actor} <span class="muted small">{e.actorType}</span>
            </td>
            <td>
              <code>{e.action}</code>
            </td>
            <td>{e.target ?? '—'}</td>
            <td>{e.outcome}</td>
            <td>{e.address ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </>
  );
}

/** A datetime-local input's value as ms, undefined when empty. */
const instant = (local: string): number | undefined => (local === '' ? undefined : new Date(local).getTime());

export function AuditPage() {
  const { me } = useSession();
  const [filters, setFilters] = useState({
    actor: '',
    action: '',
    target: '',
    outcome: '',
    tenantId: '',
    since: '',
    until: '',
  });
  const settled = useDebounced(filters, 300);
  const [older, setOlder] = useState<AuditEntry[]>([]);
  const [olderError, setOlderError] = useState<unknown>();
  const params = {
    actor: settled.actor.trim(),
    action: settled.action.trim(),
    target: settled.target.trim(),
    outcome: settled.outcome,
    tenantId: settled.tenantId.trim(),
    since: instant(settled.since),
    until: instant(settled.until),
    limit: PAGE_SIZE,
  };
  const key = JSON.stringify(params);
  const entries = useAsync(() => {
    setOlder([]);
    return api.get<AuditEntry[]>(`/api/audit${query(params)}`);
  }, [key]);
  const all = [...(entries.data ?? []), ...older];
  const set = (name: keyof typeof filters) => (e: InputEvent) =>
    setFilters({ ...filters, [name]: valueOf(e) });

  const loadOlder = async () => {
    setOlderError(undefined);
    try {
      const beforeId = Math.min(...all.map((e) => e.id));
      const page = await api.get<AuditEntry[]>(`/api/audit${query({ ...params, beforeId })}`);
      setOlder([...older, ...page]);
    } catch (err) {
      setOlderError(err);
    }
  };

  return (
    <Page title="Audit log">
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <Field label="Actor">
          <input value={filters.actor} onInput={set('actor')} />
        </Field>
        <Field label="Action" hint="exact, or a prefix ending in “.”">
          <input value={filters.action} onInput={set('action')} placeholder="credential." />
        </Field>
        <Field label="Target">
          <input value={filters.target} onInput={set('target')} placeholder="device:therm-1" />
        </Field>
        <Field label="Outcome">
          <select value={filters.outcome} onChange={set('outcome')}>
            <option value="">any</option>
            <option value="success">success</option>
            <option value="failure">failure</option>
          </select>
        </Field>
        {isPlatformAdmin(me) && (
          <Field label="Tenant id">
            <input value={filters.tenantId} onInput={set('tenantId')} />
          </Field>
        )}
        <Field label="Since">
          <input type="datetime-local" value={filters.since} onInput={set('since')} />
        </Field>
        <Field label="Until">
          <input type="datetime-local" value={filters.until} onInput={set('until')} />
        </Field>
      </form>
      <ErrorNote error={entries.error ?? olderError} />
      <Section title={`${all.length} entries`}>
        <Table label="Audit entries" testid="audit-table">
          <AuditRows entries={all} />
        </Table>
        {all.length > 0 && all.length % PAGE_SIZE === 0 && (
          <button type="button" onClick={() => void loadOlder()}>
            Older entries
          </button>
        )}
      </Section>
    </Page>
  );
}
