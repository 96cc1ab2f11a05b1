/**
 * Where telemetry lives: embedded SQLite by default, PostgreSQL at scale. Both
 * implementations pass one suite (store.suite.ts).
 *
 * - `write` commits all points in one transaction; when its promise resolves the
 *   points are durable (the ingest path acknowledges only then). A point with the
 *   same (seriesId, key, ts) as a stored one replaces it.
 * - Latest values per (seriesId, key) are maintained on write (a point older than
 *   the latest does not replace it), so `latest` is one indexed read.
 * - Rollups: 1-minute and 1-hour buckets per (seriesId, key) with count, sum, min,
 *   max, first (value and ts), last (value and ts) of numeric values, maintained on
 *   write in the same transaction. `aggregate` reads each part of the range from the
 *   coarsest rollup whose size divides the requested bucket and whose buckets lie
 *   whole in it, finer rollups and raw points at the edges (sql/rollups.ts
 *   planAggregate), so it answers as the raw points do. `median` always reads raw
 *   points, at most MEDIAN_MAX_POINTS of them (else INVALID_INPUT naming `fn`).
 * - Non-numeric values (strings, booleans) are kept and returned by `query`,
 *   `latest` and by `aggregate` with count/first/last; avg/min/max/sum/median skip them
 *   (booleans count as 0/1).
 */
import type { Aggregation, Bucket, DataPoint, LatestValue } from './model.js';

export interface RangeQuery {
  seriesId: string;
  /** Empty or undefined = every key of the series. */
  keys?: string[];
  /** Inclusive, ms. */
  from: number;
  /** Exclusive, ms. */
  to: number;
  /** Default 1000, at most 100,000. */
  limit?: number;
  order?: 'asc' | 'desc';
  /**
   * Paging: the cursor returned as `next` by the previous page. Opaque to callers.
   */
  cursor?: string;
}

export interface AggregateQuery {
  seriesId: string;
  keys: string[];
  from: number;
  to: number;
  /** Bucket size in ms (≥ 1000). Buckets are aligned to multiples of it from the epoch. */
  bucketMs: number;
  fn: Aggregation;
}

/** What deleteBefore removes: a tenant's telemetry, or one key of it, less any `exceptKeys`. */
export interface DeleteScope {
  tenantId: string;
  key?: string;
  exceptKeys?: readonly string[];
}

export interface TelemetryStore {
  readonly dialect: 'sqlite' | 'postgres';
  write(points: readonly DataPoint[]): Promise<void>;
  latest(seriesId: string, keys?: string[]): Promise<LatestValue[]>;
  /** Points ordered by (ts, key) in `order`. */
  query(q: RangeQuery): Promise<{ points: DataPoint[]; next?: string }>;
  /** Buckets of every requested key that has points in them, ordered by (key, ts) ascending. */
  aggregate(q: AggregateQuery): Promise<Bucket[]>;
  /** The keys a series has (from latest values). */
  keys(seriesId: string): Promise<string[]>;
  /**
   * Retention: removes points (and rollup buckets entirely) older than `before`
   * for a tenant, optionally for one key only. Returns how many raw points went.
   * Latest values are kept. `exceptKeys` spares those keys (the retention job's
   * tenant-wide pass skips keys that have a retention of their own).
   */
  deleteBefore(scope: DeleteScope, before: number): Promise<number>;
  /** Removes everything of a series (a deleted device or a cleared channel). */
  deleteSeries(seriesId: string): Promise<number>;
  close(): Promise<void>;
}
