/**
 * A device's chart: any key over a chosen range (15 min … 1 year), drawn from
 * GET /api/devices/:id/telemetry/aggregate with a bucket chosen from the window,
 * so zooming in refetches finer buckets and a year stays a few hundred points.
 */
import { useState } from 'preact/hooks';
import { api, query } from '../api/http.js';
import type { Buckets } from '../api/types.js';
import { TimeChart, type ChartSeries } from '../components/chart.js';
import { ErrorNote, Field, Section, valueOf } from '../components/ui.js';
import { bucketFor, RANGES, type RangeId, type Window } from '../lib/ranges.js';
import { useAsync } from '../lib/use-async.js';

const FNS = ['avg', 'min', 'max', 'last'] as const;

function rangeWindow(id: RangeId): Window {
  const to = Date.now();
  return { from: to - RANGES.find((r) => r.id === id)!.ms, to };
}

export function DeviceChart(props: { deviceId: string; liveKeys: string[] }) {
  const path = `/api/devices/${encodeURIComponent(props.deviceId)}/telemetry`;
  const stored = useAsync(() => api.get<{ keys: string[] }>(`${path}/keys`), [path]);
  const keys = [...new Set([...(stored.data?.keys ?? []), ...props.liveKeys])].sort();
  const [chosenKey, setKey] = useState('');
  const key = chosenKey || keys[0] || '';
  const [fn, setFn] = useState<(typeof FNS)[number]>('avg');
  const [range, setRange] = useState<RangeId>('1h');
  const [zoomed, setZoomed] = useState(false);
  const [window, setWindow] = useState<Window>(() => rangeWindow('1h'));
  const bucket = bucketFor(window.to - window.from);

  const data = useAsync(
    () =>
      key === ''
        ? Promise.resolve(undefined)
        : api.get<Buckets>(
            `${path}/aggregate${query({ keys: key, from: window.from, to: window.to, bucket, fn })}`,
          ),
    [path, key, window.from, window.to, bucket, fn],
  );
  const series: ChartSeries[] = [
    {
      label: key,
      points: (data.data?.buckets ?? []).map((b) => [b.ts, typeof b.value === 'number' ? b.value : null]),
    },
  ];
  const choose = (id: RangeId) => {
    setRange(id);
    setZoomed(false);
    setWindow(rangeWindow(id));
  };
  const zoom = (w: Window) => {
    setZoomed(true);
    setWindow(w);
  };

  return (
    <Section title="Chart">
      <div
        class="chart-controls"
        data-testid="device-chart"
        data-key={key}
        data-fn={fn}
        data-bucket={bucket}
        data-from={window.from}
        data-to={window.to}
      >
        <Field label="Key">
          <select value={key} onChange={(e) => setKey(valueOf(e))} disabled={keys.length === 0}>
            {keys.length === 0 && <option value="">no keys yet</option>}
            {keys.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Aggregate">
          <select value={fn} onChange={(e) => setFn(valueOf(e) as (typeof FNS)[number])}>
            {FNS.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </Field>
        <div class="range-buttons" role="group" aria-label="Range">
          {RANGES.map((r) => (
            <button
              type="button"
              key={r.id}
              aria-pressed={!zoomed && range === r.id}
              onClick={() => choose(r.id)}
            >
              {r.label}
            </button>
          ))}
          <button type="button" onClick={() => choose(range)}>
            {zoomed ? 'Reset zoom' : 'Refresh'}
          </button>
        </div>
      </div>
      <ErrorNote error={data.error ?? stored.error} />
      {key === '' ? (
        <p class="muted">The device has sent no telemetry yet.</p>
      ) : (
        <>
          <p class="muted small" aria-live="polite" data-testid="chart-status">
            {data.loading ? 'Loading…' : bucketSummary(data.data?.buckets.length ?? 0, bucket, fn)}
          </p>
          <TimeChart series={series} window={window} onWindow={zoom} label={`${key} (${fn})`} />
        </>
      )}
    </Section>
  );
}

function bucketSummary(count: number, bucketMs: number, fn: string): string {
  return `${count} ${count === 1 ? 'bucket' : 'buckets'} of ${formatBucket(bucketMs)} (${fn})`;
}

function formatBucket(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}
