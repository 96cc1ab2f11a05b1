/** Rows ↔ records for both SQL telemetry stores. */
import type { DataPoint } from '../model.js';
import { decodeValue, encodeCursor, encodeValue } from './codec.js';
import type { Partial, RollupDelta } from './rollups.js';
import type { PointRow, RollupRow } from './schema.js';

export function partialFromRow(r: RollupRow): Partial {
  return {
    count: r.n,
    numCount: r.nn,
    sum: r.sum_v,
    min: r.min_v,
    max: r.max_v,
    firstTs: r.first_ts,
    first: decodeValue(r.first_type, r.first_num, r.first_text),
    lastTs: r.last_ts,
    last: decodeValue(r.last_type, r.last_num, r.last_text),
  };
}

/** The values of a rollup row, in ROLLUP_COLUMNS order. */
export function rollupValues(d: Pick<RollupDelta, 'seriesId' | 'key' | 'bucketTs' | 'partial'>): unknown[] {
  const p = d.partial;
  const first = encodeValue(p.first);
  const last = encodeValue(p.last);
  return [
    d.seriesId,
    d.key,
    d.bucketTs,
    p.count,
    p.numCount,
    p.sum,
    p.min,
    p.max,
    p.firstTs,
    first.type,
    first.num,
    first.text,
    p.lastTs,
    last.type,
    last.num,
    last.text,
  ];
}

export const pointValue = (r: PointRow) => decodeValue(r.value_type, r.value_num, r.value_text);

/**
 * A query's page from up to limit + 1 rows in order: the first `limit` as
 * points, and the cursor after the last of them when a row is left over.
 */
export function pointsPage(
  rows: readonly PointRow[],
  limit: number,
  seriesId: string,
  tenantId: string,
): { points: DataPoint[]; next?: string } {
  const page = rows
    .slice(0, limit)
    .map((r) => ({ tenantId, seriesId, key: r.key, ts: r.ts, value: pointValue(r) }));
  const last = page.at(-1);
  return rows.length > limit && last ? { points: page, next: encodeCursor(last) } : { points: page };
}
