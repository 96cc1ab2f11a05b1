/**
 * Rollups and aggregates, shared by the SQL stores: the partial aggregate a
 * rollup row (or a group of raw points) holds, how partials merge, how a
 * write's points become rollup deltas, and which source serves which part of
 * an aggregate's range.
 */
import { HalyardError } from '../../core/errors.js';
import type { Aggregation, Bucket, DataPoint, TelemetryValue } from '../model.js';
import { compareKeys, numericValue } from './codec.js';
import { SeriesKeyMap } from './series-key-map.js';

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

/** Folds one point into `a` (mutating it): mergeInto without a Partial per point. */
function addPoint(a: Partial, ts: number, value: TelemetryValue): void {
  const num = numericValue(value);
  a.count++;
  if (num !== null) {
    a.numCount++;
    a.sum += num;
    a.min = a.min === null || num < a.min ? num : a.min;
    a.max = a.max === null || num > a.max ? num : a.max;
  }
  if (ts < a.firstTs) {
    a.firstTs = ts;
    a.first = value;
  }
  if (ts >= a.lastTs) {
    a.lastTs = ts;
    a.last = value;
  }
}

/** Start of the bucket of size `ms` holding `ts` (aligned from the epoch). */
export const bucketStart = (ts: number, ms: number): number => ts - (((ts % ms) + ms) % ms);

/** One rollup bucket of one series' key. */
export interface RollupBucket {
  table: RollupTable;
  seriesId: string;
  key: string;
  bucketTs: number;
}

/** One rollup row to add to (or, for a rebuilt bucket, to write afresh). */
export interface RollupDelta extends RollupBucket {
  partial: Partial;
}

/** A bucket whose rollup must be rebuilt from raw points (a stored point in it was replaced). */
export interface DirtyBucket extends RollupBucket {
  ms: number;
}

export const pointId = (seriesId: string, key: string, ts: number): string =>
  `${ts}\u0000${seriesId}\u0000${key}`;

/** Unambiguous whatever the series and key hold: the length prefix says where the series ends. */
const seriesKeyId = (seriesId: string, key: string): string => `${seriesId.length}:${seriesId}${key}`;

/** What a write does to each rollup table (`deltas` in ROLLUPS order), and which buckets to rebuild. */
export interface RollupChanges {
  deltas: RollupDelta[][];
  dirty: DirtyBucket[];
}

/**
 * What a write does to the rollups. New points are summed per bucket in
 * memory, so a batch upserts each (series, key, bucket) once: the finest
 * rollup from the points, each coarser one from the finer deltas. A bucket
 * holding a replaced point is rebuilt from the raw points instead (adding
 * cannot take the old value out), after the points are written. Deltas come in
 * the order of the points: sorted points give every writer the same row-lock order.
 */
