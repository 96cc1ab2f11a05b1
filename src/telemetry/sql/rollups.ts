/**
 * Rollups and aggregates, shared by the SQL stores: the partial aggregate a
 * rollup row (or a group of raw points) holds, how partials merge, how a
 * write's points become rollup deltas, and which source serves which part of
 * an aggregate's range.
 */
import type { Aggregation, Bucket, DataPoint, TelemetryValue } from '../model.js';
import { compareKeys, numericValue } from './codec.js';

/** The rollup tables, coarsest first: name and bucket size in ms. */
export const ROLLUPS = [
  { table: 'rollup_1h', ms: 3_600_000 },
  { table: 'rollup_1m', ms: 60_000 },
] as const;

export type RollupTable = (typeof ROLLUPS)[number]['table'];

/** What a bucket knows of its points: enough to answer every function but median. */
export interface Partial {
  /** Every point, numeric or not. */
  count: number;
  /** Points with a numeric value (numbers and booleans). */
  numCount: number;
  sum: number;
  min: number | null;
  max: number | null;
  firstTs: number;
  first: TelemetryValue;
  lastTs: number;
  last: TelemetryValue;
}

export function partialOf(ts: number, value: TelemetryValue): Partial {
  const num = numericValue(value);
  return {
    count: 1,
    numCount: num === null ? 0 : 1,
    sum: num ?? 0,
    min: num,
    max: num,
    firstTs: ts,
    first: value,
    lastTs: ts,
    last: value,
  };
}

const lesser = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const greater = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** Folds `b` into `a` (mutating it). */
export function mergeInto(a: Partial, b: Partial): Partial {
  a.count += b.count;
  a.numCount += b.numCount;
  a.sum += b.sum;
  a.min = lesser(a.min, b.min);
  a.max = greater(a.max, b.max);
  if (b.firstTs < a.firstTs) {
    a.firstTs = b.firstTs;
    a.first = b.first;
  }
  if (b.lastTs >= a.lastTs) {
    a.lastTs = b.lastTs;
    a.last = b.last;
  }
  return a;
}

/** Start of the bucket of size `ms` holding `ts` (aligned from the epoch). */
export const bucketStart = (ts: number, ms: number): number => ts - (((ts % ms) + ms) % ms);

/** One rollup row to add to (or, for a recomputed bucket, to write afresh). */
export interface RollupDelta {
  table: RollupTable;
  tenantId: string;
  seriesId: string;
  key: string;
  bucketTs: number;
  partial: Partial;
}

/** A bucket whose rollup must be rebuilt from raw points (a stored point in it was replaced). */
export interface DirtyBucket {
  table: RollupTable;
  tenantId: string;
  seriesId: string;
  key: string;
  bucketTs: number;
  ms: number;
}

export const pointId = (seriesId: string, key: string, ts: number): string =>
  `${ts}\u0000${seriesId}\u0000${key}`;

/**
 * What a write does to the rollups. New points are added to their buckets'
 * rows; a bucket holding a replaced point is rebuilt from the raw points
 * instead (adding cannot take the old value out), after the points are written.
 * Both lists are sorted, so concurrent writers lock rows in the same order.
 */
export function rollupChanges(
  points: readonly DataPoint[],
  replaced: ReadonlySet<string>,
): { deltas: RollupDelta[]; dirty: DirtyBucket[] } {
  const deltas = new Map<string, RollupDelta>();
  const dirty = new Map<string, DirtyBucket>();
  for (const rollup of ROLLUPS) {
    for (const p of points) {
      const bucketTs = bucketStart(p.ts, rollup.ms);
      const id = `${rollup.table}\u0000${p.seriesId}\u0000${p.key}\u0000${bucketTs}`;
      if (replaced.has(pointId(p.seriesId, p.key, p.ts))) {
        dirty.set(id, { ...base(rollup.table, p, bucketTs), ms: rollup.ms });
      }
      const existing = deltas.get(id);
      if (existing) mergeInto(existing.partial, partialOf(p.ts, p.value));
      else deltas.set(id, { ...base(rollup.table, p, bucketTs), partial: partialOf(p.ts, p.value) });
    }
  }
  for (const id of dirty.keys()) deltas.delete(id);
  return { deltas: [...deltas.values()].sort(byRow), dirty: [...dirty.values()].sort(byRow) };
}

