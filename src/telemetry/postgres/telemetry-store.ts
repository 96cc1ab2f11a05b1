import pg from 'pg';
import type { PoolClient } from 'pg';
import { HalyardError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import {
  inTransaction,
  openMigratedPool,
  pgStoreError,
  type RegistryPool,
} from '../../registry/postgres/pool.js';
import type { Bucket, DataPoint, LatestValue } from '../model.js';
import { checkRange, decodeCursor, encodeValue, pageLimit, sortedUniquePoints } from '../sql/codec.js';
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
  type RollupDelta,
  type RollupTable,
} from '../sql/rollups.js';
import { partialFromRow, pointsPage, pointValue, rollupValues } from '../sql/rows.js';
import { ROLLUP_COLUMNS, ROLLUP_MERGE, type PointRow, type RollupRow } from '../sql/schema.js';
import type { AggregateQuery, DeleteScope, RangeQuery, TelemetryStore } from '../store.js';
import { newestPerSeriesKey } from '../sql/series-key-map.js';
import { migrateTelemetry } from './migrations.js';

export interface PostgresTelemetryStoreOptions {
  /** Connections in the pool; default 10. */
  poolSize?: number;
  logger?: Logger;
}

/** The tables carry a prefix here: the database is shared with the registry. */
const table = (name: RollupTable | 'points' | 'latest') => `telemetry_${name}`;

const ROLLUP_TYPES = [
  'text',
  'text',
  'bigint',
  'int',
  'int',
  'float8',
  'float8',
  'float8',
  'bigint',
  'smallint',
  'float8',
  'text',
  'bigint',
  'smallint',
  'float8',
  'text',
];

/** `unnest($n+1::t1[], $n+2::t2[], …)`: many rows in one statement, one array per column. */
const unnest = (types: readonly string[], after = 0) =>
  `unnest(${types.map((t, i) => `$${after + i + 1}::${t}[]`).join(', ')})`;

/**
 * A numeric column as an array literal. pg would quote and escape every
 * element of a JS array; for numbers a join does, at a fraction of the cost.
 */
const numbers = (values: readonly (number | null)[]): string =>
  `{${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`;

/** Rollup rows → one array per column (ROLLUP_TYPES), numeric ones as literals. */
function rollupColumns(deltas: readonly RollupDelta[]): unknown[] {
  const cols: (string | number | null)[][] = ROLLUP_TYPES.map(() => []);
  for (const d of deltas) rollupValues(d).forEach((v, i) => cols[i].push(v as string | number | null));
  return cols.map((col, i) => (ROLLUP_TYPES[i] === 'text' ? col : numbers(col as (number | null)[])));
}

const NO_REPLACED: ReadonlySet<string> = new Set();

/** The requested keys ($2), or (null) every key of the series. */
const KEYS = 'coalesce($2::text[], ARRAY(SELECT key FROM telemetry_latest WHERE series_id = $1))';

/** What every part of an aggregate's statement returns, in one order (plus med). */
const AGGREGATE_COLUMNS =
  'key, bucket_ts, n, nn, sum_v, min_v, max_v, first_ts, first_type, first_num, first_text, last_ts, last_type, last_num, last_text';

const RAW_GROUP = `
  SELECT key, ts - (ts % BUCKET_MS) AS bucket_ts, count(*) AS n, count(value_num) AS nn,
         coalesce(sum(value_num), 0) AS sum_v, min(value_num) AS min_v, max(value_num) AS max_v,
         min(ts) AS first_ts, max(ts) AS last_ts, EXTRA
    FROM telemetry_points WHERE series_id = $1 AND key = ANY(${KEYS}) AND ts >= FROM AND ts < TO
   GROUP BY key, bucket_ts`;

/**
 * Telemetry in PostgreSQL. A write is one transaction of a few multi-row
 * statements (points, latest, rollups); a point that replaces a stored one is
 * told apart by its row's xmax, and its rollup buckets are rebuilt from the raw
 * points. Rows are written in a fixed order so concurrent writers lock alike.
 */
export class PostgresTelemetryStore implements TelemetryStore {
  readonly dialect = 'postgres' as const;

  private constructor(private readonly connections: RegistryPool) {}

  static async open(url: string, opts: PostgresTelemetryStoreOptions = {}): Promise<PostgresTelemetryStore> {
    const connections = await openMigratedPool(
      url,
      { name: 'telemetry', migrate: migrateTelemetry },
      { size: opts.poolSize, logger: opts.logger },
    );
    return new PostgresTelemetryStore(connections);
  }

  private get pool(): pg.Pool {
    return this.connections.pool;
  }