export function rollupChanges(points: readonly DataPoint[], replaced: ReadonlySet<string>): RollupChanges {
  const finest = ROLLUPS[ROLLUPS.length - 1];
  // Per series key, its buckets of this batch (mostly one).
  const bySeriesKey = new SeriesKeyMap<RollupDelta[]>();
  let level: RollupDelta[] = [];
  for (const p of points) {
    const bucketTs = bucketStart(p.ts, finest.ms);
    let buckets = bySeriesKey.get(p.seriesId, p.key);
    if (!buckets) bySeriesKey.set(p.seriesId, p.key, (buckets = []));
    const delta = findBucket(buckets, bucketTs);
    if (delta) addPoint(delta.partial, p.ts, p.value);
    else {
      const added = {
        table: finest.table,
        seriesId: p.seriesId,
        key: p.key,
        bucketTs,
        partial: partialOf(p.ts, p.value),
      };
      buckets.push(added);
      level.push(added);
    }
  }
  const levels = [level];
  for (let i = ROLLUPS.length - 2; i >= 0; i--) {
    const { table, ms } = ROLLUPS[i];
    const coarser: RollupDelta[] = [];
    for (const buckets of bySeriesKey.values()) {
      const merged: RollupDelta[] = [];
      for (const d of buckets) {
        const bucketTs = bucketStart(d.bucketTs, ms);
        const delta = findBucket(merged, bucketTs);
        if (delta) mergeInto(delta.partial, d.partial);
        else merged.push({ table, seriesId: d.seriesId, key: d.key, bucketTs, partial: { ...d.partial } });
      }
      buckets.length = 0;
      buckets.push(...merged);
      coarser.push(...merged);
    }
    levels.unshift((level = coarser));
  }
  if (replaced.size === 0) return { deltas: levels, dirty: [] };
  const dirty: DirtyBucket[] = [];
  const dirtyIds = new Set<string>();
  for (const p of points) {
    if (!replaced.has(pointId(p.seriesId, p.key, p.ts))) continue;
    for (const { table, ms } of ROLLUPS) {
      const bucket = { table, seriesId: p.seriesId, key: p.key, bucketTs: bucketStart(p.ts, ms), ms };
      const id = `${table}:${bucket.bucketTs}:${seriesKeyId(p.seriesId, p.key)}`;
      if (!dirtyIds.has(id)) dirty.push(bucket);
      dirtyIds.add(id);
    }
  }
  const isDirty = (d: RollupDelta) =>
    dirtyIds.has(`${d.table}:${d.bucketTs}:${seriesKeyId(d.seriesId, d.key)}`);
  return { deltas: levels.map((l) => l.filter((d) => !isDirty(d))), dirty };
}

function findBucket(buckets: readonly RollupDelta[], bucketTs: number): RollupDelta | undefined {
  for (let i = buckets.length - 1; i >= 0; i--) if (buckets[i].bucketTs === bucketTs) return buckets[i];
  return undefined;
}

/** A part of an aggregate's range and where it is read from. */
export type Segment = { from: number; to: number } & (
  { source: 'raw' } | { source: 'rollup'; table: RollupTable; ms: number }
);

/**
 * Where each part of an aggregate's range is read: the coarsest rollup whose
 * size divides the bucket serves the part of the range its buckets cover
 * whole, finer rollups the edges it leaves, and raw points what no rollup
 * bucket covers (and everything, for median or a bucket no rollup divides).
 * Every rollup bucket so read lies inside one requested bucket, so the answer
 * is the one the raw points give.
 */
export function planAggregate(fn: Aggregation, from: number, to: number, bucketMs: number): Segment[] {
  if (from >= to) return [];
  return plan(from, to, fn === 'median' ? [] : ROLLUPS.filter((r) => bucketMs % r.ms === 0));
}

function plan(from: number, to: number, rollups: readonly (typeof ROLLUPS)[number][]): Segment[] {
  const [rollup, ...finer] = rollups;
  if (!rollup) return [{ source: 'raw', from, to }];
  const start = Math.ceil(from / rollup.ms) * rollup.ms;
  const end = Math.floor(to / rollup.ms) * rollup.ms;
  if (start >= end) return plan(from, to, finer);
  return [
    ...(from < start ? plan(from, start, finer) : []),
    { source: 'rollup', table: rollup.table, ms: rollup.ms, from: start, to: end },
    ...(end < to ? plan(end, to, finer) : []),
  ];
}

/**
 * Median reads every raw point of the range (it cannot be combined from
 * rollups exactly), so a query may cover at most this many; the count comes
 * from the rollups first.
 */
export const MEDIAN_MAX_POINTS = 1_000_000;

/** The segments that count a range's points cheaply (any rollup may serve). */
export const countPlan = (from: number, to: number): Segment[] =>
  planAggregate('count', from, to, ROLLUPS[0].ms);

export function checkMedianPoints(points: number): void {
  if (points > MEDIAN_MAX_POINTS) {
    throw new HalyardError(
      'INVALID_INPUT',
      `median reads every point and is limited to ${MEDIAN_MAX_POINTS.toLocaleString('en-US')} per query ` +
        `(this range holds ${points.toLocaleString('en-US')}); choose a shorter range or another function`,
      { field: 'fn', points, limit: MEDIAN_MAX_POINTS },
    );
  }
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
