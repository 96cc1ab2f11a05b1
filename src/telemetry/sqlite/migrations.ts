import type { Migration } from '../../store/sqlite/migrations.js';

/**
 * The telemetry schema in its own file (telemetry.db, its own PRAGMA
 * user_version), run through the shared runner (store/sqlite/migrations.ts).
 * Append-only. The PostgreSQL schema (../postgres/migrations.ts) mirrors it.
 *
 * Points are a WITHOUT ROWID table clustered on (series key, ts): a key's
 * range is one contiguous read. A series' points across keys are merged from
 * those runs (v2 dropped the index on (series_id, ts) that served them: it
 * cost a third of the insert time). Since v3 a series key is an integer id
 * (series_keys) rather than the two strings: smaller rows, cheaper compares.
 * Since v4 writes go to recent_points first and are folded into points and the
 * rollups in bulk (telemetry-store.ts, "Recent points").
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
  {
    version: 3,
    description: 'telemetry: points keyed by an integer id per series key (series_keys)',
    up(db) {
      // The old table is in (series_id, key, ts) order, so the ids come out in that order too and
      // the copy appends to the new table's B-tree.
      db.exec(`
        CREATE TABLE series_keys (
          id        INTEGER PRIMARY KEY,
          series_id TEXT NOT NULL,
          key       TEXT NOT NULL,
          UNIQUE (series_id, key)
        );
        INSERT INTO series_keys (series_id, key)
          SELECT series_id, key FROM points GROUP BY series_id, key ORDER BY series_id, key;
        CREATE TABLE points_by_id (
          sk         INTEGER NOT NULL,
          ts         INTEGER NOT NULL,
          value_type INTEGER NOT NULL,
          value_num  REAL,
          value_text TEXT,
          PRIMARY KEY (sk, ts)
        ) WITHOUT ROWID;
        INSERT INTO points_by_id (sk, ts, value_type, value_num, value_text)
          SELECT s.id, p.ts, p.value_type, p.value_num, p.value_text
            FROM points AS p JOIN series_keys AS s ON s.series_id = p.series_id AND s.key = p.key
           ORDER BY s.id, p.ts;
        DROP TABLE points;
        ALTER TABLE points_by_id RENAME TO points;
      `);
    },
  },
  {
    version: 4,
    description: 'telemetry: recent points wait in a small table and move into points in large sorted folds',
    up(db) {
      // The points table's shape, kept small: a write touches a few of its pages rather than one page
      // of points and of each rollup per series key (telemetry-store.ts, "Recent points").
      db.exec(`
        CREATE TABLE recent_points (
          sk         INTEGER NOT NULL,
          ts         INTEGER NOT NULL,
          value_type INTEGER NOT NULL,
          value_num  REAL,
          value_text TEXT,
          PRIMARY KEY (sk, ts)
        ) WITHOUT ROWID;
      `);
    },
  },
];
