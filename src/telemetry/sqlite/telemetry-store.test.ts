import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { countRows, capturingLogger } from '../../../test/helpers/sqlite.js';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { schemaVersion } from '../../store/sqlite/migrations.js';
import { describeTelemetryStoreConformance } from '../store.suite.js';
import { allPages, HOUR, MINUTE, T0 } from '../store-suite/fixtures.js';
import type { DataPoint } from '../model.js';
import { TELEMETRY_MIGRATIONS } from './migrations.js';
import { SqliteTelemetryStore } from './telemetry-store.js';

const tempDbPath = () => join(tempDir('halyard-telemetry-'), 'data', 'telemetry.db');

// Three runs of the suite, for the two tables a point may be in (telemetry-store.ts, "Recent points").
// As configured by default: at these sizes every point stays recent.
describeTelemetryStoreConformance('sqlite', () => {
  const path = tempDbPath();
  return Promise.resolve({
    store: SqliteTelemetryStore.open(path, { synchronous: 'normal' }),
    reopen: () => Promise.resolve(SqliteTelemetryStore.open(path)),
  });
});

// Every write folded before it resolves: every point in points and the rollups.
describeTelemetryStoreConformance('sqlite, folded after each write', () => {
  const path = tempDbPath();
  const foldingWrites = (store: SqliteTelemetryStore) =>
    new Proxy(store, {
      get(target, prop) {
        if (prop === 'write') {
          return async (points: DataPoint[]) => {
            await target.write(points);
            await target.foldRecent();
          };
        }
        const value: unknown = Reflect.get(target, prop);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  return Promise.resolve({
    store: foldingWrites(SqliteTelemetryStore.open(path, { synchronous: 'normal' })),
    reopen: () => Promise.resolve(foldingWrites(SqliteTelemetryStore.open(path))),
  });
});

// Folds starting after every write and moving two points a step, between the suite's reads.
describeTelemetryStoreConformance('sqlite, folding in small steps', () => {
  const path = tempDbPath();
  const opts = { synchronous: 'normal', foldAtPoints: 1, foldStepPoints: 2 } as const;
  return Promise.resolve({
    store: SqliteTelemetryStore.open(path, opts),
    reopen: () => Promise.resolve(SqliteTelemetryStore.open(path, opts)),
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
      DROP TABLE points; DROP TABLE series_keys; DROP TABLE recent_points;
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

  describe('recent points and the fold', () => {
    /** Key `key`'s point `i` ms after T0, its value i unless given. */
    const point = (key: string, i: number, value: DataPoint['value'] = i): DataPoint => ({
      tenantId: 't1',
      seriesId: 'd1',
      key,
      ts: T0 + i,
      value,
    });
    // Two keys, a point every 20 s over 3 hours, a string now and then.
    const seedPoints = (): DataPoint[] =>
      Array.from({ length: 540 }, (_, i) => ({
        tenantId: 't1',
        seriesId: 'd1',
        key: i % 2 ? 'temp' : 'mode',
        ts: T0 + Math.floor(i / 2) * 40_000,
        value: i % 2 ? 20 + (i % 7) : i % 10 === 0 ? 'eco' : i % 5,
      }));
    const answers = async (store: SqliteTelemetryStore) => {
      const q = { seriesId: 'd1', from: T0 - HOUR, to: T0 + 4 * HOUR };
      const out: unknown[] = [(await allPages(store, { ...q, limit: 97 })).points];
      for (const fn of ['avg', 'count', 'first', 'last', 'median'] as const) {
        for (const bucketMs of [MINUTE, HOUR]) {
          out.push(await store.aggregate({ ...q, keys: [], bucketMs, fn }));
        }
      }
      return out;
    };

    it('keeps written points recent until a fold moves them into points and the rollups, answering alike', async () => {
      const path = tempDbPath();
      const store = SqliteTelemetryStore.open(path, { directAtPoints: Infinity });
      try {
        const points = seedPoints();
        await store.write(points);
        assert.equal(countRows(path, 'recent_points'), points.length);
        assert.equal(countRows(path, 'points'), 0);
        assert.equal(countRows(path, 'rollup_1m'), 0);
        const before = await answers(store);
        assert.equal((before[0] as DataPoint[]).length, points.length);

        await store.foldRecent();
        assert.equal(countRows(path, 'recent_points'), 0);
        assert.equal(countRows(path, 'points'), points.length);
        assert.equal(countRows(path, 'rollup_1m'), 2 * 180, 'a bucket per key and minute');
        assert.equal(countRows(path, 'rollup_1h'), 2 * 3);
        assert.deepEqual(await answers(store), before);
      } finally {
        await store.close();
      }
    });

    it('writes the points of a key that brings many at once straight into points and the rollups, answering as a fold would', async () => {
      const directPath = tempDbPath();
      const foldPath = tempDbPath();
      const a = SqliteTelemetryStore.open(directPath);
      const b = SqliteTelemetryStore.open(foldPath, { directAtPoints: Infinity });
      try {
        const writes: DataPoint[][] = [
          // 'temp' has a recent point in the big write's range, so its points stay recent; 'mode' goes straight.
          [point('temp', 5_000, 1)],
          [...seedPoints(), { ...seedPoints()[0], value: 'replaced in the same write' }],
          // Older than the newest folded point of 'mode': in place or recent, never straight.
          Array.from({ length: 40 }, (_, i) => point('mode', i * 40_000, 100 + i)),
          // Newer again, many (after the seed's last, inside the answers' range): straight.
          Array.from({ length: 40 }, (_, i) => point('mode', 3 * HOUR + i, i % 3 ? i : 'text')),
          // A recent point, then many newer ones: straight, beside it.
          [point('temp', 3 * HOUR, 7)],
          Array.from({ length: 40 }, (_, i) => point('temp', 3 * HOUR + 1 + i, i)),
        ];
        for (const w of writes) {
          await a.write(w);
          await b.write(w);
        }
        assert.equal(countRows(directPath, 'recent_points'), 1 + 270 + 1, "'temp' only");
        assert.equal(countRows(directPath, 'points'), 270 + 40 + 40);
        await b.foldRecent();
        assert.deepEqual(await answers(a), await answers(b));
        assert.deepEqual(await a.latest('d1'), await b.latest('d1'));
        await a.foldRecent();
        assert.deepEqual(await answers(a), await answers(b));
        assert.equal(countRows(directPath, 'points'), countRows(foldPath, 'points'));
        assert.equal(countRows(directPath, 'rollup_1m'), countRows(foldPath, 'rollup_1m'));
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('replaces a folded point in place, rebuilding its buckets, and a recent one in its table', async () => {
      const path = tempDbPath();
      const store = SqliteTelemetryStore.open(path);
      try {
        await store.write([point('k', 0, 1), point('k', 1000, 2)]);
        await store.foldRecent();
        await store.write([point('k', 2000, 4)]);
        await store.write([point('k', 1000, 20), point('k', 2000, 40)]);
        assert.equal(countRows(path, 'points'), 2, 'the folded point replaced, not added');
        assert.equal(countRows(path, 'recent_points'), 1);
        const sum = async () =>
          (
            await store.aggregate({
              seriesId: 'd1',
              keys: ['k'],
              from: T0,
              to: T0 + HOUR,
              bucketMs: HOUR,
              fn: 'sum',
            })
          ).map((b) => [b.value, b.count]);
        assert.deepEqual(await sum(), [[61, 3]]);
        await store.foldRecent();
        assert.deepEqual(await sum(), [[61, 3]]);
        assert.equal(countRows(path, 'points'), 3);
      } finally {
        await store.close();
      }
    });

    it('answers latest values from the newest recent point until a fold or retention writes them down', async () => {
      const path = tempDbPath();
      const store = SqliteTelemetryStore.open(path);
      const stored = () => {
        const db = new Database(path, { readonly: true });
        try {
          return db
            .prepare("SELECT ts, value_num FROM latest WHERE series_id = 'd1' AND key = 'k'")
            .raw()
            .get();
        } finally {
          db.close();
        }
      };
      try {
        await store.write([point('k', 0, 1), point('k', 1000, 2)]);
        await store.write([point('k', 2000, 3)]);
        assert.deepEqual(stored(), [T0, 1], "the key's row is made with its first point");
        assert.deepEqual(await store.latest('d1'), [{ key: 'k', ts: T0 + 2000, value: 3 }]);
        await store.foldRecent();
        assert.deepEqual(stored(), [T0 + 2000, 3]);
        await store.write([point('k', 3000, 4)]);
        assert.equal(await store.deleteBefore({ tenantId: 't1' }, T0 + HOUR), 4);
        assert.deepEqual(stored(), [T0 + 3000, 4], 'retention keeps the newest value it removes');
        assert.deepEqual(await store.latest('d1'), [{ key: 'k', ts: T0 + 3000, value: 4 }]);
      } finally {
        await store.close();
      }
    });

    it('folds a busy key alone once it has foldKeyAtPoints recent points, leaving the others recent', async () => {
      const path = tempDbPath();
      const store = SqliteTelemetryStore.open(path, { synchronous: 'normal', foldKeyAtPoints: 10 });
      try {
        await store.write([
          ...Array.from({ length: 12 }, (_, i) => point('busy', i)),
          ...Array.from({ length: 9 }, (_, i) => point('quiet', i)),
        ]);
        // Folded before the write returns: a loop of writes that never yields must not pile a key up.
        assert.equal(countRows(path, 'points'), 12, "the busy key's points");
        assert.equal(countRows(path, 'recent_points'), 9, "the quiet key's points");
        await store.write([point('quiet', 9), point('busy', 12)]);
        assert.equal(
          countRows(path, 'points'),
          22,
          'the quiet key reached 10 too; the busy one counts afresh',
        );
        assert.equal(countRows(path, 'recent_points'), 1);
      } finally {
        await store.close();
      }
    });

    it("counts a key's recent points left by an earlier run towards its bound", async () => {
      const path = tempDbPath();
      const opts = { synchronous: 'normal', foldKeyAtPoints: 10 } as const;
      const first = SqliteTelemetryStore.open(path, opts);
      await first.write(Array.from({ length: 8 }, (_, i) => point('k', i)));
      await first.close();
      const store = SqliteTelemetryStore.open(path, opts);
      try {
        await store.write([point('k', 8)]);
        assert.equal(countRows(path, 'recent_points'), 9);
        await store.write([point('k', 9)]);
        assert.equal(countRows(path, 'points'), 10, 'folded at 8 + 2, not at 10 more');
        assert.equal(countRows(path, 'recent_points'), 0);
      } finally {
        await store.close();
      }
    });

    it('logs a failed fold once and keeps the points recent, readable, and folded once the fold can run', async () => {
      const path = tempDbPath();
      const { logger, lines, firstError } = capturingLogger();
      const store = SqliteTelemetryStore.open(path, { foldAtPoints: 2, foldKeyAtPoints: 3, logger });
      const side = new Database(path);
      try {
        // The fold's first write goes to a table that is gone.
        side.exec('ALTER TABLE rollup_1h RENAME TO rollup_1h_away');
        await store.write([point('k', 0), point('k', 1000)]);
        const line = await firstError;
        assert.equal(line.msg, 'telemetry fold failed; retrying');
        assert.match(String((line.err as { message: string }).message), /rollup_1h/);
        // Two writes that make the key busy: each tries its fold before it returns, and fails.
        await store.write([point('k', 2000)]);
        await store.write([point('k', 3000)]);
        assert.equal(countRows(path, 'recent_points'), 4);
        const { points } = await store.query({ seriesId: 'd1', from: T0, to: T0 + HOUR });
        assert.deepEqual(
          points.map((p) => p.value),
          [0, 1000, 2000, 3000],
        );
        side.exec('ALTER TABLE rollup_1h_away RENAME TO rollup_1h');
        await store.foldRecent();
        assert.equal(countRows(path, 'recent_points'), 0);
        assert.equal(countRows(path, 'rollup_1h'), 1);
        assert.deepEqual(
          lines.filter((l) => l.level === 50 || l.msg === 'telemetry folds again').map((l) => l.msg),
          ['telemetry fold failed; retrying', 'telemetry folds again'],
          'one error for three failed folds, then the recovery',
        );
      } finally {
        side.close();
        await store.close();
      }
    });

    it('folds on its own once enough points are recent, one range of keys per turn of the event loop', async () => {
      const path = tempDbPath();
      const store = SqliteTelemetryStore.open(path, {
        synchronous: 'normal',
        foldAtPoints: 20,
        foldStepPoints: 4,
      });
      try {
        await store.write(['a', 'b', 'c'].flatMap((key) => [0, 1, 2, 3, 4].map((i) => point(key, i))));
        assert.equal(countRows(path, 'recent_points'), 15, 'below the threshold nothing moves');
        await store.write(['d', 'e'].flatMap((key) => [0, 1, 2, 3, 4].map((i) => point(key, i))));
        const moved: number[] = [];
        for (let turn = 0; turn < 50 && countRows(path, 'recent_points') > 0; turn++) {
          await new Promise((resolve) => setImmediate(resolve));
          moved.push(countRows(path, 'points'));
        }
        // A key's 5 points exceed a step of 4: each step moves one key whole.
        assert.deepEqual(moved, [5, 10, 15, 20, 25]);
        assert.equal(countRows(path, 'recent_points'), 0);
        assert.equal(countRows(path, 'rollup_1m'), 5);
      } finally {
        await store.close();
      }
    });
  });
});
