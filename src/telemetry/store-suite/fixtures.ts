/** Points, a reference aggregate and assertions shared by the telemetry store conformance suite. */
import assert from 'node:assert/strict';
import type { Aggregation, Bucket, DataPoint, TelemetryValue } from '../model.js';
import type { TelemetryStore } from '../store.js';
import type { StoreSuiteContext } from '../../store/conformance-harness.js';

export type SuiteContext = StoreSuiteContext<TelemetryStore>;

/** A time aligned to a whole day (so to every bucket size) and beyond 32 bits. */
export const T0 = 1_700_006_400_000;
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export const AGGREGATIONS: readonly Aggregation[] = [
  'avg',
  'min',
  'max',
  'sum',
  'count',
  'median',
  'first',
  'last',
];

export const point = (
  key: string,
  ts: number,
  value: TelemetryValue,
  over: Partial<DataPoint> = {},
): DataPoint => ({
  tenantId: 't1',
  seriesId: 'd1',
  key,
  ts,
  value,
  ...over,
});

/** The reference: the buckets `aggregate` must return, computed from the raw points. */
export function referenceAggregate(
  points: readonly DataPoint[],
  q: { keys: string[]; from: number; to: number; bucketMs: number; fn: Aggregation },
): Bucket[] {
  const groups = new Map<string, { key: string; ts: number; group: DataPoint[] }>();
  for (const p of points) {
    if (!q.keys.includes(p.key) || p.ts < q.from || p.ts >= q.to) continue;
    const ts = p.ts - (p.ts % q.bucketMs);
    const id = `${ts}/${p.key}`;
    const bucket = groups.get(id);
    if (bucket) bucket.group.push(p);
    else groups.set(id, { key: p.key, ts, group: [p] });
  }
  const buckets: Bucket[] = [];
  for (const { key, ts, group } of groups.values()) {
    group.sort((a, b) => a.ts - b.ts);
    const nums = group
      .map((p) => (typeof p.value === 'boolean' ? (p.value ? 1 : 0) : p.value))
      .filter((v): v is number => typeof v === 'number');
    const sum = nums.reduce((a, b) => a + b, 0);
    const sorted = [...nums].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const values: Record<Aggregation, TelemetryValue | null> = {
      count: group.length,
      first: group[0].value,
      last: group[group.length - 1].value,
      sum: nums.length ? sum : null,
      avg: nums.length ? sum / nums.length : null,
      min: nums.length ? sorted[0] : null,
      max: nums.length ? sorted[sorted.length - 1] : null,
      median:
        nums.length === 0 ? null : sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2,
    };
    buckets.push({ key, ts, value: values[q.fn], count: group.length });
  }
  return buckets.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.ts - b.ts));
}

/** Equal buckets, numbers within rounding (sums may be added up in another order). */
export function assertBuckets(actual: Bucket[], expected: Bucket[], message: string): void {
  assert.equal(actual.length, expected.length, `${message}: bucket count`);
  actual.forEach((a, i) => {
    const e = expected[i];
    assert.deepEqual([a.key, a.ts, a.count], [e.key, e.ts, e.count], `${message}: bucket ${i}`);
    if (typeof a.value === 'number' && typeof e.value === 'number') {
      const tolerance = 1e-9 * Math.max(1, Math.abs(e.value));
      assert.ok(
        Math.abs(a.value - e.value) <= tolerance,
        `${message}: bucket ${i} value ${a.value} ≠ ${e.value}`,
      );
    } else {
      assert.deepEqual(a.value, e.value, `${message}: bucket ${i} value`);
    }
  });
}

/** Every page of a query, following `next`. */
export async function allPages(
  store: TelemetryStore,
  q: Parameters<TelemetryStore['query']>[0],
): Promise<{ points: DataPoint[]; pages: number }> {
  const points: DataPoint[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.query({ ...q, cursor });
    points.push(...page.points);
    cursor = page.next;
    pages++;
  } while (cursor !== undefined && pages < 1000);
  return { points, pages };
}
