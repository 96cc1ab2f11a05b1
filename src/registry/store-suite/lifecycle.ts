import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  apiToken,
  auditEntry,
  credential,
  device,
  profile,
  rejectsWith,
  session,
  T0,
  tenant,
  tenantCa,
  user,
  type SuiteContext,
} from './fixtures.js';

export function lifecycleTests(s: SuiteContext): void {
  it('keeps every kind of record across close and reopen; audit ids go on increasing', async (t) => {
    if (!s.reopen) return t.skip('store is not durable');
    const records = {
      tenant: tenant('t1', { name: 'Ünïcorp', maxConnections: 7 }),
      user: user('u1', { username: 'alice' }),
      admin: user('u0', { username: 'root', tenantId: null, role: 'admin' }),
      profile: profile('p1', { acl: [{ action: 'publish', topic: 'a/#', permission: 'deny' }] }),
      device: device('d1', { profileId: 'p1', tags: ['t'], labels: { clé: 'valeur ✓' }, serial: 'S' }),
      credential: credential('c1', { kind: 'hmac', lookup: 'd1', secret: 'sealed' }),
      ca: tenantCa('ca1'),
      token: apiToken('k1', { lastUsedAt: T0 + 3 }),
      session: session('s1'),
    };
    await s.store.createTenant(records.tenant);
    await s.store.createUser(records.user);
    await s.store.createUser(records.admin);
    await s.store.createProfile(records.profile);
    await s.store.createDevice(records.device);
    await s.store.setLastSeen([{ deviceId: 'd1', at: T0 + 99 }]);
    await s.store.createCredential(records.credential);
    await s.store.addTenantCa(records.ca);
    await s.store.createApiToken(records.token);
    await s.store.createSession(records.session);
    const before = await s.store.appendAudit(auditEntry({ details: { k: 'v' } }));

    s.store = await s.reopen();

    assert.deepStrictEqual(await s.store.listTenants(), [records.tenant]);
    assert.deepStrictEqual(await s.store.listUsers(), [records.admin, records.user]);
    assert.deepStrictEqual(await s.store.listProfiles(), [records.profile]);
    assert.deepStrictEqual(await s.store.getDevice('d1'), { ...records.device, lastSeen: T0 + 99 });
    assert.deepStrictEqual(await s.store.findCredentials('hmac', 'd1'), [records.credential]);
    assert.deepStrictEqual(await s.store.listTenantCas(), [records.ca]);
    assert.deepStrictEqual(await s.store.findApiToken('hash-of-k1'), records.token);
    assert.deepStrictEqual(await s.store.findSession('s1'), records.session);
    assert.deepStrictEqual(await s.store.queryAudit({}), [before]);
    const after = await s.store.appendAudit(auditEntry());
    assert.ok(after.id > before.id, `${after.id} > ${before.id}`);
    // The reopened store still enforces the schema's rules.
    await rejectsWith(s.store.createUser(user('u2', { username: 'alice' })), 'CONFLICT', {
      field: 'username',
    });
    await rejectsWith(s.store.deleteProfile('p1'), 'CONFLICT');
  });

  it('fails calls after close with STORE_FAILURE; closing twice is fine', async () => {
    await s.store.createTenant(tenant('t1'));
    await s.store.close();
    await s.store.close();
    await rejectsWith(s.store.getTenant('t1'), 'STORE_FAILURE');
    await rejectsWith(s.store.createTenant(tenant('t2')), 'STORE_FAILURE');
    await rejectsWith(s.store.queryAudit({}), 'STORE_FAILURE');
  });
}