  write(points: readonly DataPoint[]): Promise<void> {
    return this.run('write telemetry', async () => {
      const unique = sortedUniquePoints(points);
      if (unique.length === 0) return;
      await this.tx((c) => this.writeTx(c, unique));
    });
  }

  latest(seriesId: string, keys?: string[]): Promise<LatestValue[]> {
    return this.run('read latest values', async () => {
      const filter = keys?.length ? 'AND key = ANY($2)' : '';
      const { rows } = await this.pool.query<PointRow>(
        `SELECT key, ts, value_type, value_num, value_text FROM telemetry_latest
          WHERE series_id = $1 ${filter} ORDER BY key`,
        keys?.length ? [seriesId, keys] : [seriesId],
      );
      return rows.map((r) => ({ key: r.key, ts: r.ts, value: pointValue(r) }));
    });
  }

  keys(seriesId: string): Promise<string[]> {
    return this.run('list keys', () => this.seriesKeys(this.pool, seriesId));
  }

  query(q: RangeQuery): Promise<{ points: DataPoint[]; next?: string }> {
    return this.run('query telemetry', async () => {
      checkRange(q.from, q.to);
      const limit = pageLimit(q.limit);
      const desc = q.order === 'desc';
      const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
      const params: unknown[] = [q.seriesId, q.from, q.to, limit + 1];
      const where = ['series_id = $1', 'ts >= $2', 'ts < $3'];
      if (q.keys?.length) where.push(`key = ANY($${params.push(q.keys)})`);
      if (cursor) {
        const ts = params.push(cursor.ts);
        const key = params.push(cursor.key);
        where.push(desc ? `(ts, key) < ($${ts}, $${key})` : `(ts, key) > ($${ts}, $${key})`);
      }
      const dir = desc ? 'DESC' : 'ASC';
      const { rows } = await this.pool.query<PointRow>(
        `SELECT key, ts, value_type, value_num, value_text FROM telemetry_points WHERE ${where.join(' AND ')}
          ORDER BY ts ${dir}, key ${dir} LIMIT $4`,
        params,
      );
      return pointsPage(rows, limit, q.seriesId, rows.length ? await this.tenantOf(q.seriesId) : '');
    });
  }

  aggregate(q: AggregateQuery): Promise<Bucket[]> {
    return this.run('aggregate telemetry', async () => {
      checkRange(q.from, q.to);
      if (!Number.isSafeInteger(q.bucketMs) || q.bucketMs < 1000) {
        throw new HalyardError('INVALID_INPUT', 'bucketMs must be an integer of at least 1000', {
          field: 'bucketMs',
        });
      }
      const segments = planAggregate(q.fn, q.from, q.to, q.bucketMs);
      if (segments.length === 0) return [];
      if (q.fn === 'median') checkMedianPoints(await this.countPoints(q));
      // One statement for every segment (and the key list): one round trip and
      // one snapshot, instead of a transaction of several queries.
      const params: unknown[] = [q.seriesId, q.keys.length ? q.keys : null];
      let bucketMs: string | undefined;
      const parts = segments.map((s) => {
        const from = `$${params.push(s.from)}`;
        const to = `$${params.push(s.to)}`;
        return s.source === 'rollup'
          ? `SELECT ${AGGREGATE_COLUMNS}, NULL::float8 AS med FROM ${table(s.table)}
              WHERE series_id = $1 AND key = ANY(${KEYS}) AND bucket_ts >= ${from} AND bucket_ts < ${to}`
          : `SELECT ${AGGREGATE_COLUMNS}, med FROM (${rawGroupSql(q.fn, from, to, (bucketMs ??= `$${params.push(q.bucketMs)}`))}) AS g`;
      });
      const { rows } = await this.pool.query<RollupRow & { key: string; med: number | null }>(
        parts.join('\nUNION ALL\n'),
        params,
      );
      const merger = new BucketMerger(q.bucketMs);
      for (const r of rows) {
        merger.add(r.key, r.bucket_ts, partialFromRow(r));
        if (typeof r.med === 'number') merger.addValue(r.key, r.bucket_ts, r.med);
      }
      return merger.result(q.fn);
    });
  }

