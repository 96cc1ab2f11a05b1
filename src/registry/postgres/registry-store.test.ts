import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../../test/helpers/postgres.js';
import { isHalyardError } from '../../core/errors.js';
import { describeRegistryStoreConformance } from '../store.suite.js';
import { auditEntry, credential, device, rejectsWith, tenant } from '../store-suite/fixtures.js';
import { migratePostgres, REGISTRY_PG_MIGRATIONS, type PgMigration } from './migrations.js';
import { createPool } from './pool.js';
import { PostgresRegistryStore } from './registry-store.js';

// Throws under CI=true when PostgreSQL is missing: CI must not pass without these tests.
const skip = postgresSkipReason();

// One throw-away cluster for this file, started by the first test that needs it; a database per test.
let server: Promise<TestPostgres> | undefined;
const postgres = () => (server ??= startPostgres());
after(async () => {
  if (server) await (await server).stop();
});

async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const cluster = await postgres();
  const url = await cluster.createDatabase();
  return { url, drop: () => cluster.dropDatabase(url) };
}

/**
 * The conformance tests share the cluster's first database and empty it before
 * each test (much faster than a database each); the schema stays, so each open
 * finds its migrations done. Migrations get fresh databases of their own below.
 */
async function emptiedDatabase(): Promise<string> {
  const { url } = await postgres();
  await withPool(url, async (pool) => {
    const { rows } = await pool.query<{ name: string }>(
      `SELECT quote_ident(tablename) AS name FROM pg_tables
        WHERE schemaname = 'public' AND tablename <> 'halyard_schema_migrations'`,
    );
    if (rows.length)
      await pool.query(`TRUNCATE ${rows.map((r) => r.name).join(', ')} RESTART IDENTITY CASCADE`);
  });
  return url;
}

describeRegistryStoreConformance(
  'postgres',
  async () => {
    const url = await emptiedDatabase();
    return { store: await PostgresRegistryStore.open(url), reopen: () => PostgresRegistryStore.open(url) };
  },
  { skip },
);

/** A pool of its own, for looking at a database from outside the store. */
async function withPool<T>(url: string, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const connections = createPool(url);
  try {
    return await fn(connections.pool);
  } finally {
    await connections.end();
  }
}

const versions = (url: string) =>
  withPool(url, async (pool) =>
    (
      await pool.query<{ version: number }>('SELECT version FROM halyard_schema_migrations ORDER BY version')
    ).rows.map((r) => r.version),
  );

const tables = (pool: pg.Pool) =>
  pool
    .query<{ tablename: string }>(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
    )
    .then((r) => r.rows.map((row) => row.tablename));

const createTable = (version: number, table: string, fail = false): PgMigration => ({
  version,
  description: `create ${table}`,
  async up(client) {
    await client.query(`CREATE TABLE ${table} (x int)`);
    if (fail) throw new Error('step failed');
  },
});

