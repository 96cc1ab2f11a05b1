import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { TenantPatch, UserPatch } from '../store.js';
import {
  apiToken,
  device,
  ids,
  profile,
  rejectsWith,
  session,
  T0,
  tenant,
  tenantCa,
  user,
  type SuiteContext,
} from './fixtures.js';

export function tenantTests(s: SuiteContext): void {
  it('creates, reads and lists tenants ordered by id', async () => {
    const b = tenant('b', { name: 'Bravo', maxConnections: 250 });
    await s.store.createTenant(b);
    await s.store.createTenant(tenant('a'));
    assert.deepStrictEqual(await s.store.getTenant('b'), b);
    assert.equal(await s.store.getTenant('nope'), undefined);
    assert.deepEqual(ids(await s.store.listTenants()), ['a', 'b']);
  });

  it('rejects a duplicate tenant id with CONFLICT on id, keeping the original', async () => {
    await s.store.createTenant(tenant('t1', { name: 'First' }));
    await rejectsWith(s.store.createTenant(tenant('t1', { name: 'Second' })), 'CONFLICT', { field: 'id' });
    assert.equal((await s.store.getTenant('t1'))?.name, 'First');
  });

  it('updates a tenant, never its id or createdAt; undefined fields stay', async () => {
    await s.store.createTenant(tenant('t1', { name: 'Old', maxConnections: 5 }));
    const smuggled = { name: 'New', maxConnections: undefined, id: 'x', createdAt: 1 } as TenantPatch;
    const updated = await s.store.updateTenant('t1', smuggled);
    assert.deepStrictEqual(updated, tenant('t1', { name: 'New', maxConnections: 5 }));
    assert.deepStrictEqual(await s.store.getTenant('t1'), updated);
    assert.equal(await s.store.getTenant('x'), undefined);
    assert.equal((await s.store.updateTenant('t1', { maxConnections: 0 }))?.maxConnections, 0);
    assert.deepStrictEqual(await s.store.updateTenant('t1', {}), tenant('t1', { name: 'New' }));
    assert.equal(await s.store.updateTenant('nope', { name: 'x' }), undefined);
    assert.equal(await s.store.updateTenant('nope', {}), undefined);
  });

  it('keeps retention days and per-key overrides; existing overrides are replaced whole', async () => {
    const t = tenant('t1', { retentionDays: 30, keyRetentionDays: { debug_log: 7, 'sensor/temp': 365 } });
    await s.store.createTenant(t);
    assert.deepStrictEqual(await s.store.getTenant('t1'), t);
    await s.store.createTenant(tenant('t2'));
    assert.deepStrictEqual(
      (await s.store.listTenants()).map((x) => [x.id, x.retentionDays, x.keyRetentionDays]),
      [
        ['t1', 30, { debug_log: 7, 'sensor/temp': 365 }],
        ['t2', 0, {}],
      ],
    );
    const updated = await s.store.updateTenant('t1', { keyRetentionDays: { other: 1 } });
    assert.deepStrictEqual(updated, { ...t, keyRetentionDays: { other: 1 } });
    assert.deepStrictEqual(await s.store.updateTenant('t1', { retentionDays: 0, keyRetentionDays: {} }), {
      ...t,
      retentionDays: 0,
      keyRetentionDays: {},
    });
    if (s.reopen) {
      await s.store.updateTenant('t2', { retentionDays: 36500, keyRetentionDays: { k: 0 } });
      s.store = await s.reopen();
      assert.deepStrictEqual(
        await s.store.getTenant('t2'),
        tenant('t2', { retentionDays: 36500, keyRetentionDays: { k: 0 } }),
      );
    }
  });

  it('refuses to delete a tenant that still has devices or users, then deletes it with its profiles and CAs', async () => {
    await s.store.createTenant(tenant('t1'));
    await s.store.createTenant(tenant('t2'));
    await s.store.createProfile(profile('p1'));
    await s.store.createProfile(profile('p2', { tenantId: 't2' }));
    await s.store.addTenantCa(tenantCa('ca1'));
    await s.store.createDevice(device('d1', { profileId: 'p1' }));
    await s.store.createUser(user('u1'));
    await rejectsWith(s.store.deleteTenant('t1'), 'CONFLICT', { devices: 1, users: 1 });
    await s.store.deleteDevice('d1');
    await rejectsWith(s.store.deleteTenant('t1'), 'CONFLICT', { devices: 0, users: 1 });
    assert.ok(await s.store.getTenant('t1'), 'a refused delete must leave the tenant');
    await s.store.deleteUser('u1');
    assert.equal(await s.store.deleteTenant('t1'), true);
    assert.equal(await s.store.getTenant('t1'), undefined);
    assert.equal(await s.store.getProfile('p1'), undefined);
    assert.deepEqual(await s.store.listTenantCas('t1'), []);
    assert.deepEqual(ids(await s.store.listProfiles()), ['p2'], 'other tenants keep their profiles');
    assert.equal(await s.store.deleteTenant('t1'), false);
  });
}

