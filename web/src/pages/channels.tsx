/** ThingSpeak-style channels: the list with API keys, a new channel, and a chart per field. */
import { useState } from 'preact/hooks';
import { channels, FIELD_NUMBERS, fieldsOf, type Channel } from '../api/thingspeak.js';
import { TimeChart, type ChartSeries } from '../components/chart.js';
import { Link } from '../components/link.js';
import { ErrorNote, Field, Loading, Page, Section, Submit, Table, valueOf } from '../components/ui.js';
import type { Window } from '../lib/ranges.js';
import { navigate } from '../lib/router.js';
import { can, useSession } from '../lib/session.js';
import { useAction } from '../lib/use-action.js';
import { useAsync } from '../lib/use-async.js';

const FEED_RESULTS = 2000;

function ApiKeys(props: { channel: Channel }) {
  return (
    <ul class="keys">
      {props.channel.api_keys.map((k) => (
        <li key={k.api_key}>
          <span class="muted small">{k.write_flag ? 'write' : 'read'}</span>{' '}
          <code data-testid={k.write_flag ? 'write-key' : 'read-key'}>{k.api_key}</code>
        </li>
      ))}
    </ul>
  );
}

export function ChannelsPage() {
  const { me } = useSession();
  const list = useAsync(() => channels.list(), []);
  const [adding, setAdding] = useState(false);
  return (
    <Page
      title="Channels"
      actions={
        can(me, 'operator') && (
          <button type="button" class="primary" aria-expanded={adding} onClick={() => setAdding(!adding)}>
            New channel
          </button>
        )
      }
    >
      <p class="muted">
        ThingSpeak-compatible channels: devices write with the write key (<code>/update</code> or MQTT{' '}
        <code>channels/&lt;id&gt;/publish</code>); read keys read.
      </p>
      {adding && <NewChannel />}
      <ErrorNote error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : (
        <Table label="Channels" testid="channels-table">
          <thead>
            <tr>
              <th scope="col">Channel</th>
              <th scope="col">Fields</th>
              <th scope="col">Entries</th>
              <th scope="col">API keys</th>
            </tr>
          </thead>
          <tbody>
            {(list.data ?? []).map((c) => (
              <tr key={c.id}>
                <td>
                  <Link href={`/thingspeak/${c.id}`}>{c.name || `Channel ${c.id}`}</Link>
                  <div class="muted small">id {c.id}</div>
                </td>
                <td>
                  {fieldsOf(c)
                    .map((f) => f.name)
                    .join(', ') || '—'}
                </td>
                <td>{c.last_entry_id ?? 0}</td>
                <td>
                  <ApiKeys channel={c} />
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </Page>
  );
}

function NewChannel() {
  const [name, setName] = useState('');
  const [fields, setFields] = useState<string[]>(['', '', '']);
  const { error, run } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    const settings: Record<string, string> = { name };
    fields.forEach((f, i) => {
      if (f.trim() !== '') settings[`field${i + 1}`] = f.trim();
    });
    void run(async () => navigate(`/thingspeak/${(await channels.create(settings)).id}`));
  };
  return (
    <Section title="New channel">
      <form class="form-grid" onSubmit={submit}>
        <Field label="Channel name">
          <input required value={name} onInput={(e) => setName(valueOf(e))} />
        </Field>
        {fields.map((f, i) => (
          <Field key={i} label={`Field ${i + 1} name`}>
            <input
              value={f}
              onInput={(e) => setFields(fields.map((old, j) => (j === i ? valueOf(e) : old)))}
            />
          </Field>
        ))}
        {fields.length < FIELD_NUMBERS.length && (
          <div class="row">
            <button type="button" onClick={() => setFields([...fields, ''])}>
              Add a field
            </button>
          </div>
        )}
        <ErrorNote error={error} />
        <Submit label="Create channel" />
      </form>
    </Section>
  );
}

export function ChannelPage(props: { id: number }) {
  const { me } = useSession();
  const channel = useAsync(() => channels.get(props.id), [props.id]);
  const feed = useAsync(
    () => (channel.data ? channels.feeds(channel.data, FEED_RESULTS) : Promise.resolve(undefined)),
    [channel.data],
  );
  const [zoom, setZoom] = useState<Window>();
  const [error, setError] = useState<unknown>();
  const c = channel.data;
  const entries = feed.data?.feeds ?? [];
  const times = entries.map((e) => Date.parse(e.created_at));
  const extent: Window = times.length
    ? { from: times[0], to: Math.max(times[times.length - 1], times[0] + 1000) }
    : { from: Date.now() - 3_600_000, to: Date.now() };

  const remove = async () => {
    if (!c || !window.confirm(`Delete channel ${c.name}? Its entries are deleted too.`)) return;
    try {
      await channels.remove(c.id);
      navigate('/thingspeak');
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Page
      title={c?.name || `Channel ${props.id}`}
      actions={
        c &&
        can(me, 'operator') && (
          <button type="button" class="danger" onClick={() => void remove()}>
            Delete channel
          </button>
        )
      }
    >
      <ErrorNote error={channel.error ?? feed.error ?? error} />
      {c && (
        <Section title="API keys">
          <ApiKeys channel={c} />
          <p class="muted small">
            Last entry {c.last_entry_id ?? 0}; showing up to {FEED_RESULTS} entries.
          </p>
        </Section>
      )}
      {c &&
        fieldsOf(c).map((f) => {
          const series: ChartSeries[] = [
            {
              label: f.name,
              points: entries.map((e, i) => {
                const raw = e[f.key];
                const n = raw === null || raw === undefined || raw === '' ? NaN : Number(raw);
                return [times[i], Number.isFinite(n) ? n : null];
              }),
            },
          ];
          return (
            <Section key={f.key} title={`${f.key}: ${f.name}`}>
              <TimeChart
                series={series}
                window={zoom ?? extent}
                onWindow={setZoom}
                label={f.name}
                height={200}
              />
            </Section>
          );
        })}
      {zoom && (
        <button type="button" onClick={() => setZoom(undefined)}>
          Reset zoom
        </button>
      )}
    </Page>
  );
}
