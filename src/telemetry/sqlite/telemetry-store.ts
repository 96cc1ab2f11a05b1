import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { HalyardError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Bucket, DataPoint, LatestValue } from '../model.js';
import {
  checkRange,
  decodeCursor,
  encodeCursor,
  encodeValue,
  pageLimit,
  uniquePoints,
} from '../sql/codec.js';
import {
  BucketMerger,
  bucketStart,
  checkMedianPoints,
  countPlan,
  mergeInto,
  partialOf,
  planAggregate,
  pointId,
  rollupChanges,
  ROLLUPS,
  type DirtyBucket,
  type Partial,
  type RollupTable,
} from '../sql/rollups.js';
import { partialFromRow, pointValue, rollupValues } from '../sql/rows.js';
import { ROLLUP_COLUMNS, ROLLUP_MERGE, type PointRow, type RollupRow } from '../sql/schema.js';
import type { AggregateQuery, DeleteScope, RangeQuery, TelemetryStore } from '../store.js';
import { newestPerSeriesKey, SeriesKeyMap } from '../sql/series-key-map.js';
import { TELEMETRY_MIGRATIONS } from './migrations.js';
import { SqliteFile } from '../../store/sqlite/sqlite-file.js';

export interface SqliteTelemetryStoreOptions {
  /** 'full' (default) survives power loss; 'normal' in WAL mode survives a process crash. */
  synchronous?: 'full' | 'normal';
  busyTimeoutMs?: number;
  logger?: Logger;
}

/**
 * A series key's id in series_keys, which the points table is keyed by (an
 * insert costs about a third less than with the two strings in each row); no
 * row: NULL, so no points.
 */
const SK_NAMED = '(SELECT id FROM series_keys WHERE series_id = @series AND key = @key)';
const SK = '(SELECT id FROM series_keys WHERE series_id = ? AND key = ?)';

const RAW_GROUP = `
  SELECT ts - (ts % @ms) AS bucket_ts, count(*) AS n, count(value_num) AS nn, total(value_num) AS sum_v,
         min(value_num) AS min_v, max(value_num) AS max_v, min(ts) AS first_ts, max(ts) AS last_ts
    FROM points WHERE sk = ${SK_NAMED} AND ts >= @from AND ts < @to
   GROUP BY bucket_ts`;

/** Per table, built once: a statement's text is hashed at each lookup, and a constant's hash is kept. */
const UPSERT_ROLLUP = Object.fromEntries(
  ROLLUPS.map(({ table }) => [
    table,
    `INSERT INTO ${table} AS r (${ROLLUP_COLUMNS}) VALUES (${ROLLUP_COLUMNS.split(',')
      .map(() => '?')
      .join(', ')})
     ON CONFLICT (series_id, key, bucket_ts) DO UPDATE SET ${ROLLUP_MERGE}`,
  ]),
) as Record<RollupTable, string>;

/**
 * Telemetry in one SQLite file (WAL). Every method does its work synchronously
 * inside one transaction, so a write is atomic and durable (on disk by default:
 * SqliteFile syncs the WAL) when its promise resolves. Rollups are kept by adding each new
 * point to its buckets; a replaced point instead rebuilds its buckets from the
 * raw points, as does retention for the bucket the cutoff falls in.
 */
export class SqliteTelemetryStore implements TelemetryStore {
  readonly dialect = 'sqlite' as const;
  /** Where halyard_median_scan() puts its buckets while a median query runs. */
  private readonly medianScan = new MedianScan();

  private readonly db: Database.Database;
  /**
   * series_keys as far as the writes have needed it. Dropped whole when a
   * transaction that may have made ids rolls back or a series goes (both rare).
   */
  private seriesKeyIds = new SeriesKeyMap<number>();

  private constructor(private readonly file: SqliteFile) {
    const db = (this.db = file.db);
    // Median reads every raw value: SQLite hands them to one JS aggregate in ts
    // order (no GROUP BY sorter, no row objects), which buckets them itself.
    const scan = this.medianScan;
    // Two arguments: the typings know aggregates of one only.
    const step = (_: null, ts: number, value: number | null) => scan.add(ts, value);
    db.aggregate('halyard_median_scan', {
      start: null,
      step: step as unknown as (total: null, next: null) => void,
      result: () => scan.end(),
    });
  }