describe('PostgresRegistryStore', { skip }, () => {
  it('returns BIGINT values as numbers, without changing pg’s global parser', async () => {
    const { url, drop } = await freshDatabase();
    const store = await PostgresRegistryStore.open(url);
    try {
      assert.equal(store.dialect, 'postgres');
      await store.createTenant(tenant('t1', { createdAt: 8_640_000_000_000 }));
      await store.createDevice(device('d1'));
      assert.strictEqual((await store.getTenant('t1'))?.createdAt, 8_640_000_000_000);
      assert.strictEqual(await store.countDevices(), 1);
      assert.strictEqual(typeof (await store.appendAudit(auditEntry())).id, 'number');
      const globalParser = pg.types.getTypeParser(pg.types.builtins.INT8, 'text') as (
        text: string,
      ) => unknown;
      assert.strictEqual(globalParser('42'), '42');
    } finally {
      await store.close();
      await drop();
    }
  });

  it('upgrades a database at version 1 straight to the latest, keeping its rows', async () => {
    const { url, drop } = await freshDatabase();
    try {
      await withPool(url, async (pool) => {
        assert.deepEqual(await migratePostgres(pool, REGISTRY_PG_MIGRATIONS.slice(0, 1)), {
          from: 0,
          to: 1,
          applied: [1],
        });
        await pool.query(
          `INSERT INTO tenants (id, name, max_connections, created_at) VALUES ('t1', 'One', 3, 5)`,
        );
      });
      assert.deepEqual(await versions(url), [1]);
      const store = await PostgresRegistryStore.open(url);
      try {
        assert.deepEqual(await store.getTenant('t1'), {
          id: 't1',
          name: 'One',
          maxConnections: 3,
          retentionDays: 0,
          keyRetentionDays: {},
          createdAt: 5,
        });
        await store.createDevice(device('d1', { tags: ['new-schema'] }));
        await store.createCredential(credential('c1'));
        assert.equal((await store.listDevices({ tag: 'new-schema' })).total, 1);
        assert.equal((await store.queryAudit({})).length, 0);
        await store.appendAudit(auditEntry());
      } finally {
        await store.close();
      }
      assert.deepEqual(
        await versions(url),
        REGISTRY_PG_MIGRATIONS.map((m) => m.version),
      );
    } finally {
      await drop();
    }
  });

  it('applies only the missing steps, in order, across version gaps, or none if one fails', async () => {
    const { url, drop } = await freshDatabase();
    try {
      await withPool(url, async (pool) => {
        await migratePostgres(pool, [createTable(1, 'a')]);
        const failing = [createTable(1, 'a'), createTable(5, 'b'), createTable(9, 'c', true)];
        await assert.rejects(migratePostgres(pool, failing), /step failed/);
        assert.deepEqual(await tables(pool), ['a', 'halyard_schema_migrations']);
        const ran: number[] = [];
        const later = [createTable(1, 'a'), createTable(5, 'b'), createTable(9, 'c')].map((m) => ({
          ...m,
          up: (client: pg.ClientBase) => (ran.push(m.version), m.up(client)),
        }));
        assert.deepEqual(await migratePostgres(pool, later), { from: 1, to: 9, applied: [5, 9] });
        assert.deepEqual(ran, [5, 9]);
        assert.deepEqual(await migratePostgres(pool, later), { from: 9, to: 9, applied: [] });
        assert.deepEqual(await tables(pool), ['a', 'b', 'c', 'halyard_schema_migrations']);
      });
      assert.deepEqual(await versions(url), [1, 5, 9]);
    } finally {
      await drop();
    }
  });

  it('lets several nodes open a new database at once; the schema is made once', async () => {
    const { url, drop } = await freshDatabase();
    try {
      const stores = await Promise.all([1, 2, 3, 4].map(() => PostgresRegistryStore.open(url)));
      try {
        await stores[0].createTenant(tenant('t1'));
        assert.deepEqual(await stores[3].listTenants(), [tenant('t1')]);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
      assert.deepEqual(
        await versions(url),
        REGISTRY_PG_MIGRATIONS.map((m) => m.version),
      );
    } finally {
      await drop();
    }
  });

  it('lets one of two devices racing for a password username win', async () => {
    const { url, drop } = await freshDatabase();
    const store = await PostgresRegistryStore.open(url);
    try {
      await store.createTenant(tenant('t1'));
      await store.createDevice(device('d1'));
      await store.createDevice(device('d2'));
      for (let round = 0; round < 5; round++) {
        const lookup = `name-${round}`;
        const results = await Promise.allSettled(
          ['d1', 'd2'].map((deviceId) =>
            store.createCredential(
              credential(`c-${round}-${deviceId}`, { deviceId, kind: 'password', lookup }),
            ),
          ),
        );
        assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
        const failure = results.find((r) => r.status === 'rejected');
        assert.ok(isHalyardError(failure?.reason, 'CONFLICT'));
        assert.equal((await store.findCredentials('password', lookup)).length, 1);
      }
    } finally {
      await store.close();
      await drop();
    }
  });

  it('refuses a database written by a newer Halyard', async () => {
    const { url, drop } = await freshDatabase();
    try {
      await (await PostgresRegistryStore.open(url)).close();
      await withPool(url, (pool) => pool.query('INSERT INTO halyard_schema_migrations VALUES (99, 0)'));
      await rejectsWith(PostgresRegistryStore.open(url), 'STORE_FAILURE', { schemaVersion: 99 });
    } finally {
      await drop();
    }
  });

  it('refuses a migration list whose versions do not increase', async () => {
    const { url, drop } = await freshDatabase();
    try {
      await withPool(url, async (pool) => {
        await rejectsWith(migratePostgres(pool, [createTable(2, 'a'), createTable(2, 'b')]), 'STORE_FAILURE');
        assert.deepEqual(await tables(pool), []);
      });
    } finally {
      await drop();
    }
  });

  it('reports a server it cannot reach as STORE_FAILURE', async () => {
    await rejectsWith(PostgresRegistryStore.open('postgres://postgres@127.0.0.1:1/halyard'), 'STORE_FAILURE');
  });
});