export function userTests(s: SuiteContext): void {
  const setup = async () => {
    await s.store.createTenant(tenant('t1'));
    await s.store.createTenant(tenant('t2'));
  };

  it('creates and reads users by id and by username, platform admins included', async () => {
    await setup();
    const alice = user('u1', { username: 'alice', role: 'admin', active: false, updatedAt: T0 + 5 });
    const root = user('u0', { username: 'root', tenantId: null, role: 'admin' });
    await s.store.createUser(alice);
    await s.store.createUser(root);
    assert.deepStrictEqual(await s.store.getUser('u1'), alice);
    assert.deepStrictEqual(await s.store.getUserByUsername('root'), root);
    assert.equal(await s.store.getUser('alice'), undefined);
    assert.equal(await s.store.getUserByUsername('Alice'), undefined, 'usernames are matched exactly');
  });

  it('rejects a duplicate user id or username with CONFLICT naming the field', async () => {
    await setup();
    await s.store.createUser(user('u1', { username: 'alice' }));
    await rejectsWith(s.store.createUser(user('u1', { username: 'bob' })), 'CONFLICT', { field: 'id' });
    await rejectsWith(s.store.createUser(user('u2', { username: 'alice', tenantId: 't2' })), 'CONFLICT', {
      field: 'username',
    });
    await rejectsWith(s.store.createUser(user('u3', { username: 'alice', tenantId: null })), 'CONFLICT', {
      field: 'username',
    });
    assert.deepEqual(ids(await s.store.listUsers()), ['u1']);
  });

  it('rejects a user of a tenant that does not exist with NOT_FOUND on tenantId', async () => {
    await rejectsWith(s.store.createUser(user('u1', { tenantId: 'ghost' })), 'NOT_FOUND', {
      field: 'tenantId',
    });
    assert.equal(await s.store.getUser('u1'), undefined);
  });

  it('lists everybody, platform admins only, or one tenant’s users, ordered by id', async () => {
    await setup();
    await s.store.createUser(user('u3', { tenantId: 't2' }));
    await s.store.createUser(user('u1'));
    await s.store.createUser(user('u2', { tenantId: null }));
    await s.store.createUser(user('u0', { tenantId: null }));
    assert.deepEqual(ids(await s.store.listUsers()), ['u0', 'u1', 'u2', 'u3']);
    assert.deepEqual(ids(await s.store.listUsers({})), ['u0', 'u1', 'u2', 'u3']);
    assert.deepEqual(ids(await s.store.listUsers({ tenantId: undefined })), ['u0', 'u1', 'u2', 'u3']);
    assert.deepEqual(ids(await s.store.listUsers({ tenantId: null })), ['u0', 'u2']);
    assert.deepEqual(ids(await s.store.listUsers({ tenantId: 't2' })), ['u3']);
    assert.deepEqual(await s.store.listUsers({ tenantId: 'nope' }), []);
  });

  it('updates role, password hash, active and updatedAt, never id, username, tenant or createdAt', async () => {
    await setup();
    await s.store.createUser(user('u1', { username: 'alice' }));
    const patch = {
      role: 'viewer',
      passwordHash: '$scrypt$new',
      active: false,
      updatedAt: T0 + 1000,
      id: 'u9',
      username: 'mallory',
      tenantId: 't2',
      createdAt: 0,
    } as UserPatch;
    const expected = user('u1', {
      username: 'alice',
      role: 'viewer',
      passwordHash: '$scrypt$new',
      active: false,
      updatedAt: T0 + 1000,
    });
    assert.deepStrictEqual(await s.store.updateUser('u1', patch), expected);
    assert.deepStrictEqual(await s.store.getUserByUsername('alice'), expected);
    assert.equal((await s.store.updateUser('u1', { active: true }))?.active, true);
    assert.equal(await s.store.updateUser('nope', { active: true }), undefined);
  });

  it('deletes a user with its sessions and API tokens, and nobody else’s', async () => {
    await setup();
    await s.store.createUser(user('u1'));
    await s.store.createUser(user('u2'));
    await s.store.createSession(session('s1'));
    await s.store.createSession(session('s2', { userId: 'u2' }));
    await s.store.createApiToken(apiToken('k1'));
    await s.store.createApiToken(apiToken('k2', { userId: 'u2' }));
    assert.equal(await s.store.deleteUser('u1'), true);
    assert.equal(await s.store.getUser('u1'), undefined);
    assert.equal(await s.store.findSession('s1'), undefined);
    assert.equal(await s.store.findApiToken('hash-of-k1'), undefined);
    assert.deepEqual(await s.store.listApiTokens('u1'), []);
    assert.equal((await s.store.findSession('s2'))?.userId, 'u2');
    assert.equal((await s.store.findApiToken('hash-of-k2'))?.userId, 'u2');
    assert.equal(await s.store.deleteUser('u1'), false);
  });
}