  deleteBefore(scope: DeleteScope, before: number): Promise<number> {
    return this.run('delete old telemetry', () =>
      this.tx(async (c) => {
        const filter = scope.key === undefined ? '' : 'AND key = $2';
        const { rows: targets } = await c.query<{ series_id: string; key: string }>(
          `SELECT series_id, key FROM telemetry_latest WHERE tenant_id = $1 ${filter} ORDER BY series_id, key`,
          scope.key === undefined ? [scope.tenantId] : [scope.tenantId, scope.key],
        );
        let removed = 0;
        for (const t of targets) {
          if (scope.exceptKeys?.includes(t.key)) continue;
          const n =
            (
              await c.query('DELETE FROM telemetry_points WHERE series_id = $1 AND key = $2 AND ts < $3', [
                t.series_id,
                t.key,
                before,
              ])
            ).rowCount ?? 0;
          removed += n;
          for (const r of ROLLUPS) {
            const cut = bucketStart(before, r.ms);
            await c.query(
              `DELETE FROM ${table(r.table)} WHERE series_id = $1 AND key = $2 AND bucket_ts < $3`,
              [t.series_id, t.key, cut],
            );
            // The bucket the cutoff falls in keeps only its remaining points.
            if (n > 0 && cut < before) {
              await this.rebuild(c, {
                table: r.table,
                seriesId: t.series_id,
                key: t.key,
                bucketTs: cut,
                ms: r.ms,
              });
            }
          }
        }
        return removed;
      }),
    );
  }

  deleteSeries(seriesId: string): Promise<number> {
    return this.run('delete the series', () =>
      this.tx(async (c) => {
        const removed = (await c.query('DELETE FROM telemetry_points WHERE series_id = $1', [seriesId]))
          .rowCount;
        for (const r of ROLLUPS)
          await c.query(`DELETE FROM ${table(r.table)} WHERE series_id = $1`, [seriesId]);
        await c.query('DELETE FROM telemetry_latest WHERE series_id = $1', [seriesId]);
        return removed ?? 0;
      }),
    );
  }

  close(): Promise<void> {
    return this.connections.end();
  }

  /**
   * One statement writes the points, the latest values and every rollup's
   * deltas (a round trip and a plan per batch, not per table); buckets holding
   * a replaced point are rebuilt after it, in the same transaction.
   */
  private async writeTx(c: PoolClient, points: DataPoint[]): Promise<void> {
    const encoded = points.map((p) => encodeValue(p.value));
    const latest = newestPerSeriesKey(points);
    const latestValues = latest.map((p) => encodeValue(p.value));
    const { deltas } = rollupChanges(points, NO_REPLACED);
    const params: unknown[] = [
      points.map((p) => p.seriesId),
      points.map((p) => p.key),
      numbers(points.map((p) => p.ts)),
      numbers(encoded.map((v) => v.type)),
      numbers(encoded.map((v) => v.num)),
      encoded.map((v) => v.text),
      latest.map((p) => p.seriesId),
      latest.map((p) => p.key),
      latest.map((p) => p.tenantId),
      numbers(latest.map((p) => p.ts)),
      numbers(latestValues.map((v) => v.type)),
      numbers(latestValues.map((v) => v.num)),
      latestValues.map((v) => v.text),
    ];
    const rollupInserts = ROLLUPS.map(
      (r, i) => `${r.table} AS (
         INSERT INTO ${table(r.table)} AS r (${ROLLUP_COLUMNS})
         SELECT * FROM ${unnest(ROLLUP_TYPES, params.push(...rollupColumns(deltas[i])) - ROLLUP_TYPES.length)}
         ON CONFLICT (series_id, key, bucket_ts) DO UPDATE SET ${ROLLUP_MERGE})`,
    );
    // xmax is 0 on a freshly inserted row and set on one the conflict clause updated.
    const { rows: replacedRows } = await c.query<{ series_id: string; key: string; ts: number }>(
      `WITH ins AS (
         INSERT INTO telemetry_points (series_id, key, ts, value_type, value_num, value_text)
         SELECT * FROM ${unnest(['text', 'text', 'bigint', 'smallint', 'float8', 'text'])}
         ON CONFLICT (series_id, key, ts) DO UPDATE SET value_type = excluded.value_type,
           value_num = excluded.value_num, value_text = excluded.value_text
         RETURNING series_id, key, ts, xmax),
       latest AS (
         INSERT INTO telemetry_latest AS l (series_id, key, tenant_id, ts, value_type, value_num, value_text)
         SELECT * FROM ${unnest(['text', 'text', 'text', 'bigint', 'smallint', 'float8', 'text'], 6)}
         ON CONFLICT (series_id, key) DO UPDATE SET tenant_id = excluded.tenant_id, ts = excluded.ts,
           value_type = excluded.value_type, value_num = excluded.value_num, value_text = excluded.value_text
         WHERE excluded.ts >= l.ts),
       ${rollupInserts.join(',\n')}
       SELECT series_id, key, ts FROM ins WHERE xmax::text <> '0'`,
      params,
    );
    if (replacedRows.length === 0) return;
    // Rare (a point sent twice): the deltas above counted the new values on top
    // of the replaced ones, so those buckets are rebuilt from the points.
    const replaced = new Set(replacedRows.map((r) => pointId(r.series_id, r.key, r.ts)));
    for (const b of rollupChanges(points, replaced).dirty) await this.rebuild(c, b);
  }

