import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { HalyardError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { FailureStreak } from '../../store/failure-streak.js';
import type { Bucket, DataPoint, LatestValue } from '../model.js';
import { checkPoints, checkRange, decodeCursor, encodeValue, pageLimit } from '../sql/codec.js';
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
import { partialFromRow, pointsPage, pointValue, rollupValues } from '../sql/rows.js';
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
  /** A fold of every key starts once this many points are recent (default 400,000). */
  foldAtPoints?: number;
  /** A key is folded alone once it has this many recent points (default 2,000). */
  foldKeyAtPoints?: number;
  /** A fold moves about this many recent points per transaction (default 20,000). */
  foldStepPoints?: number;
  /** A key bringing this many points in one write skips recent_points (default 32; Infinity: never). */
  directAtPoints?: number;
}

/**
 * Recent points. A write's points go first into recent_points, a table of the
 * points table's shape that stays small; a fold later moves them into points
 * and adds them to the rollups, one range of series keys per transaction.
 *
 * Why: points and rollups are clustered by series key, so a transaction
 * dirties a page of each per series key it touches, whatever few points the
 * key brings. With 10,000 keys and a couple of points each per transaction
 * that was ~2 KB of pages written per 20-byte point (BENCHMARKS.md). In the
 * small table a transaction touches at most its few hundred pages, and a fold
 * brings tens of points per key at once. Measured on this layout: ~5 µs a
 * point where writing straight into points cost 11–22 µs.
 *
 * Every read takes both tables: raw reads merge them; aggregates take the
 * rollups and points (the folded points, which are all the rollups hold) plus
 * the recent points of the range, summed raw: so a key with foldKeyAtPoints
 * recent points is folded alone at once, and no read sums more than that. A point is in one table only: a write whose
 * time is not newer than the key's newest folded point replaces that point in
 * place if it exists (rebuilding its rollup buckets, as before).
 */
const FOLD_AT_POINTS = 400_000;
/** Bounds what a read of one key takes from recent_points, unindexed by bucket: a busy key is folded alone. */
const FOLD_KEY_AT_POINTS = 2_000;
const FOLD_STEP_POINTS = 20_000;
/**
 * A key that brings this many points in one write skips recent_points: they
 * fill a good part of a page of points together, so the detour (a write, then
 * in the fold a sum, a copy and a delete) buys nothing. E.g. a channel's
 * mirror under load, or a device that sends a backlog. Measured under
 * `/update`, where each mirror write brings ~70 points a key: BENCHMARKS.md.
 */
const DIRECT_AT_POINTS = 32;
const NONE_REPLACED: ReadonlySet<string> = new Set();
/** After a failed fold step, the next waits this long (a failing disk is not hammered). */
const FOLD_RETRY_MS = 1_000;
const LAST_SK = Number.MAX_SAFE_INTEGER;

/**
 * A series key's id in series_keys, which the points table is keyed by (an
 * insert costs about a third less than with the two strings in each row); no
 * row: NULL, so no points.
 */
const SK_NAMED = '(SELECT id FROM series_keys WHERE series_id = @series AND key = @key)';
const SK = '(SELECT id FROM series_keys WHERE series_id = ? AND key = ?)';

/** A point of a write and its series key id. */
interface FoldedRow {
  p: DataPoint;
  sk: number;
}

/** The two tables raw points live in. */
type PointTable = 'points' | 'recent_points';

const rawGroup = (table: PointTable) => `
  SELECT ts - (ts % @ms) AS bucket_ts, count(*) AS n, count(value_num) AS nn, total(value_num) AS sum_v,
         min(value_num) AS min_v, max(value_num) AS max_v, min(ts) AS first_ts, max(ts) AS last_ts
    FROM ${table} WHERE sk = ${SK_NAMED} AND ts >= @from AND ts < @to
   GROUP BY bucket_ts`;

/** `columns` of one key's raw points in a range from both tables, as one compound SELECT (named parameters). */
const bothTables = (columns: string, where: string) =>
  `SELECT ${columns} FROM points WHERE ${where} UNION ALL SELECT ${columns} FROM recent_points WHERE ${where}`;

