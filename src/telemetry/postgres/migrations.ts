import type { Pool } from 'pg';
import { HalyardError } from '../../core/errors.js';
import type { PgMigration } from '../../registry/postgres/migrations.js';

/**
 * The telemetry schema in PostgreSQL, mirroring ../sqlite/migrations.ts with
 * BIGINT times and DOUBLE PRECISION values. Keys are COLLATE "C" so they sort
 * byte by byte as in SQLite. Append-only.
 */
export const TELEMETRY_PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: 'telemetry: points, latest values, 1-minute and 1-hour rollups',
    up: (client) => {
      const rollup = (name: string) => `
        CREATE TABLE ${name} (
          series_id  TEXT COLLATE "C" NOT NULL,
          key        TEXT COLLATE "C" NOT NULL,
          bucket_ts  BIGINT NOT NULL,
          n          INTEGER NOT NULL,
          nn         INTEGER NOT NULL,
          sum_v      DOUBLE PRECISION NOT NULL,
          min_v      DOUBLE PRECISION,
          max_v      DOUBLE PRECISION,
          first_ts   BIGINT NOT NULL,
          first_type SMALLINT NOT NULL,
          first_num  DOUBLE PRECISION,
          first_text TEXT,
          last_ts    BIGINT NOT NULL,
          last_type  SMALLINT NOT NULL,
          last_num   DOUBLE PRECISION,
          last_text  TEXT,
          PRIMARY KEY (series_id, key, bucket_ts)
        );`;
      return client.query(`
        CREATE TABLE telemetry_points (
          series_id  TEXT COLLATE "C" NOT NULL,
          key        TEXT COLLATE "C" NOT NULL,
          ts         BIGINT NOT NULL,
          value_type SMALLINT NOT NULL,
          value_num  DOUBLE PRECISION,
          value_text TEXT,
          PRIMARY KEY (series_id, key, ts)
        );
        CREATE INDEX telemetry_points_series_ts ON telemetry_points (series_id, ts, key);

        CREATE TABLE telemetry_latest (
          series_id  TEXT COLLATE "C" NOT NULL,
          key        TEXT COLLATE "C" NOT NULL,
          tenant_id  TEXT COLLATE "C" NOT NULL,
          ts         BIGINT NOT NULL,
          value_type SMALLINT NOT NULL,
          value_num  DOUBLE PRECISION,
          value_text TEXT,
          PRIMARY KEY (series_id, key)
        );
        CREATE INDEX telemetry_latest_tenant ON telemetry_latest (tenant_id, key);
        ${rollup('telemetry_rollup_1m')}
        ${rollup('telemetry_rollup_1h')}
      `);
    },
  },
];

/**
 * Like the registry's migratePostgres, but recorded in a table of its own: the
 * two schemas share a database and number their steps independently.
 */
export async function migrateTelemetry(
  pool: Pool,
  migrations: readonly PgMigration[] = TELEMETRY_PG_MIGRATIONS,
): Promise<{ from: number; to: number }> {
  const latest = migrations.at(-1)?.version ?? 0;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('halyard_telemetry_migrations'))`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS halyard_telemetry_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
    );
    const { rows } = await client.query<{ version: number }>(
      'SELECT version FROM halyard_telemetry_migrations',
    );
    const done = new Set(rows.map((r) => r.version));
    const from = Math.max(0, ...done);
    if (from > latest) {
      throw new HalyardError('STORE_FAILURE', 'the database was written by a newer Halyard', {
        schemaVersion: from,
        supported: latest,
      });
    }
    for (const m of migrations.filter((m) => !done.has(m.version))) {
      await m.up(client);
      await client.query('INSERT INTO halyard_telemetry_migrations (version, applied_at) VALUES ($1, $2)', [
        m.version,
        Date.now(),
      ]);
    }
    await client.query('COMMIT');
    return { from, to: latest };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
