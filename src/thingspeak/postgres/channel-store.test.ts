import { after } from 'node:test';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../../test/helpers/postgres.js';
import { describeChannelStoreConformance } from '../store.suite.js';
import { PostgresChannelStore } from './channel-store.js';

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
