import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { schemaVersion } from '../../store/sqlite/migrations.js';
import { describeTelemetryStoreConformance } from '../store.suite.js';
import { TELEMETRY_MIGRATIONS } from './migrations.js';
import { SqliteTelemetryStore } from './telemetry-store.js';

const tempDbPath = () => join(tempDir('halyard-telemetry-'), 'data', 'telemetry.db');

describeTelemetryStoreConformance('sqlite', () => {
  const path = tempDbPath();
  return Promise.resolve({
    store: SqliteTelemetryStore.open(path, { synchronous: 'normal' }),
    reopen: () => Promise.resolve(SqliteTelemetryStore.open(path)),
  });
});

describe('SqliteTelemetryStore', () => {
  it('opens in WAL mode at the latest schema', async () => {
    const path = tempDbPath();
    const store = SqliteTelemetryStore.open(path);
    assert.equal(store.dialect, 'sqlite');
    await store.close();
    const db = new Database(path);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(schemaVersion(db), TELEMETRY_MIGRATIONS.length);
    db.close();
  });

  it('serves an aligned hourly aggregate from the 1-hour rollup through its primary key', () => {
    const path = tempDbPath();
    const store = SqliteTelemetryStore.open(path);
    void store.close();
    const db = new Database(path);
    const plan = db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT * FROM rollup_1h
          WHERE series_id = 'd1' AND key = 'k' AND bucket_ts >= 0 AND bucket_ts < 10`,
      )
      .all() as { detail: string }[];
    db.close();
    assert.match(plan.map((p) => p.detail).join('\n'), /SEARCH rollup_1h USING PRIMARY KEY/);
  });

  it("reads a key's points through the primary key (sk, ts), its id looked up once", async () => {
    const path = tempDbPath();
    await SqliteTelemetryStore.open(path).close();
    const db = new Database(path);
    const plan = db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT ts FROM points
          WHERE sk = (SELECT id FROM series_keys WHERE series_id = 'd1' AND key = 'k') AND ts >= 0 AND ts < 10`,
      )
      .all() as { detail: string }[];
    db.close();
    const detail = plan.map((p) => p.detail).join('\n');
    assert.match(detail, /SEARCH points USING PRIMARY KEY \(sk=\? AND ts>\? AND ts<\?\)/);
    assert.match(detail, /SCALAR SUBQUERY[\s\S]*SEARCH series_keys USING COVERING INDEX/);
  });

  it('moves the points of a version 2 file to series key ids, and goes on writing the same keys', async () => {
    const path = tempDbPath();
    await SqliteTelemetryStore.open(path).close();
    // Back to version 2: its points table, and rows written as version 2 wrote them.
    const db = new Database(path);
    db.exec(`
      DROP TABLE points; DROP TABLE series_keys;
      CREATE TABLE points (series_id TEXT NOT NULL, key TEXT NOT NULL, ts INTEGER NOT NULL,
        value_type INTEGER NOT NULL, value_num REAL, value_text TEXT,
        PRIMARY KEY (series_id, key, ts)) WITHOUT ROWID;
      INSERT INTO points VALUES ('d2', 'temp', 2000, 0, 21.5, NULL), ('d1', 'temp', 1000, 0, 20, NULL),
        ('d1', 'temp', 3000, 0, 20.5, NULL), ('d1', 'mode', 1000, 2, NULL, 'eco');
      INSERT INTO latest VALUES ('d1', 'temp', 't1', 3000, 0, 20.5, NULL), ('d1', 'mode', 't1', 1000, 2, NULL, 'eco'),
        ('d2', 'temp', 't1', 2000, 0, 21.5, NULL);
      PRAGMA user_version = 2;
    `);
    db.close();
    const store = SqliteTelemetryStore.open(path);
    try {
      const d1 = await store.query({ seriesId: 'd1', from: 0, to: 10_000 });
      assert.deepEqual(
        d1.points.map((p) => [p.key, p.ts, p.value]),
        [
          ['mode', 1000, 'eco'],
          ['temp', 1000, 20],
          ['temp', 3000, 20.5],
        ],
      );
      await store.write([
        { tenantId: 't1', seriesId: 'd1', key: 'temp', ts: 4000, value: 22 },
        { tenantId: 't1', seriesId: 'd2', key: 'temp', ts: 2000, value: 23 },
      ]);
      const temp = await store.query({ seriesId: 'd1', keys: ['temp'], from: 0, to: 10_000 });
      assert.deepEqual(
        temp.points.map((p) => p.value),
        [20, 20.5, 22],
      );
      const d2 = await store.query({ seriesId: 'd2', from: 0, to: 10_000 });
      assert.deepEqual(
        d2.points.map((p) => [p.ts, p.value]),
        [[2000, 23]],
        'a point at a time already stored replaces it',
      );
    } finally {
      await store.close();
    }
    const after = new Database(path, { readonly: true });
    assert.deepEqual(after.prepare('SELECT series_id, key FROM series_keys ORDER BY id').raw().all(), [
      ['d1', 'mode'],
      ['d1', 'temp'],
      ['d2', 'temp'],
    ]);
    after.close();
  });
});
