import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../../test/helpers/postgres.js';
import { describeChannelStoreConformance } from '../store.suite.js';
import { PostgresChannelStore } from './channel-store.js';
import { migrateThingSpeak, THINGSPEAK_PG_MIGRATIONS } from './migrations.js';

// Throws under CI=true when PostgreSQL is missing: CI must not pass without these tests.
const skip = postgresSkipReason();

let server: Promise<TestPostgres> | undefined;
const postgres = () => (server ??= startPostgres());
after(async () => {
  if (server) await (await server).stop();
});

describeChannelStoreConformance(
  'postgres',
  async () => {
    // A database per test: ids must start afresh and no test sees another's channels.
    const cluster = await postgres();
    const url = await cluster.createDatabase();
    return { store: await PostgresChannelStore.open(url), cleanup: () => cluster.dropDatabase(url) };
  },
  { skip },
);

describe('the PostgreSQL channel store schema', { skip }, () => {
  it('takes a version-1 database to version 2 with every channel mirrored up to its last entry', async () => {
    const cluster = await postgres();
    const url = await cluster.createDatabase();
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      await migrateThingSpeak(pool, THINGSPEAK_PG_MIGRATIONS.slice(0, 1));
      await pool.query(
        `INSERT INTO thingspeak_channels (tenant_id, name, fields, tags, public_flag, min_update_interval,
           created_at, updated_at, last_entry_id) VALUES ('t1', 'old', '{}', '[]', false, 0, 0, 0, 2)`,
      );
      await pool.query(
        `INSERT INTO thingspeak_entries (channel_id, entry_id, created_at, field1)
           VALUES (1, 1, 1000, 'a'), (1, 2, 2000, 'b')`,
      );
    } finally {
      await pool.end();
    }
    const store = await PostgresChannelStore.open(url);
    try {
      // Entries written before the upgrade were mirrored when they were answered: nothing to recover.
      assert.deepEqual(await store.unmirroredEntries(10), []);
      assert.equal((await store.getChannel(1))?.lastEntryId, 2);
    } finally {
      await store.close();
      await cluster.dropDatabase(url);
    }
  });
});
