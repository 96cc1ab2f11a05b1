/**
 * The SQL both telemetry stores share (SQLite and PostgreSQL read it alike).
 *
 * Tables: points (series_id, key, ts) → value, without the tenant (a series
 * belongs to one tenant, kept once in latest); latest (series_id, key) → the
 * newest point and the tenant; rollup_1m / rollup_1h (series_id, key, bucket_ts)
 * → the bucket's Partial (rollups.ts).
 */
import type { RollupTable } from './rollups.js';

export const ROLLUP_COLUMNS =
  'series_id, key, bucket_ts, n, nn, sum_v, min_v, max_v, first_ts, first_type, first_num, first_text, last_ts, last_type, last_num, last_text';

/** Adds a new partial (`excluded`) to the stored row `r`. */
export const ROLLUP_MERGE = `
  n = r.n + excluded.n,
  nn = r.nn + excluded.nn,
  sum_v = r.sum_v + excluded.sum_v,
  min_v = CASE WHEN r.min_v IS NULL OR excluded.min_v < r.min_v THEN excluded.min_v ELSE r.min_v END,
  max_v = CASE WHEN r.max_v IS NULL OR excluded.max_v > r.max_v THEN excluded.max_v ELSE r.max_v END,
  first_ts = CASE WHEN excluded.first_ts < r.first_ts THEN excluded.first_ts ELSE r.first_ts END,
  first_type = CASE WHEN excluded.first_ts < r.first_ts THEN excluded.first_type ELSE r.first_type END,
  first_num = CASE WHEN excluded.first_ts < r.first_ts THEN excluded.first_num ELSE r.first_num END,
  first_text = CASE WHEN excluded.first_ts < r.first_ts THEN excluded.first_text ELSE r.first_text END,
  last_ts = CASE WHEN excluded.last_ts >= r.last_ts THEN excluded.last_ts ELSE r.last_ts END,
  last_type = CASE WHEN excluded.last_ts >= r.last_ts THEN excluded.last_type ELSE r.last_type END,
  last_num = CASE WHEN excluded.last_ts >= r.last_ts THEN excluded.last_num ELSE r.last_num END,
  last_text = CASE WHEN excluded.last_ts >= r.last_ts THEN excluded.last_text ELSE r.last_text END`;

/** A rollup row as both drivers return it. */
export interface RollupRow {
  bucket_ts: number;
  n: number;
  nn: number;
  sum_v: number;
  min_v: number | null;
  max_v: number | null;
  first_ts: number;
  first_type: number;
  first_num: number | null;
  first_text: string | null;
  last_ts: number;
  last_type: number;
  last_num: number | null;
  last_text: string | null;
}

/** A raw point as both drivers return it. */
export interface PointRow {
  key: string;
  ts: number;
  value_type: number;
  value_num: number | null;
  value_text: string | null;
}

export const rollupTables: readonly RollupTable[] = ['rollup_1m', 'rollup_1h'];