  static open(path: string, opts: SqliteTelemetryStoreOptions = {}): SqliteTelemetryStore {
    return new SqliteTelemetryStore(
      SqliteFile.open(path, { name: 'telemetry', migrations: TELEMETRY_MIGRATIONS }, opts),
    );
  }

  write(points: readonly DataPoint[]): Promise<void> {
    return this.file.write('write telemetry', () => {
      const unique = uniquePoints(points);
      if (unique.length === 0) return;
      try {
        this.db.transaction(() => this.writeTx(unique)).immediate();
      } catch (err) {
        this.seriesKeyIds = new SeriesKeyMap<number>();
        throw err;
      }
    });
  }

  latest(seriesId: string, keys?: string[]): Promise<LatestValue[]> {
    return this.file.run('read latest values', () => {
      const rows = keys?.length
        ? this.all<PointRow>(
            `SELECT key, ts, value_type, value_num, value_text FROM latest
              WHERE series_id = ? AND key IN (SELECT value FROM json_each(?)) ORDER BY key`,
            seriesId,
            JSON.stringify(keys),
          )
        : this.all<PointRow>(
            'SELECT key, ts, value_type, value_num, value_text FROM latest WHERE series_id = ? ORDER BY key',
            seriesId,
          );
      return rows.map((r) => ({ key: r.key, ts: r.ts, value: pointValue(r) }));
    });
  }

  keys(seriesId: string): Promise<string[]> {
    return this.file.run('list keys', () => this.seriesKeys(seriesId));
  }