  private async upsertRollups(
    c: PoolClient,
    name: RollupTable,
    deltas: readonly RollupDelta[],
  ): Promise<void> {
    await c.query(
      `INSERT INTO ${table(name)} AS r (${ROLLUP_COLUMNS}) SELECT * FROM ${unnest(ROLLUP_TYPES)}
       ON CONFLICT (series_id, key, bucket_ts) DO UPDATE SET ${ROLLUP_MERGE}`,
      rollupColumns(deltas),
    );
  }

  /** Rewrites one rollup bucket from the raw points in it (none: no row). */
  private async rebuild(c: PoolClient, b: DirtyBucket): Promise<void> {
    const where = 'series_id = $1 AND key = $2';
    await c.query(`DELETE FROM ${table(b.table)} WHERE ${where} AND bucket_ts = $3`, [
      b.seriesId,
      b.key,
      b.bucketTs,
    ]);
    const { rows } = await c.query<PointRow>(
      `SELECT key, ts, value_type, value_num, value_text FROM telemetry_points
        WHERE ${where} AND ts >= $3 AND ts < $4 ORDER BY ts`,
      [b.seriesId, b.key, b.bucketTs, b.bucketTs + b.ms],
    );
    let partial: Partial | undefined;
    for (const r of rows) {
      const p = partialOf(r.ts, pointValue(r));
      partial = partial ? mergeInto(partial, p) : p;
    }
    if (partial) await this.upsertRollups(c, b.table, [{ ...b, partial }]);
  }

  /** How many points the keys have in the range, from the rollups where they cover it. */
  private async countPoints(q: AggregateQuery): Promise<number> {
    const params: unknown[] = [q.seriesId, q.keys.length ? q.keys : null];
    const parts = countPlan(q.from, q.to).map((s) => {
      const range = `$${params.push(s.from)} AND ${s.source === 'rollup' ? 'bucket_ts' : 'ts'} < $${params.push(s.to)}`;
      return s.source === 'rollup'
        ? `SELECT sum(n) AS n FROM ${table(s.table)} WHERE series_id = $1 AND key = ANY(${KEYS}) AND bucket_ts >= ${range}`
        : `SELECT count(*) AS n FROM telemetry_points WHERE series_id = $1 AND key = ANY(${KEYS}) AND ts >= ${range}`;
    });
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT coalesce(sum(n), 0)::bigint AS n FROM (${parts.join(' UNION ALL ')}) AS parts`,
      params,
    );
    return rows[0].n;
  }

  private async seriesKeys(c: pg.Pool | PoolClient, seriesId: string): Promise<string[]> {
    const { rows } = await c.query<{ key: string }>(
      'SELECT key FROM telemetry_latest WHERE series_id = $1 ORDER BY key',
      [seriesId],
    );
    return rows.map((r) => r.key);
  }

  private async tenantOf(seriesId: string): Promise<string> {
    const { rows } = await this.pool.query<{ tenant_id: string }>(
      'SELECT tenant_id FROM telemetry_latest WHERE series_id = $1 LIMIT 1',
      [seriesId],
    );
    return rows[0]?.tenant_id ?? '';
  }

  private tx<T>(fn: (c: PoolClient) => Promise<T>, mode = ''): Promise<T> {
    return inTransaction(this.pool, fn, mode);
  }

  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw pgStoreError(`could not ${what}`, err);
    }
  }
}

/**
 * Raw points grouped into buckets; first/last values and the median only when
 * asked for. (First/last as ordered array_agg: a join back to the points by
 * (key, ts) made the planner loop over the points once per bucket.)
 */
function rawGroupSql(fn: AggregateQuery['fn'], from: string, to: string, bucketMs: string): string {
  const noEnds = `0 AS first_type, NULL::float8 AS first_num, NULL AS first_text,
                  0 AS last_type, NULL::float8 AS last_num, NULL AS last_text`;
  const extra =
    fn === 'median'
      ? `percentile_cont(0.5) WITHIN GROUP (ORDER BY value_num) AS med, ${noEnds}`
      : fn === 'first' || fn === 'last'
        ? ['type', 'num', 'text']
            .flatMap((c) => [
              `(array_agg(value_${c} ORDER BY ts))[1] AS first_${c}`,
              `(array_agg(value_${c} ORDER BY ts DESC))[1] AS last_${c}`,
            ])
            .join(', ')
        : noEnds;
  const med = fn === 'median' ? '' : 'NULL::float8 AS med, ';
  return RAW_GROUP.replace('EXTRA', med + extra)
    .replace('BUCKET_MS', bucketMs)
    .replace('EXTRA', extra)
    .replace('FROM AND', `${from} AND`)
    .replace('TO\n', `${to}\n`);
}
