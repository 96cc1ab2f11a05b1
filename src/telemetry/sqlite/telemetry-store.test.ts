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
});
