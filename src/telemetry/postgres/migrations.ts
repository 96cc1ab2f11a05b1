import type { Pool } from 'pg';
import { migratePostgres, type PgMigration } from '../../store/postgres-migrate.js';

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
  {
    version: 2,
    description: 'telemetry: room on the pages of latest values and rollups for in-place (HOT) updates',
    // Every batch updates a row per (series, key) in each of these tables. With
    // free space on its page an update stays there (a heap-only tuple) instead
    // of writing a new row elsewhere plus a new entry in every index. Applies to
    // pages written from now on.
    up: (client) =>
      client.query(
        ['telemetry_latest', 'telemetry_rollup_1m', 'telemetry_rollup_1h']
          .map((t) => `ALTER TABLE ${t} SET (fillfactor = 50);`)
          .join('\n'),
      ),
  },
];

/** The telemetry schema's steps, recorded in halyard_telemetry_migrations. */
export async function migrateTelemetry(
  pool: Pool,
  migrations: readonly PgMigration[] = TELEMETRY_PG_MIGRATIONS,
): Promise<{ from: number; to: number }> {
  const { from, to } = await migratePostgres(pool, migrations, 'halyard_telemetry_migrations');
  return { from, to };
}
