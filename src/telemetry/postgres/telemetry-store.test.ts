import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../../test/helpers/postgres.js';
import { createPool } from '../../registry/postgres/pool.js';
import { describeTelemetryStoreConformance } from '../store.suite.js';
import { PostgresTelemetryStore } from './telemetry-store.js';

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

  it('reports a server it cannot reach as STORE_FAILURE', async () => {
    await assert.rejects(PostgresTelemetryStore.open('postgres://postgres@127.0.0.1:1/halyard'), {
      code: 'STORE_FAILURE',
    });
  });
});