const base = (table: RollupTable, p: DataPoint, bucketTs: number) => ({
  table,
  tenantId: p.tenantId,
  seriesId: p.seriesId,
  key: p.key,
  bucketTs,
});

function byRow(a: Omit<DirtyBucket, 'ms'>, b: Omit<DirtyBucket, 'ms'>): number {
  return (
    compareKeys(a.table, b.table) ||
    compareKeys(a.seriesId, b.seriesId) ||
    compareKeys(a.key, b.key) ||
    a.bucketTs - b.bucketTs
  );
}

/** A part of an aggregate's range and where it is read from. */
export type Segment = { from: number; to: number } & (
  { source: 'raw' } | { source: 'rollup'; table: RollupTable; ms: number }
);

/**
 * The coarsest rollup whose size divides the bucket serves the aligned middle
 * of the range; raw points serve the edges (and everything, for median or a
 * bucket no rollup divides).
 */
export function planAggregate(fn: Aggregation, from: number, to: number, bucketMs: number): Segment[] {
  if (from >= to) return [];
  const rollup = fn === 'median' ? undefined : ROLLUPS.find((r) => bucketMs % r.ms === 0);
  if (!rollup) return [{ source: 'raw', from, to }];
  const start = Math.ceil(from / rollup.ms) * rollup.ms;
  const end = Math.floor(to / rollup.ms) * rollup.ms;
  if (start >= end) return [{ source: 'raw', from, to }];
  const segments: Segment[] = [];
  if (from < start) segments.push({ source: 'raw', from, to: start });
  segments.push({ source: 'rollup', table: rollup.table, ms: rollup.ms, from: start, to: end });
  if (end < to) segments.push({ source: 'raw', from: end, to });
  return segments;
}

/** Merges partials into the requested buckets; median values (when asked) per bucket. */
export class BucketMerger {
  private readonly buckets = new Map<
    string,
    { key: string; ts: number; partial: Partial; values: number[] }
  >();

  constructor(private readonly bucketMs: number) {}

  add(key: string, ts: number, partial: Partial): void {
    const bucketTs = bucketStart(ts, this.bucketMs);
    const id = `${key}\u0000${bucketTs}`;
    const b = this.buckets.get(id);
    if (b) mergeInto(b.partial, partial);
    else this.buckets.set(id, { key, ts: bucketTs, partial, values: [] });
  }

  /** A numeric value for median; its bucket must have been added already. */
  addValue(key: string, ts: number, value: number): void {
    this.buckets.get(`${key}\u0000${bucketStart(ts, this.bucketMs)}`)?.values.push(value);
  }

  result(fn: Aggregation): Bucket[] {
    return [...this.buckets.values()]
      .sort((a, b) => compareKeys(a.key, b.key) || a.ts - b.ts)
      .map((b) => ({
        key: b.key,
        ts: b.ts,
        value: finalValue(fn, b.partial, b.values),
        count: b.partial.count,
      }));
  }
}

function finalValue(fn: Aggregation, p: Partial, values: number[]): TelemetryValue | null {
  switch (fn) {
    case 'count':
      return p.count;
    case 'first':
      return p.first;
    case 'last':
      return p.last;
    case 'avg':
      return p.numCount === 0 ? null : p.sum / p.numCount;
    case 'sum':
      return p.numCount === 0 ? null : p.sum;
    case 'min':
      return p.min;
    case 'max':
      return p.max;
    case 'median':
      return median(values);
  }
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
