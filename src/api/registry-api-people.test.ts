import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { z } from 'zod';
import {
  assertNoSecretLeaked,
  expectStatus,
  login,
  openApiHarness,
  seedTenants,
  type ApiHarness,
  type IssuedSecret,
  type Seed,
} from './api-test-support.js';
import { SYSTEM_ACTOR } from '../registry/service.js';
import type { TenantDto, UserDto } from './dto.js';

type Tenant = z.infer<typeof TenantDto>;
type User = z.infer<typeof UserDto>;

describe('REST API: tenants and users', () => {
  let h: ApiHarness;
  let s: Seed;

  before(async () => {
    h = await openApiHarness();
    s = await seedTenants(h);
  });
  after(() => h.close());

  it('tenants: platform admins manage them; tenant admins see and rename their own', async () => {
    const platform = s.platform.token;
    const all = (await expectStatus(h, 200, 'GET', '/api/tenants', { token: platform })).json<Tenant[]>();
    assert.deepEqual(all.map((t) => t.id).sort(), ['acme', 'globex']);

    const created = (
      await expectStatus(h, 201, 'POST', '/api/tenants', {
        token: platform,
        body: { name: 'Initech Ltd', maxConnections: 50 },
      })
    ).json<Tenant>();
    assert.equal(created.name, 'Initech Ltd');
    assert.equal(created.maxConnections, 50);
    await expectStatus(h, 409, 'POST', '/api/tenants', {
      token: platform,
      body: { id: created.id, name: 'x' },
    });
    const patched = (
      await expectStatus(h, 200, 'PATCH', `/api/tenants/${created.id}`, {
        token: platform,
        body: { name: 'Initech', maxConnections: 75 },
      })
    ).json<Tenant>();
    assert.deepEqual([patched.name, patched.maxConnections], ['Initech', 75]);
    await expectStatus(h, 204, 'DELETE', `/api/tenants/${created.id}`, { token: platform });
    await expectStatus(h, 404, 'GET', `/api/tenants/${created.id}`, { token: platform });
    // A tenant with users cannot go.
    await expectStatus(h, 409, 'DELETE', '/api/tenants/acme', { token: platform });

    const admin = s.acme.admin.token;
    const own = (await expectStatus(h, 200, 'GET', '/api/tenants', { token: admin })).json<Tenant[]>();
    assert.deepEqual(
      own.map((t) => t.id),
      ['acme'],
    );
    const renamed = await expectStatus(h, 200, 'PATCH', '/api/tenants/acme', {
      token: admin,
      body: { name: 'ACME' },
    });
    assert.equal(renamed.json<Tenant>().name, 'ACME');
    await expectStatus(h, 403, 'PATCH', '/api/tenants/acme', { token: admin, body: { maxConnections: 1 } });
    await expectStatus(h, 403, 'POST', '/api/tenants', { token: admin, body: { name: 'mine' } });
    await expectStatus(h, 403, 'DELETE', '/api/tenants/acme', { token: admin });
    await expectStatus(h, 403, 'PATCH', '/api/tenants/acme', {
      token: s.acme.operator.token,
      body: { name: 'op' },
    });
    await expectStatus(h, 200, 'GET', '/api/tenants/acme', { token: s.acme.viewer.token });
  });

  it('tenants: retention is set by PATCH (tenant admins included), shown by GET, audited, and checked', async () => {
    const admin = s.acme.admin.token;
    const before = (await expectStatus(h, 200, 'GET', '/api/tenants/acme', { token: admin })).json<Tenant>();
    assert.deepEqual([before.retentionDays, before.keyRetentionDays], [0, {}]);
    const patched = (
      await expectStatus(h, 200, 'PATCH', '/api/tenants/acme', {
        token: admin,
        body: { retentionDays: 30, keyRetentionDays: { x: 1 } },
      })
    ).json<Tenant>();
    assert.deepEqual([patched.retentionDays, patched.keyRetentionDays], [30, { x: 1 }]);
    const read = (
      await expectStatus(h, 200, 'GET', '/api/tenants/acme', { token: s.acme.viewer.token })
    ).json<Tenant>();
    assert.deepEqual([read.retentionDays, read.keyRetentionDays], [30, { x: 1 }]);
    const [entry] = await h.registry.queryAudit(SYSTEM_ACTOR, { action: 'tenant.update', limit: 1 });
    assert.deepEqual(entry.details, {
      fields: ['retentionDays', 'keyRetentionDays'],
      retentionDays: 30,
      keyRetentionDays: { x: 1 },
    });

    const created = (
      await expectStatus(h, 201, 'POST', '/api/tenants', {
        token: s.platform.token,
        body: { name: 'Retained', retentionDays: 90, keyRetentionDays: { debug_log: 7 } },
      })
    ).json<Tenant>();
    assert.deepEqual([created.retentionDays, created.keyRetentionDays], [90, { debug_log: 7 }]);
    await expectStatus(h, 204, 'DELETE', `/api/tenants/${created.id}`, { token: s.platform.token });

    const invalid = async (body: object, field: string) => {
      const res = await expectStatus(h, 400, 'PATCH', '/api/tenants/acme', { token: admin, body });
      const error = res.json<{ error: string; field: string }>();
      assert.equal(error.error, 'INVALID_INPUT');
      assert.ok(error.field.startsWith(field), `${error.field} names ${field}`);
    };
    await invalid({ retentionDays: -1 }, 'body.retentionDays');
    await invalid({ retentionDays: 36_501 }, 'body.retentionDays');
    await invalid({ retentionDays: 1.5 }, 'body.retentionDays');
    await invalid({ keyRetentionDays: { x: 36_501 } }, 'body.keyRetentionDays');
    await invalid({ keyRetentionDays: { ['k'.repeat(129)]: 1 } }, 'body.keyRetentionDays');
    await invalid({ keyRetentionDays: [1] }, 'body.keyRetentionDays');
    const tooMany = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, 1]));
    await invalid({ keyRetentionDays: tooMany }, 'body.keyRetentionDays');
    // Unchanged by the refused requests; operators may not change it.
    await expectStatus(h, 403, 'PATCH', '/api/tenants/acme', {
      token: s.acme.operator.token,
      body: { retentionDays: 1 },
    });
    const after = (await expectStatus(h, 200, 'GET', '/api/tenants/acme', { token: admin })).json<Tenant>();
    assert.deepEqual([after.retentionDays, after.keyRetentionDays], [30, { x: 1 }]);
  });

  it('users: tenant admins create, change, reset and delete; others may not; nobody sees a hash', async () => {
    const admin = s.acme.admin.token;
    const created = await expectStatus(h, 201, 'POST', '/api/users', {
      token: admin,
      body: { username: 'acme-extra', password: 'first-password-1', role: 'viewer' },
    });
    const user = created.json<User>();
    assert.equal(user.tenantId, 'acme');
    assert.equal(user.role, 'viewer');
    assert.ok(!created.text.includes('passwordHash') && !created.text.includes('first-password-1'));
    await expectStatus(h, 409, 'POST', '/api/users', {
      token: admin,
      body: { username: 'acme-extra', password: 'first-password-1', role: 'viewer' },
    });

    const listed = (await expectStatus(h, 200, 'GET', '/api/users?tenantId=acme', { token: admin })).json<
      User[]
    >();
    assert.deepEqual(listed.map((u) => u.username).sort(), [
      'acme-admin',
      'acme-extra',
      'acme-operator',
      'acme-viewer',
    ]);
    assert.equal(
      (await expectStatus(h, 200, 'GET', `/api/users/${user.id}`, { token: admin })).json<User>().id,
      user.id,
    );
    const promoted = await expectStatus(h, 200, 'PATCH', `/api/users/${user.id}`, {
      token: admin,
      body: { role: 'operator' },
    });
    assert.equal(promoted.json<User>().role, 'operator');

    // An admin sets the password; the user then changes it, which needs the current one.
    await expectStatus(h, 204, 'PUT', `/api/users/${user.id}/password`, {
      token: admin,
      body: { password: 'second-password-2' },
    });
    const own = await login(h, 'acme-extra', 'second-password-2');
    const wrong = await expectStatus(h, 400, 'PUT', `/api/users/${user.id}/password`, {
      token: own,
      body: { password: 'third-password-3', currentPassword: 'nope-nope-nope' },
    });
    assert.equal(wrong.json<{ field: string }>().field, 'currentPassword');
    await expectStatus(h, 204, 'PUT', `/api/users/${user.id}/password`, {
      token: own,
      body: { password: 'third-password-3', currentPassword: 'second-password-2' },
    });
    await login(h, 'acme-extra', 'third-password-3');

    await expectStatus(h, 403, 'POST', '/api/users', {
      token: s.acme.operator.token,
      body: { username: 'by-operator', password: 'some-password-1', role: 'viewer' },
    });
    await expectStatus(h, 403, 'PATCH', `/api/users/${user.id}`, {
      token: s.acme.viewer.token,
      body: { active: false },
    });
    await expectStatus(h, 403, 'PUT', `/api/users/${user.id}/password`, {
      token: s.acme.operator.token,
      body: { password: 'hijacked-password' },
    });
    await expectStatus(h, 403, 'DELETE', `/api/users/${user.id}`, { token: s.acme.operator.token });
    // Tenant admins cannot make platform admins.
    await expectStatus(h, 403, 'POST', '/api/users', {
      token: admin,
      body: { username: 'root2', password: 'some-password-1', role: 'admin', tenantId: null },
    });

    const deactivated = await expectStatus(h, 200, 'PATCH', `/api/users/${user.id}`, {
      token: admin,
      body: { active: false },
    });
    assert.equal(deactivated.json<User>().active, false);
    await expectStatus(h, 401, 'GET', '/api/me', { token: own });
    await expectStatus(h, 204, 'DELETE', `/api/users/${user.id}`, { token: admin });
    await expectStatus(h, 404, 'GET', `/api/users/${user.id}`, { token: admin });
  });

  it('no response carries a password hash or a password that was sent in', async () => {
    // Passwords only ever travel towards the server.
    const sent: IssuedSecret[] = ['first-password-1', 'second-password-2', 'third-password-3'].map(
      (value) => ({
        value,
        response: -1,
        what: 'a password sent in',
      }),
    );
    for (const u of [s.platform, s.acme.admin, s.acme.operator, s.acme.viewer, s.globex.admin]) {
      sent.push({ value: u.password, response: -1, what: `password of ${u.username}` });
    }
    const checked = await assertNoSecretLeaked(h, s, sent);
    assert.ok(checked >= 10, `${checked} hashes checked`);
    assert.ok(h.responses.length > 40, `${h.responses.length} responses scanned`);
  });
});