/** The finest rollup: a fold sums the recent points into its buckets once, the coarser ones from those. */
const FINEST = ROLLUPS[ROLLUPS.length - 1];

/**
 * A fold's first step: the recent points of a range of series keys summed per
 * finest bucket in SQL (no row reaches JS) into a temporary table, which the
 * rollups and the latest values are then written from. Buckets start as
 * bucketStart() says, negative times too.
 */
const SUM_RECENT = `
  INSERT INTO temp.fold_buckets (sk, bucket_ts, n, nn, sum_v, min_v, max_v, first_ts, last_ts)
  SELECT sk, ts - (((ts % ${FINEST.ms}) + ${FINEST.ms}) % ${FINEST.ms}) AS bucket_ts, count(*), count(value_num),
         total(value_num), min(value_num), max(value_num), min(ts), max(ts)
    FROM recent_points WHERE sk >= @from AND sk < @to GROUP BY sk, bucket_ts`;

/**
 * The summed buckets added to one rollup table, merged into the stored rows as
 * a write's deltas are; the first and last values looked up by their times.
 */
const FOLD_INTO_ROLLUP = Object.fromEntries(
  ROLLUPS.map(({ table, ms }) => [
    table,
    `INSERT INTO ${table} AS r (${ROLLUP_COLUMNS})
     SELECT s.series_id, s.key, g.bucket_ts, g.n, g.nn, g.sum_v, g.min_v, g.max_v,
            g.first_ts, f.value_type, f.value_num, f.value_text, g.last_ts, l.value_type, l.value_num, l.value_text
       FROM (SELECT sk, bucket_ts - (((bucket_ts % ${ms}) + ${ms}) % ${ms}) AS bucket_ts, sum(n) AS n, sum(nn) AS nn,
                    total(sum_v) AS sum_v, min(min_v) AS min_v, max(max_v) AS max_v,
                    min(first_ts) AS first_ts, max(last_ts) AS last_ts
               FROM temp.fold_buckets GROUP BY sk, 2) AS g
       JOIN series_keys AS s ON s.id = g.sk
       JOIN recent_points AS f ON f.sk = g.sk AND f.ts = g.first_ts
       JOIN recent_points AS l ON l.sk = g.sk AND l.ts = g.last_ts
      WHERE true
     ON CONFLICT (series_id, key, bucket_ts) DO UPDATE SET ${ROLLUP_MERGE}`,
  ]),
) as Record<RollupTable, string>;

/** Each summed key's newest recent point: the time (max, so the row is the one at it). */
const NEWEST_SUMMED = 'SELECT sk, max(last_ts) AS ts FROM temp.fold_buckets GROUP BY sk';

