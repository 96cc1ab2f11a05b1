import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../../test/helpers/postgres.js';
import { createPool } from '../../registry/postgres/pool.js';
import { describeTelemetryStoreConformance } from '../store.suite.js';
import { assertBuckets, DAY, HOUR, point, referenceAggregate, T0 } from '../store-suite/fixtures.js';
import { PostgresTelemetryStore } from './telemetry-store.js';

/** The tables every write updates in place (migration 2 leaves room on their pages). */
const UPSERTED = ['telemetry_latest', 'telemetry_rollup_1m', 'telemetry_rollup_1h'];

// Throws under CI=true when PostgreSQL is missing: CI must not pass without these tests.
const skip = postgresSkipReason();

let server: Promise<TestPostgres> | undefined;
const postgres = () => (server ??= startPostgres());
after(async () => {
  if (server) await (await server).stop();
});

/** The cluster's first database, emptied before each test; the schema stays. */
async function emptiedDatabase(): Promise<string> {
  const { url } = await postgres();
  const connections = createPool(url);
  try {
    const { rows } = await connections.pool.query<{ name: string }>(
      `SELECT quote_ident(tablename) AS name FROM pg_tables
        WHERE schemaname = 'public' AND tablename LIKE 'telemetry\\_%'`,
    );
    if (rows.length) await connections.pool.query(`TRUNCATE ${rows.map((r) => r.name).join(', ')}`);
  } finally {
    await connections.end();
  }
  return url;
}

describeTelemetryStoreConformance(
  'postgres',
  async () => {
    const url = await emptiedDatabase();
    return { store: await PostgresTelemetryStore.open(url), reopen: () => PostgresTelemetryStore.open(url) };
  },
  { skip },
);

describe('PostgresTelemetryStore', { skip }, () => {
  it('migrates a fresh database once, also when two nodes open it together', async () => {
    const cluster = await postgres();
    const url = await cluster.createDatabase();
    try {
      const stores = await Promise.all([PostgresTelemetryStore.open(url), PostgresTelemetryStore.open(url)]);
      assert.equal(stores[0].dialect, 'postgres');
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      await cluster.dropDatabase(url);
    }
  });

  it('upgrades a version-1 database holding data: HOT-friendly pages, rollups still equal to the points', async () => {
    const cluster = await postgres();
    const url = await cluster.createDatabase();
    try {
      const points = Array.from({ length: 5000 }, (_, i) => point('k', T0 + i * 7_000, i % 13));
      let store = await PostgresTelemetryStore.open(url);
      await store.write(points);
      await store.close();
      // Back to version 1: its tables, without what version 2 adds.
      const connections = createPool(url);
      try {
        await connections.pool.query(
          `${UPSERTED.map((t) => `ALTER TABLE ${t} RESET (fillfactor);`).join('')}
           DELETE FROM halyard_telemetry_migrations WHERE version = 2`,
        );
        store = await PostgresTelemetryStore.open(url);
        const { rows } = await connections.pool.query<{ relname: string; reloptions: string[] | null }>(
          'SELECT relname, reloptions FROM pg_class WHERE relname = ANY($1) ORDER BY relname',
          [UPSERTED],
        );
        assert.deepEqual(
          rows.map((r) => [r.relname, r.reloptions]),
          [...UPSERTED].sort().map((t) => [t, ['fillfactor=50']]),
        );
      } finally {
        await connections.end();
      }
      const late = [point('k', T0 + 3, -1), point('k', T0 + 7_000, 99)];
      await store.write(late);
      const byTs = new Map([...points, ...late].map((p) => [p.ts, p]));
      const q = { keys: ['k'], from: T0, to: T0 + DAY, bucketMs: HOUR };
      for (const fn of ['count', 'sum', 'min', 'max', 'first', 'last'] as const) {
        assertBuckets(
          await store.aggregate({ seriesId: 'd1', ...q, fn }),
          referenceAggregate([...byTs.values()], { ...q, fn }),
          fn,
        );
      }
      await store.close();
    } finally {
      await cluster.dropDatabase(url);
    }
  });

  it('reports a server it cannot reach as STORE_FAILURE', async () => {
    await assert.rejects(PostgresTelemetryStore.open('postgres://postgres@127.0.0.1:1/halyard'), {
      code: 'STORE_FAILURE',
    });
  });
});
