/**
 * The read parameters of feeds and field feeds (reference §1 "Common read
 * parameters" and "Legacy limits and defaults"): the window, the number of
 * results, and what is done to the entries afterwards (aggregation, min/max,
 * rounding).
 */
import type { ChannelEntry } from '../model.js';
import type { EntryQuery } from '../store.js';
import type { FieldKey } from '../service.js';
import { numberParam, truthy, type Params } from './params.js';
import { offsetMinutes, parseTime, requestZone, type Zone } from './time.js';

export const MAX_RESULTS = 8000;
export const DEFAULT_RESULTS = 100;
const DAY_MS = 86_400_000;
const AGGREGATES = new Set(['10', '15', '20', '30', '60', '240', '720', '1440', 'daily']);

export type Aggregate = { kind: 'timescale' | 'sum' | 'average' | 'median'; minutes: number };

export interface FeedQuery {
  query: EntryQuery;
  zone: Zone;
  status: boolean;
  location: boolean;
  metadata: boolean;
  aggregate?: Aggregate;
  min?: number;
  max?: number;
  round?: number;
}

function positiveInt(v: string | undefined): number | undefined {
  const n = numberParam(v);
  return n !== undefined && Number.isFinite(n) && n >= 0 ? Math.floor(n) : undefined;
}

function finite(v: string | undefined): number | undefined {
  const n = numberParam(v);
  return n !== undefined && Number.isFinite(n) ? n : undefined;
}

function aggregateOf(p: Params): Aggregate | undefined {
  for (const kind of ['timescale', 'sum', 'average', 'median'] as const) {
    const v = p[kind];
    if (v !== undefined && AGGREGATES.has(v)) return { kind, minutes: v === 'daily' ? 1440 : Number(v) };
  }
  return undefined;
}

/**
 * - start/end win over days, days over minutes; times are in the request's zone.
 * - Without any of them the window is the last day (the documented `days` default).
 * - `results` alone reads the newest N entries of any age (it has the highest precedence).
 * - The limit is 100 by default, 8000 when results, days, minutes, start or end is given.
 */
export function feedQuery(channelId: number, p: Params, now: number): FeedQuery {
  const zone = requestZone(p.timezone, p.offset);
  const results = positiveInt(p.results);
  const start = p.start ? parseTime(p.start, zone) : undefined;
  const end = p.end ? parseTime(p.end, zone) : undefined;
  const days = finite(p.days);
  const minutes = finite(p.minutes);
  const query: EntryQuery = { channelId, limit: DEFAULT_RESULTS };
  const windowed = start !== undefined || end !== undefined || days !== undefined || minutes !== undefined;
  if (start !== undefined || end !== undefined) {
    query.from = start ?? (end ?? now) - DAY_MS;
    query.to = end ?? now;
  } else if (days !== undefined) {
    query.from = now - days * DAY_MS;
  } else if (minutes !== undefined) {
    query.from = now - minutes * 60_000;
  } else if (results === undefined) {
    query.from = now - DAY_MS;
  }
  if (results !== undefined) query.limit = Math.min(results, MAX_RESULTS);
  else if (windowed) query.limit = MAX_RESULTS;
  return {
    query,
    zone,
    status: truthy(p.status),
    location: truthy(p.location),
    metadata: truthy(p.metadata),
    aggregate: aggregateOf(p),
    min: finite(p.min),
    max: finite(p.max),
    round: positiveInt(p.round),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Groups entries into buckets of `minutes`, aligned to midnight in the
 * request's zone. `timescale` keeps the first entry of each bucket; sum,
 * average and median combine each field's numeric values (average counts a
 * non-numeric value as 0, as ThingSpeak treats NaN).
 */
export function aggregate(
  entries: ChannelEntry[],
  agg: Aggregate,
  zone: Zone,
  fields: FieldKey[],
): ChannelEntry[] {
  const size = agg.minutes * 60_000;
  const buckets = new Map<number, ChannelEntry[]>();
  for (const e of entries) {
    const off = offsetMinutes(zone, e.createdAt) * 60_000;
    const start = Math.floor((e.createdAt + off) / size) * size - off;
    const bucket = buckets.get(start);
    if (bucket) bucket.push(e);
    else buckets.set(start, [e]);
  }
  const out: ChannelEntry[] = [];
  for (const [start, group] of buckets) {
    const first = group[0];
    if (agg.kind === 'timescale') {
      out.push(first);
      continue;
    }
    const combined: ChannelEntry = { ...first, createdAt: start, fields: {} };
    for (const k of fields) {
      const raw = group.map((e) => e.fields[k]).filter((v): v is string => v !== null && v !== undefined);
      if (raw.length === 0) {
        combined.fields[k] = null;
        continue;
      }
      const nums = raw.map((v) => Number(v)).map((n) => (Number.isFinite(n) ? n : 0));
      const value =
        agg.kind === 'sum'
          ? nums.reduce((a, b) => a + b, 0)
          : agg.kind === 'average'
            ? nums.reduce((a, b) => a + b, 0) / nums.length
            : median(nums);
      combined.fields[k] = String(value);
    }
    out.push(combined);
  }
  return out;
}

/** min/max drop values outside the range; round keeps N decimals of numeric values. */
export function shapeValues(entries: ChannelEntry[], q: FeedQuery, fields: FieldKey[]): ChannelEntry[] {
  if (q.min === undefined && q.max === undefined && q.round === undefined) return entries;
  return entries.map((e) => {
    const out: ChannelEntry = { ...e, fields: { ...e.fields } };
    for (const k of fields) {
      const v = out.fields[k];
      if (v === null || v === undefined) continue;
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n)) continue;
      if ((q.min !== undefined && n < q.min) || (q.max !== undefined && n > q.max)) out.fields[k] = null;
      else if (q.round !== undefined) out.fields[k] = n.toFixed(q.round);
    }
    return out;
  });
}
