import type { Migration } from '../../store/sqlite/migrations.js';

/**
 * The telemetry schema in its own file (telemetry.db, its own PRAGMA
 * user_version), run through the shared runner (store/sqlite/migrations.ts).
 * Append-only. The PostgreSQL schema (../postgres/migrations.ts) mirrors it.
 *
 * Points are WITHOUT ROWID tables clustered on (series_id, key, ts): a key's
 * range is one contiguous read. A series' points across keys are merged from
 * those runs (v2 dropped the index on (series_id, ts) that served them: it
 * cost a third of the insert time).
 */
export const TELEMETRY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'telemetry: points, latest values, 1-minute and 1-hour rollups',
    up(db) {
      const rollup = (name: string) => `
        CREATE TABLE ${name} (
          series_id  TEXT NOT NULL,
          key        TEXT NOT NULL,
          bucket_ts  INTEGER NOT NULL,
          n          INTEGER NOT NULL,
          nn         INTEGER NOT NULL,
          sum_v      REAL NOT NULL,
          min_v      REAL,
          max_v      REAL,
          first_ts   INTEGER NOT NULL,
          first_type INTEGER NOT NULL,
          first_num  REAL,
          first_text TEXT,
          last_ts    INTEGER NOT NULL,
          last_type  INTEGER NOT NULL,
          last_num   REAL,
          last_text  TEXT,
          PRIMARY KEY (series_id, key, bucket_ts)
        ) WITHOUT ROWID;`;
      db.exec(`
        CREATE TABLE points (
          series_id  TEXT NOT NULL,
          key        TEXT NOT NULL,
          ts         INTEGER NOT NULL,
          value_type INTEGER NOT NULL,
          value_num  REAL,
          value_text TEXT,
          PRIMARY KEY (series_id, key, ts)
        ) WITHOUT ROWID;
        CREATE INDEX points_series_ts ON points (series_id, ts);

        CREATE TABLE latest (
          series_id  TEXT NOT NULL,
          key        TEXT NOT NULL,
          tenant_id  TEXT NOT NULL,
          ts         INTEGER NOT NULL,
          value_type INTEGER NOT NULL,
          value_num  REAL,
          value_text TEXT,
          PRIMARY KEY (series_id, key)
        ) WITHOUT ROWID;
        CREATE INDEX latest_tenant ON latest (tenant_id, key);
        ${rollup('rollup_1m')}
        ${rollup('rollup_1h')}
      `);
    },
  },
  {
    version: 2,
    description: "telemetry: drop the points index on (series_id, ts); range reads merge the keys' runs",
    up(db) {
      db.exec('DROP INDEX IF EXISTS points_series_ts');
    },
  },
];
