import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connectClient } from './helpers/halyard-process.js';
import { createTenantAdmin, createTokenDevice, startTestPlatform } from './helpers/platform.js';
import { postgresSkipReason, startPostgres, type TestPostgres } from './helpers/postgres.js';

/** The whole platform with its registry in a real PostgreSQL (`--database postgres://…`). */

const skip = postgresSkipReason(); // throws under CI=true when PostgreSQL is missing
let server: TestPostgres | undefined;
after(async () => server?.stop());

describe('platform with the registry in PostgreSQL', { skip }, () => {
  it('creates the admin once, keeps devices across a restart, and lets them log in', async () => {
    server = await startPostgres();
    const databaseUrl = await server.createDatabase();
    const first = await startTestPlatform({ databaseUrl });
    let token: string;
    try {
      assert.ok(first.adminPassword.length >= 20, 'first start prints a generated admin password');
      const { actor } = await createTenantAdmin(first, 'acme');
      token = (await createTokenDevice(first, actor, { id: 'pg-device' })).token;
    } finally {
      await first.stop();
    }

    const second = await startTestPlatform({ databaseUrl });
    try {
      assert.equal(second.app.initialAdmin, undefined, 'no second admin on a later start');
      const client = await connectClient(second.mqttUrl, {
        protocolVersion: 5,
        username: token,
        password: undefined,
        clientId: 'pg-device',
      });
      assert.equal(client.connack.reasonCode, 0);
      await client.drop();
      const login = await fetch(`${second.httpUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: first.adminPassword }),
      });
      assert.equal(login.status, 200);
    } finally {
      await second.stop();
    }
  });
});