/** The summed keys' latest values brought up to date: each key's newest recent point, where it is newer. */
const FOLD_INTO_LATEST = `
  UPDATE latest AS l SET ts = n.ts, value_type = n.value_type, value_num = n.value_num, value_text = n.value_text
    FROM (SELECT s.series_id, s.key, r.ts, r.value_type, r.value_num, r.value_text
            FROM (${NEWEST_SUMMED}) AS m
            JOIN recent_points AS r ON r.sk = m.sk AND r.ts = m.ts
            JOIN series_keys AS s ON s.id = m.sk) AS n
   WHERE l.series_id = n.series_id AND l.key = n.key AND n.ts >= l.ts`;

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
 * SqliteFile syncs the WAL) when its promise resolves. A write's points wait in
 * recent_points until a fold (see "Recent points" above) adds them to their
 * rollup buckets and moves them; a replaced folded point instead rebuilds its
 * buckets from the raw points, as does retention for the bucket the cutoff
 * falls in.
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
  /** Per series key id, what the write path knows of it (read on first use). */
  private keyStates = new Map<number, KeyState>();
  /** Keys with foldKeyAtPoints recent points, to be folded alone (write() does at once). */
  private hotKeys: number[] = [];
  private recentCount: number;
  /** Where the running fold goes on: the next series key id to move. */
  private foldFrom = 0;
  /** The next fold step when one is scheduled: cancels it. */
  private foldScheduled: (() => void) | undefined;
  private readonly foldAt: number;
  private readonly foldKeyAt: number;
  private readonly foldStepPoints: number;
  private readonly directAt: number;
  /** A failing fold is logged once, and its recovery, not each retry. */
  private readonly folds: FailureStreak;

  private constructor(
    private readonly file: SqliteFile,
    opts: SqliteTelemetryStoreOptions,
  ) {
    this.foldAt = opts.foldAtPoints ?? FOLD_AT_POINTS;
    this.foldKeyAt = opts.foldKeyAtPoints ?? FOLD_KEY_AT_POINTS;
    this.foldStepPoints = opts.foldStepPoints ?? FOLD_STEP_POINTS;
    this.directAt = opts.directAtPoints ?? DIRECT_AT_POINTS;
    this.folds = new FailureStreak(opts.logger, 'telemetry fold failed; retrying', 'telemetry folds again');
    this.recentCount = file.statement('SELECT count(*) FROM recent_points').pluck().get() as number;
    // Per connection, in memory or a temporary file: a fold's sums, never part of the database.
    file.db.exec(`CREATE TEMP TABLE fold_buckets (
      sk INTEGER NOT NULL, bucket_ts INTEGER NOT NULL, n INTEGER NOT NULL, nn INTEGER NOT NULL, sum_v REAL NOT NULL,
      min_v REAL, max_v REAL, first_ts INTEGER NOT NULL, last_ts INTEGER NOT NULL,
      PRIMARY KEY (sk, bucket_ts)) WITHOUT ROWID`);
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
      opts,
    );
  }

  write(points: readonly DataPoint[]): Promise<void> {
    return this.file.write('write telemetry', () => {
      checkPoints(points);
      if (points.length === 0) return;
      try {
        // Equal points of one batch need no sorting out: the later one replaces the earlier in either table.
        this.db.transaction(() => this.writeTx(points)).immediate();
      } catch (err) {
        this.forgetIds();
        throw err;
      }
      this.foldHotKeys();
      this.scheduleFold();
    });
  }

  latest(seriesId: string, keys?: string[]): Promise<LatestValue[]> {
    return this.file.run('read latest values', () => this.readLatest(seriesId, keys));
  }

  private readLatest(seriesId: string, keys?: string[]): LatestValue[] {
    const stored = keys?.length
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
    // The latest table is brought up to date by the folds: a newer recent point wins.
    const recent = new Map(
      this.all<PointRow>(
        `SELECT s.key, r.ts, r.value_type, r.value_num, r.value_text
           FROM (SELECT sk, max(ts) AS ts FROM recent_points
                  WHERE sk IN (SELECT id FROM series_keys WHERE series_id = ?) GROUP BY sk) AS m
           JOIN recent_points AS r ON r.sk = m.sk AND r.ts = m.ts
           JOIN series_keys AS s ON s.id = m.sk`,
        seriesId,
      ).map((r) => [r.key, r]),
    );
    return stored.map((row) => {
      const newer = recent.get(row.key);
      const r = newer && newer.ts >= row.ts ? newer : row;
      return { key: r.key, ts: r.ts, value: pointValue(r) };
    });
  }

  keys(seriesId: string): Promise<string[]> {
    return this.file.run('list keys', () => this.seriesKeys(seriesId));
  }

  query(q: RangeQuery): Promise<{ points: DataPoint[]; next?: string }> {
    return this.file.run('query telemetry', () => this.readPage(q));
  }

  private readPage(q: RangeQuery): { points: DataPoint[]; next?: string } {
    checkRange(q.from, q.to);
    const limit = pageLimit(q.limit);
    const desc = q.order === 'desc';
    const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    // Each key's points are one contiguous run of the primary key (series, key, ts): read the
    // page's worth of every key and merge them in (ts, key) order. A second index on (series, ts)
    // would serve this in one read, but it cost a third of the ingest's insert time.
    const dir = desc ? 'DESC' : 'ASC';
    const byKey = this.file.statement(
      `${bothTables('@key AS key, ts, value_type, value_num, value_text', `sk = ${SK_NAMED} AND ts >= @from AND ts < @to`)}
        ORDER BY ts ${dir} LIMIT @limit`,
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
    return pointsPage(rows, limit, q.seriesId, rows.length ? this.tenantOf(q.seriesId) : '');
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
          // The folded points, from the rollups where they serve...
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
                  : this.rawGroups('points', { ...params, ms: q.bucketMs }, withEnds);
              for (const r of rows) merger.add(key, r.bucket_ts, partialFromRow(r));
            }
          }
          // ...and the recent ones, which no rollup holds yet.
          for (const key of keys) {
            const params = { series: q.seriesId, key, from: q.from, to: q.to, ms: q.bucketMs };
            for (const r of this.rawGroups('recent_points', params, withEnds)) {
              merger.add(key, r.bucket_ts, partialFromRow(r));
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
            const sk = this.findSeriesKeyId(t.series_id, t.key);
            if (sk === undefined) continue;
            // Latest values are kept: the recent points about to go may hold the newest.
            this.sumRecent({ from: sk, to: sk + 1 });
            this.exec(FOLD_INTO_LATEST);
            const n = this.exec('DELETE FROM points WHERE sk = ? AND ts < ?', sk, before);
            // Recent points are in no rollup: they just go.
            removed += n + this.exec('DELETE FROM recent_points WHERE sk = ? AND ts < ?', sk, before);
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
          let removed = 0;
          for (const table of ['points', 'recent_points'] satisfies PointTable[]) {
            removed += this.exec(
              `DELETE FROM ${table} WHERE sk IN (SELECT id FROM series_keys WHERE series_id = ?)`,
              seriesId,
            );
          }
          this.exec('DELETE FROM series_keys WHERE series_id = ?', seriesId);
          this.forgetIds();
          for (const r of ROLLUPS) this.exec(`DELETE FROM ${r.table} WHERE series_id = ?`, seriesId);
          this.exec('DELETE FROM latest WHERE series_id = ?', seriesId);
          return removed;
        })
        .immediate(),
    );
  }

  /** Folds every recent point now (tests, and the bench's store measurement). */
  foldRecent(): Promise<void> {
    return this.file.write('fold recent telemetry', () => {
      this.foldFrom = 0;
      while (this.foldStep());
      this.foldFrom = 0;
      this.hotKeys = [];
      this.recentCount = 0;
    });
  }

  close(): Promise<void> {
    this.foldScheduled?.();
    this.foldScheduled = undefined;
    return this.file.close();
  }

  private writeTx(points: readonly DataPoint[]): void {
    const insert = this.file.statement(
      `INSERT INTO recent_points (sk, ts, value_type, value_num, value_text) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (sk, ts) DO UPDATE SET value_type = excluded.value_type, value_num = excluded.value_num,
         value_text = excluded.value_text`,
    );
    const replaceFolded = this.file.statement(
      'UPDATE points SET value_type = ?, value_num = ?, value_text = ? WHERE sk = ? AND ts = ?',
    );
    const replaced: DataPoint[] = [];
    // Latest values are written by the folds, except for a key new to this process (its row must
    // exist: keys() and retention list a series' keys there) and a replaced folded point.
    const firstSeen: DataPoint[] = [];
    const sks = points.map((p) => {
      let sk = this.seriesKeyIds.get(p.seriesId, p.key);
      if (sk === undefined) {
        sk = this.seriesKeyId(p.seriesId, p.key);
        firstSeen.push(p);
      }
      return sk;
    });
    const direct = this.directKeys(points, sks);
    const folded: FoldedRow[] = [];
    points.forEach((p, i) => {
      const sk = sks[i];
      if (direct.has(sk)) {
        folded.push({ p, sk });
        return;
      }
      const v = encodeValue(p.value);
      const state = this.keyState(sk);
      if (p.ts <= state.newestFolded && replaceFolded.run(v.type, v.num, v.text, sk, p.ts).changes > 0) {
        replaced.push(p);
      } else {
        insert.run(sk, p.ts, v.type, v.num, v.text);
        this.recentCount++;
        state.newestRecent = Math.max(state.newestRecent, p.ts);
        if (++state.recent === this.foldKeyAt) this.hotKeys.push(sk);
      }
    });
    if (folded.length > 0) this.writeFolded(folded);
    for (const p of newestPerSeriesKey(firstSeen.length ? [...firstSeen, ...replaced] : replaced)) {
      this.upsertLatest(p);
    }
    // A replaced folded point's buckets are rebuilt from the points; recent points reach the rollups in the fold.
    if (replaced.length > 0) {
      const ids = new Set(replaced.map((p) => pointId(p.seriesId, p.key, p.ts)));
      for (const b of rollupChanges(replaced, ids).dirty) this.rebuild(b);
    }
  }

  /**
   * The keys of a write that bring `directAt` points or more, all newer than
   * any point the key has: their points skip recent_points (writeFolded).
   */
  private directKeys(points: readonly DataPoint[], sks: readonly number[]): Set<number> {
    const direct = new Set<number>();
    if (points.length < this.directAt) return direct;
    const perKey = new Map<number, { n: number; oldest: number }>();
    points.forEach((p, i) => {
      const k = perKey.get(sks[i]);
      if (k === undefined) perKey.set(sks[i], { n: 1, oldest: p.ts });
      else {
        k.n++;
        k.oldest = Math.min(k.oldest, p.ts);
      }
    });
    for (const [sk, { n, oldest }] of perKey) {
      if (n < this.directAt) continue;
      // A point is in one table only: only points newer than any it has go straight.
      const state = this.keyState(sk);
      if (oldest > Math.max(state.newestFolded, state.newestRecent)) direct.add(sk);
    }
    return direct;
  }

  /**
   * Points written as a fold would write them: into points, their rollup
   * buckets and the latest values, at once. Of equal points (same key and
   * time) the later one wins, as in recent_points.
   */
  private writeFolded(rows: FoldedRow[]): void {
    rows.sort((a, b) => a.sk - b.sk || a.p.ts - b.p.ts); // stable: equal points keep their order
    const unique = rows.filter(
      (r, i) => i + 1 === rows.length || rows[i + 1].sk !== r.sk || rows[i + 1].p.ts !== r.p.ts,
    );
    const insert = this.file.statement(
      'INSERT INTO points (sk, ts, value_type, value_num, value_text) VALUES (?, ?, ?, ?, ?)',
    );
    for (const { p, sk } of unique) {
      const v = encodeValue(p.value);
      insert.run(sk, p.ts, v.type, v.num, v.text);
      const state = this.keyState(sk);
      state.newestFolded = Math.max(state.newestFolded, p.ts);
    }
    const points = unique.map((r) => r.p);
    for (const level of rollupChanges(points, NONE_REPLACED).deltas) {
      for (const d of level) this.upsertRollup(d.table).run(...rollupValues(d));
    }
    for (const p of newestPerSeriesKey(points)) this.upsertLatest(p);
  }

  /** The key's latest value becomes this point, unless it has a newer one. */
  private upsertLatest(p: DataPoint): void {
    const v = encodeValue(p.value);
    this.file
      .statement(
        `INSERT INTO latest (series_id, key, tenant_id, ts, value_type, value_num, value_text)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (series_id, key) DO UPDATE SET tenant_id = excluded.tenant_id, ts = excluded.ts,
           value_type = excluded.value_type, value_num = excluded.value_num, value_text = excluded.value_text
         WHERE excluded.ts >= latest.ts`,
      )
      .run(p.seriesId, p.key, p.tenantId, p.ts, v.type, v.num, v.text);
  }

  /** Fills temp.fold_buckets with the recent points of the series keys in [from, to). */
  private sumRecent(range: { from: number; to: number }): void {
    this.exec('DELETE FROM temp.fold_buckets');
    this.exec(SUM_RECENT, range);
  }

  private keyState(sk: number): KeyState {
    let state = this.keyStates.get(sk);
    if (state === undefined) {
      const newest = this.file.statement('SELECT max(ts) FROM points WHERE sk = ?').pluck().get(sk) as
        number | null;
      // Points left recent by an earlier run (or a failed fold) count too.
      const recent = this.file
        .statement('SELECT count(*) AS n, max(ts) AS newest FROM recent_points WHERE sk = ?')
        .get(sk) as { n: number; newest: number | null };
      state = {
        newestFolded: newest ?? Number.NEGATIVE_INFINITY,
        recent: recent.n,
        newestRecent: recent.newest ?? Number.NEGATIVE_INFINITY,
      };
      this.keyStates.set(sk, state);
      if (recent.n >= this.foldKeyAt) this.hotKeys.push(sk);
    }
    return state;
  }

  /** After a rollback or a removed series: ids and key states are read again as needed. */
  private forgetIds(): void {
    this.seriesKeyIds = new SeriesKeyMap<number>();
    this.keyStates = new Map<number, KeyState>();
    this.hotKeys = [];
  }

  /**
   * Schedules the next fold step while there is one to do: a busy key alone,
   * or the next range of a fold of every key (one starts at foldAtPoints).
   * One step per turn of the event loop.
   */
  private scheduleFold(): void {
    if (this.foldScheduled !== undefined) return;
    if (this.hotKeys.length > 0 || this.foldFrom > 0 || this.recentCount >= this.foldAt) this.foldSoon();
  }

  /** The next step in the next turn of the event loop, after the I/O that waits. */
  private foldSoon(): void {
    const next = setImmediate(() => this.foldNext());
    this.foldScheduled = () => clearImmediate(next);
  }

  /**
   * Folds the keys this write made busy, before it returns: a loop of writes
   * that never yields to the event loop must not pile up one key's points.
   * A failure is logged and left to the scheduled fold.
   */
  private foldHotKeys(): void {
    try {
      while (this.foldHotKey());
    } catch (err) {
      this.folds.failed(err);
    }
  }

  private foldNext(): void {
    this.foldScheduled = undefined;
    if (!this.db.open) return;
    try {
      if (!this.foldHotKey() && !this.foldStep()) {
        // Through: the count is exact again (a write replacing a recent point counted it twice).
        this.foldFrom = 0;
        this.recentCount = this.file.statement('SELECT count(*) FROM recent_points').pluck().get() as number;
      }
    } catch (err) {
      this.forgetIds();
      this.folds.failed(err);
      const retry = setTimeout(() => this.foldNext(), FOLD_RETRY_MS);
      this.foldScheduled = () => clearTimeout(retry);
      return;
    }
    this.scheduleFold();
  }

  /** Folds one busy key, if there is one; it stays listed if its fold fails. */
  private foldHotKey(): boolean {
    const sk = this.hotKeys.at(-1);
    if (sk === undefined) return false;
    this.foldRange(sk, sk + 1);
    this.hotKeys.pop();
    return true;
  }

  /**
   * Moves the recent points of the next range of series keys (about
   * foldStepPoints of them, never part of a key) into points and the rollups,
   * in one transaction. Returns whether keys remain after the range.
   */
  private foldStep(): boolean {
    const from = this.file
      .statement('SELECT min(sk) FROM recent_points WHERE sk >= ?')
      .pluck()
      .get(this.foldFrom) as number | null;
    if (from === null) return false;
    const next = this.file
      .statement('SELECT sk FROM recent_points WHERE sk >= ? ORDER BY sk LIMIT 1 OFFSET ?')
      .pluck()
      .get(from, this.foldStepPoints) as number | undefined;
    // One key with more points than a step goes whole.
    const to = next === undefined ? LAST_SK : Math.max(next, from + 1);
    this.foldRange(from, to);
    this.foldFrom = to;
    return to !== LAST_SK;
  }

  /** Moves the recent points of the series keys in [from, to) into points, the rollups and the latest values. */
  private foldRange(from: number, to: number): void {
    let newest: { sk: number; ts: number }[] = [];
    this.db
      .transaction(() => {
        const range = { from, to };
        this.sumRecent(range);
        for (const r of ROLLUPS) this.exec(FOLD_INTO_ROLLUP[r.table]);
        this.exec(FOLD_INTO_LATEST);
        newest = this.all(NEWEST_SUMMED);
        this.exec(
          `INSERT INTO points (sk, ts, value_type, value_num, value_text)
           SELECT sk, ts, value_type, value_num, value_text FROM recent_points WHERE sk >= @from AND sk < @to`,
          range,
        );
        this.recentCount -= this.exec('DELETE FROM recent_points WHERE sk >= @from AND sk < @to', range);
      })
      .immediate();
    this.folds.succeeded();
    for (const { sk, ts } of newest) {
      const state = this.keyStates.get(sk);
      // The fold moved every recent point of these keys.
      if (state === undefined)
        this.keyStates.set(sk, { newestFolded: ts, recent: 0, newestRecent: Number.NEGATIVE_INFINITY });
      else {
        state.newestFolded = Math.max(ts, state.newestFolded);
        state.recent = 0;
        state.newestRecent = Number.NEGATIVE_INFINITY;
      }
    }
  }

  private findSeriesKeyId(seriesId: string, key: string): number | undefined {
    return this.file
      .statement('SELECT id FROM series_keys WHERE series_id = ? AND key = ?')
      .pluck()
      .get(seriesId, key) as number | undefined;
  }

  /** The id of a series key, made on its first point (inside the write's transaction). */
  private seriesKeyId(seriesId: string, key: string): number {
    let id = this.seriesKeyIds.get(seriesId, key);
    if (id === undefined) {
      id = (this.findSeriesKeyId(seriesId, key) ??
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
    table: PointTable,
    params: { series: string; key: string; from: number; to: number; ms: number },
    withEnds: boolean,
  ): RollupRow[] {
    if (!withEnds) {
      return this.all<RollupRow>(
        `SELECT g.*, 0 AS first_type, 0 AS first_num, NULL AS first_text,
                0 AS last_type, 0 AS last_num, NULL AS last_text FROM (${rawGroup(table)}) AS g`,
        params,
      );
    }
    // The first and last values: one primary-key lookup each per bucket.
    return this.all<RollupRow>(
      `SELECT g.*, f.value_type AS first_type, f.value_num AS first_num, f.value_text AS first_text,
              l.value_type AS last_type, l.value_num AS last_num, l.value_text AS last_text
         FROM (${rawGroup(table)}) AS g
         JOIN ${table} AS f ON f.sk = ${SK_NAMED} AND f.ts = g.first_ts
         JOIN ${table} AS l ON l.sk = ${SK_NAMED} AND l.ts = g.last_ts`,
      params,
    );
  }

  /** How many points the keys have in [from, to), from the rollups where they cover it. */
  private countPoints(seriesId: string, keys: readonly string[], from: number, to: number): number {
    let n = 0;
    for (const key of keys) {
      n += this.file
        .statement(`SELECT count(*) FROM recent_points WHERE sk = ${SK} AND ts >= ? AND ts < ?`)
        .pluck()
        .get(seriesId, key, from, to) as number;
    }
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
           ${bothTables('ts, value_num', `sk = ${SK_NAMED} AND ts >= @from AND ts < @to`)} ORDER BY ts)`,
        )
        .get({ series: seriesId, key, from, to });
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

/** What the write path keeps per series key id. */
interface KeyState {
  /** The newest ts among its folded points (an upper bound after retention): a newer point cannot replace one. */
  newestFolded: number;
  /** Its points written to recent_points since its last fold. */
  recent: number;
  /** The newest ts among its recent points (an upper bound after retention). */
  newestRecent: number;
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