  query(q: RangeQuery): Promise<{ points: DataPoint[]; next?: string }> {
    return this.file.run('query telemetry', () => {
      checkRange(q.from, q.to);
      const limit = pageLimit(q.limit);
      const desc = q.order === 'desc';
      const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
      // Each key's points are one contiguous run of the primary key (series, key, ts): read the
      // page's worth of every key and merge them in (ts, key) order. A second index on (series, ts)
      // would serve this in one read, but it cost a third of the ingest's insert time.
      const dir = desc ? 'DESC' : 'ASC';
      const byKey = this.file.statement(
        `SELECT @key AS key, ts, value_type, value_num, value_text FROM points
          WHERE sk = ${SK_NAMED} AND ts >= @from AND ts < @to ORDER BY ts ${dir} LIMIT @limit`,
      );
      const keys = q.keys?.length ? [...new Set(q.keys)] : this.seriesKeys(q.seriesId);
      const rows: PointRow[] = [];
      for (const key of keys) {
        // After the cursor (ts, key): a later key may still have points at the cursor's ts itself.
        const atCursorToo = cursor !== undefined && (desc ? key < cursor.key : key > cursor.key);
        let from = q.from;
        let to = q.to;
        if (cursor && !desc) from = Math.max(from, atCursorToo ? cursor.ts : cursor.ts + 1);
        if (cursor && desc) to = Math.min(to, atCursorToo ? cursor.ts + 1 : cursor.ts);
        if (from >= to) continue;
        rows.push(...(byKey.all({ series: q.seriesId, key, from, to, limit: limit + 1 }) as PointRow[]));
      }
      const sign = desc ? -1 : 1;
      rows.sort((a, b) => sign * (a.ts - b.ts || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)));
      rows.length = Math.min(rows.length, limit + 1);
      const tenantId = rows.length ? this.tenantOf(q.seriesId) : '';
      const page = rows.slice(0, limit).map((r) => ({
        tenantId,
        seriesId: q.seriesId,
        key: r.key,
        ts: r.ts,
        value: pointValue(r),
      }));
      const last = page.at(-1);
      return rows.length > limit && last ? { points: page, next: encodeCursor(last) } : { points: page };
    });
  }

  aggregate(q: AggregateQuery): Promise<Bucket[]> {
    return this.file.run('aggregate telemetry', () =>
      this.db
        .transaction(() => {
          checkRange(q.from, q.to);
          if (!Number.isSafeInteger(q.bucketMs) || q.bucketMs < 1000) {
            throw new HalyardError('INVALID_INPUT', 'bucketMs must be an integer of at least 1000', {
              field: 'bucketMs',
            });
          }
          const keys = q.keys.length ? q.keys : this.seriesKeys(q.seriesId);
          const merger = new BucketMerger(q.bucketMs);
          if (q.fn === 'median') {
            checkMedianPoints(this.countPoints(q.seriesId, keys, q.from, q.to));
            for (const key of keys) this.medianBuckets(merger, q.seriesId, key, q.from, q.to, q.bucketMs);
            return merger.result(q.fn);
          }
          const withEnds = q.fn === 'first' || q.fn === 'last';
          for (const segment of planAggregate(q.fn, q.from, q.to, q.bucketMs)) {
            for (const key of keys) {
              const params = { series: q.seriesId, key, from: segment.from, to: segment.to };
              const rows =
                segment.source === 'rollup'
                  ? this.all<RollupRow>(
                      `SELECT ${ROLLUP_COLUMNS} FROM ${segment.table}
                        WHERE series_id = @series AND key = @key AND bucket_ts >= @from AND bucket_ts < @to`,
                      params,
                    )
                  : this.rawGroups({ ...params, ms: q.bucketMs }, withEnds);
              for (const r of rows) merger.add(key, r.bucket_ts, partialFromRow(r));
            }
          }
          return merger.result(q.fn);
        })
        .deferred(),
    );
  }

  deleteBefore(scope: DeleteScope, before: number): Promise<number> {
    return this.file.write('delete old telemetry', () =>
      this.db
        .transaction(() => {
          const targets =
            scope.key === undefined
              ? this.all<{ series_id: string; key: string }>(
                  'SELECT series_id, key FROM latest WHERE tenant_id = ?',
                  scope.tenantId,
                )
              : this.all<{ series_id: string; key: string }>(
                  'SELECT series_id, key FROM latest WHERE tenant_id = ? AND key = ?',
                  scope.tenantId,
                  scope.key,
                );
          let removed = 0;
          for (const t of targets) {
            if (scope.exceptKeys?.includes(t.key)) continue;
            const n = this.exec(`DELETE FROM points WHERE sk = ${SK} AND ts < ?`, t.series_id, t.key, before);
            removed += n;
            for (const r of ROLLUPS) {
              const cut = bucketStart(before, r.ms);
              this.exec(
                `DELETE FROM ${r.table} WHERE series_id = ? AND key = ? AND bucket_ts < ?`,
                t.series_id,
                t.key,
                cut,
              );
              // The bucket the cutoff falls in keeps only its remaining points.
              if (n > 0 && cut < before) {
                this.rebuild({ table: r.table, seriesId: t.series_id, key: t.key, bucketTs: cut, ms: r.ms });
              }
            }
          }
          return removed;
        })
        .immediate(),
    );
  }

  deleteSeries(seriesId: string): Promise<number> {
    return this.file.write('delete the series', () =>
      this.db
        .transaction(() => {
          const removed = this.exec(
            'DELETE FROM points WHERE sk IN (SELECT id FROM series_keys WHERE series_id = ?)',
            seriesId,
          );
          this.exec('DELETE FROM series_keys WHERE series_id = ?', seriesId);
          this.seriesKeyIds = new SeriesKeyMap<number>();
          for (const r of ROLLUPS) this.exec(`DELETE FROM ${r.table} WHERE series_id = ?`, seriesId);
          this.exec('DELETE FROM latest WHERE series_id = ?', seriesId);
          return removed;
        })
        .immediate(),
    );
  }

  close(): Promise<void> {
    return this.file.close();
  }

  private writeTx(points: DataPoint[]): void {
    const insert = this.file.statement(
      `INSERT INTO points (sk, ts, value_type, value_num, value_text) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    );
    const replace = this.file.statement(
      'UPDATE points SET value_type = ?, value_num = ?, value_text = ? WHERE sk = ? AND ts = ?',
    );
    const replaced = new Set<string>();
    for (const p of points) {
      const v = encodeValue(p.value);
      const sk = this.seriesKeyId(p.seriesId, p.key);
      if (insert.run(sk, p.ts, v.type, v.num, v.text).changes === 0) {
        replace.run(v.type, v.num, v.text, sk, p.ts);
        replaced.add(pointId(p.seriesId, p.key, p.ts));
      }
    }
    const latest = this.file.statement(
      `INSERT INTO latest (series_id, key, tenant_id, ts, value_type, value_num, value_text)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (series_id, key) DO UPDATE SET tenant_id = excluded.tenant_id, ts = excluded.ts,
         value_type = excluded.value_type, value_num = excluded.value_num, value_text = excluded.value_text
       WHERE excluded.ts >= latest.ts`,
    );
    for (const p of newestPerSeriesKey(points)) {
      const v = encodeValue(p.value);
      latest.run(p.seriesId, p.key, p.tenantId, p.ts, v.type, v.num, v.text);
    }
    const { deltas, dirty } = rollupChanges(points, replaced);
    for (const table of deltas) for (const d of table) this.upsertRollup(d.table).run(...rollupValues(d));
    for (const b of dirty) this.rebuild(b);
  }

  /** The id of a series key, made on its first point (inside the write's transaction). */
  private seriesKeyId(seriesId: string, key: string): number {
    let id = this.seriesKeyIds.get(seriesId, key);
    if (id === undefined) {
      id = (this.file
        .statement('SELECT id FROM series_keys WHERE series_id = ? AND key = ?')
        .pluck()
        .get(seriesId, key) ??
        this.file
          .statement('INSERT INTO series_keys (series_id, key) VALUES (?, ?) RETURNING id')
          .pluck()
          .get(seriesId, key)) as number;
      this.seriesKeyIds.set(seriesId, key, id);
    }
    return id;
  }

  private upsertRollup(table: RollupTable): Statement {
    return this.file.statement(UPSERT_ROLLUP[table]);
  }

  /** Rewrites one rollup bucket from the raw points in it (none: no row). */
  private rebuild(b: DirtyBucket): void {
    this.exec(
      `DELETE FROM ${b.table} WHERE series_id = ? AND key = ? AND bucket_ts = ?`,
      b.seriesId,
      b.key,
      b.bucketTs,
    );
    let partial: Partial | undefined;
    const rows = this.file
      .statement(
        `SELECT ts, value_type, value_num, value_text FROM points WHERE sk = ${SK} AND ts >= ? AND ts < ? ORDER BY ts`,
      )
      .iterate(b.seriesId, b.key, b.bucketTs, b.bucketTs + b.ms) as Iterable<PointRow>;
    for (const r of rows) {
      const p = partialOf(r.ts, pointValue(r));
      partial = partial ? mergeInto(partial, p) : p;
    }
    if (partial) this.upsertRollup(b.table).run(...rollupValues({ ...b, partial }));
  }

  private rawGroups(
    params: { series: string; key: string; from: number; to: number; ms: number },
    withEnds: boolean,
  ): RollupRow[] {
    if (!withEnds) {
      return this.all<RollupRow>(
        `SELECT g.*, 0 AS first_type, 0 AS first_num, NULL AS first_text,
                0 AS last_type, 0 AS last_num, NULL AS last_text FROM (${RAW_GROUP}) AS g`,
        params,
      );
    }
    // The first and last values: one primary-key lookup each per bucket.
    return this.all<RollupRow>(
      `SELECT g.*, f.value_type AS first_type, f.value_num AS first_num, f.value_text AS first_text,
              l.value_type AS last_type, l.value_num AS last_num, l.value_text AS last_text
         FROM (${RAW_GROUP}) AS g
         JOIN points AS f ON f.sk = ${SK_NAMED} AND f.ts = g.first_ts
         JOIN points AS l ON l.sk = ${SK_NAMED} AND l.ts = g.last_ts`,
      params,
    );
  }

  /** How many points the keys have in [from, to), from the rollups where they cover it. */
  private countPoints(seriesId: string, keys: readonly string[], from: number, to: number): number {
    let n = 0;
    for (const s of countPlan(from, to)) {
      for (const key of keys) {
        n += this.file
          .statement(
            s.source === 'rollup'
              ? `SELECT total(n) FROM ${s.table} WHERE series_id = ? AND key = ? AND bucket_ts >= ? AND bucket_ts < ?`
              : `SELECT count(*) FROM points WHERE sk = ${SK} AND ts >= ? AND ts < ?`,
          )
          .pluck()
          .get(seriesId, key, s.from, s.to) as number;
      }
    }
    return n;
  }

  /**
   * Median (and count) per bucket of one key in one pass over its raw points,
   * which the primary key yields in ts order.
   */
  private medianBuckets(
    merger: BucketMerger,
    seriesId: string,
    key: string,
    from: number,
    to: number,
    ms: number,
  ): void {
    this.medianScan.begin(ms, (bucketTs, partial, median) => {
      merger.add(key, bucketTs, partial);
      if (median !== null) merger.addValue(key, bucketTs, median);
    });
    try {
      this.file
        .statement(
          `SELECT halyard_median_scan(ts, value_num) FROM (
           SELECT ts, value_num FROM points WHERE sk = ${SK} AND ts >= ? AND ts < ? ORDER BY ts)`,
        )
        .get(seriesId, key, from, to);
    } finally {
      this.medianScan.reset();
    }
  }

  private seriesKeys(seriesId: string): string[] {
    return this.file
      .statement('SELECT key FROM latest WHERE series_id = ? ORDER BY key')
      .pluck()
      .all(seriesId) as string[];
  }

  private tenantOf(seriesId: string): string {
    return (this.file
      .statement('SELECT tenant_id FROM latest WHERE series_id = ? LIMIT 1')
      .pluck()
      .get(seriesId) ?? '') as string;
  }

  private all<R>(sql: string, ...params: unknown[]): R[] {
    return this.file.statement(sql).all(...params) as R[];
  }

  private exec(sql: string, ...params: unknown[]): number {
    return this.file.statement(sql).run(...params).changes;
  }
}

/**
 * The state of halyard_median_scan(ts, value): points arrive in ts order; each
 * bucket's numeric values collect in one reused Float64Array, sorted in place
 * when the bucket ends.
 */
class MedianScan {
  private values = new Float64Array(4096);
  private ms = 1;
  private emit: ((bucketTs: number, partial: Partial, median: number | null) => void) | undefined;
  private bucketTs = Number.NaN;
  private count = 0;
  private numCount = 0;
  private firstTs = 0;
  private lastTs = Number.NEGATIVE_INFINITY;

  begin(ms: number, emit: (bucketTs: number, partial: Partial, median: number | null) => void): void {
    this.reset();
    this.ms = ms;
    this.emit = emit;
  }

  reset(): void {
    this.emit = undefined;
    this.bucketTs = Number.NaN;
    this.count = 0;
    this.numCount = 0;
    this.lastTs = Number.NEGATIVE_INFINITY;
  }

  add(ts: number, value: number | null): void {
    if (ts < this.lastTs) throw new Error('median scan: points out of ts order');
    this.lastTs = ts;
    const bucketTs = bucketStart(ts, this.ms);
    if (bucketTs !== this.bucketTs) {
      this.flush();
      this.bucketTs = bucketTs;
      this.firstTs = ts;
    }
    this.count++;
    if (value === null) return;
    if (this.numCount === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.numCount++] = value;
  }

  end(): null {
    this.flush();
    return null;
  }

  private flush(): void {
    if (this.count === 0 || !this.emit) return;
    const n = this.numCount;
    const sorted = this.values.subarray(0, n).sort();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i];
    const mid = n >> 1;
    const median = n === 0 ? null : n % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    this.emit(
      this.bucketTs,
      {
        count: this.count,
        numCount: n,
        sum,
        min: n ? sorted[0] : null,
        max: n ? sorted[n - 1] : null,
        firstTs: this.firstTs,
        first: 0,
        lastTs: this.lastTs,
        last: 0,
      },
      median,
    );
    this.count = 0;
    this.numCount = 0;
  }
}
