import assert from 'node:assert/strict';
import { it } from 'node:test';
import { credential, device, ids, rejectsWith, T0, tenant, tenantCa, type SuiteContext } from './fixtures.js';

export function credentialTests(s: SuiteContext): void {
  const setup = async () => {
    await s.store.createTenant(tenant('t1'));
    await s.store.createDevice(device('d1'));
    await s.store.createDevice(device('d2'));
  };

  it('creates, reads and lists a device’s credentials oldest first, revoked ones included', async () => {
    await setup();
    const cert = credential('c2', {
      kind: 'certificate',
      lookup: 'AB:CD:EF:01',
      label: 'CN=d1, O=Ünïcorp',
      createdAt: T0 + 1,
      expiresAt: T0 + 86_400_000 * 365,
    });
    const password = credential('c1', {
      kind: 'password',
      lookup: 'd1-user',
      secret: '$scrypt$…',
      createdAt: T0 + 2,
    });
    const token = credential('c0', { createdAt: T0 + 3, revokedAt: T0 + 4 });
    await s.store.createCredential(password);
    await s.store.createCredential(token);
    await s.store.createCredential(cert);
    await s.store.createCredential(credential('c9', { deviceId: 'd2' }));
    assert.deepStrictEqual(await s.store.getCredential('c2'), cert);
    assert.deepStrictEqual(await s.store.getCredential('c1'), password);
    assert.equal(await s.store.getCredential('nope'), undefined);
    assert.deepStrictEqual(await s.store.listCredentials('d1'), [cert, password, token]);
    assert.deepEqual(await s.store.listCredentials('nope'), []);
  });

  it('rejects a duplicate credential id with CONFLICT, and a credential of a missing device with NOT_FOUND', async () => {
    await setup();
    await s.store.createCredential(credential('c1'));
    await rejectsWith(s.store.createCredential(credential('c1', { lookup: 'other' })), 'CONFLICT', {
      field: 'id',
    });
    await rejectsWith(s.store.createCredential(credential('c2', { deviceId: 'ghost' })), 'NOT_FOUND', {
      field: 'deviceId',
    });
    assert.deepEqual(ids(await s.store.listCredentials('d1')), ['c1']);
  });

  for (const kind of ['token', 'certificate'] as const) {
    it(`keeps an unrevoked ${kind} lookup unique, and frees it on revoke`, async () => {
      await setup();
      await s.store.createCredential(credential('c1', { kind, lookup: 'L' }));
      await rejectsWith(s.store.createCredential(credential('c2', { kind, lookup: 'L' })), 'CONFLICT', {
        field: 'lookup',
      });
      await rejectsWith(
        s.store.createCredential(credential('c2', { kind, lookup: 'L', deviceId: 'd2' })),
        'CONFLICT',
        {
          field: 'lookup',
        },
      );
      const otherKind = kind === 'token' ? 'certificate' : 'token';
      await s.store.createCredential(credential('c3', { kind: otherKind, lookup: 'L' }));
      await s.store.revokeCredential('c1', T0 + 1);
      await s.store.createCredential(credential('c2', { kind, lookup: 'L', deviceId: 'd2' }));
      assert.deepEqual(ids(await s.store.findCredentials(kind, 'L')), ['c2']);
    });
  }

  for (const kind of ['password', 'hmac'] as const) {
    it(`lets one device hold several unrevoked ${kind} credentials with one lookup, but not another device`, async () => {
      await setup();
      await s.store.createCredential(credential('c1', { kind, lookup: 'L', secret: 'old' }));
      await s.store.createCredential(
        credential('c2', { kind, lookup: 'L', secret: 'new', createdAt: T0 + 1 }),
      );
      assert.deepEqual(
        (await s.store.findCredentials(kind, 'L')).map((c) => c.secret),
        ['old', 'new'],
      );
      await rejectsWith(
        s.store.createCredential(credential('c3', { kind, lookup: 'L', deviceId: 'd2' })),
        'CONFLICT',
        {
          field: 'lookup',
        },
      );
      await s.store.revokeCredential('c1', T0 + 2);
      await s.store.revokeCredential('c2', T0 + 2);
      await s.store.createCredential(credential('c3', { kind, lookup: 'L', deviceId: 'd2' }));
      assert.deepEqual(ids(await s.store.findCredentials(kind, 'L')), ['c3']);
    });
  }

  it('finds only unrevoked credentials of the kind and lookup asked for', async () => {
    await setup();
    await s.store.createCredential(
      credential('c1', { kind: 'password', lookup: 'alice', createdAt: T0 + 5 }),
    );
    await s.store.createCredential(
      credential('c2', { kind: 'password', lookup: 'alice', createdAt: T0 + 1 }),
    );
    await s.store.createCredential(credential('c3', { kind: 'password', lookup: 'alice', revokedAt: T0 }));
    await s.store.createCredential(credential('c4', { kind: 'hmac', lookup: 'alice' }));
    await s.store.createCredential(credential('c5', { kind: 'password', lookup: 'Alice', deviceId: 'd2' }));
    assert.deepEqual(ids(await s.store.findCredentials('password', 'alice')), ['c2', 'c1']);
    assert.deepEqual(ids(await s.store.findCredentials('hmac', 'alice')), ['c4']);
    assert.deepEqual(ids(await s.store.findCredentials('password', 'Alice')), ['c5']);
    assert.deepEqual(await s.store.findCredentials('token', 'alice'), []);
  });

  it('revokes a credential once: revoking again keeps the first time', async () => {
    await setup();
    await s.store.createCredential(credential('c1'));
    const revoked = await s.store.revokeCredential('c1', T0 + 100);
    assert.deepStrictEqual(revoked, credential('c1', { revokedAt: T0 + 100 }));
    assert.deepStrictEqual(await s.store.revokeCredential('c1', T0 + 200), revoked);
    assert.deepStrictEqual(await s.store.getCredential('c1'), revoked);
    assert.equal(await s.store.revokeCredential('nope', T0), undefined);
  });
}

export function tenantCaTests(s: SuiteContext): void {
  const setup = async () => {
    await s.store.createTenant(tenant('t1'));
    await s.store.createTenant(tenant('t2'));
  };

  it('adds, lists (oldest first, per tenant or all) and removes tenant CAs', async () => {
    await setup();
    const late = tenantCa('ca1', { createdAt: T0 + 10, subject: 'CN=Ünïcorp Root, O=例' });
    await s.store.addTenantCa(late);
    await s.store.addTenantCa(tenantCa('ca2'));
    await s.store.addTenantCa(tenantCa('ca3', { tenantId: 't2', createdAt: T0 + 5 }));
    assert.deepStrictEqual((await s.store.listTenantCas('t1'))[1], late);
    assert.deepEqual(ids(await s.store.listTenantCas('t1')), ['ca2', 'ca1']);
    assert.deepEqual(ids(await s.store.listTenantCas()), ['ca2', 'ca3', 'ca1']);
    assert.equal(await s.store.removeTenantCa('ca2'), true);
    assert.equal(await s.store.removeTenantCa('ca2'), false);
    assert.deepEqual(ids(await s.store.listTenantCas('t1')), ['ca1']);
  });

  it('rejects a duplicate CA id, the same CA twice in a tenant, and a missing tenant', async () => {
    await setup();
    await s.store.addTenantCa(tenantCa('ca1', { fingerprint256: 'FP' }));
    await rejectsWith(s.store.addTenantCa(tenantCa('ca1', { fingerprint256: 'FP2' })), 'CONFLICT', {
      field: 'id',
    });
    await rejectsWith(s.store.addTenantCa(tenantCa('ca2', { fingerprint256: 'FP' })), 'CONFLICT', {
      field: 'fingerprint256',
    });
    await s.store.addTenantCa(tenantCa('ca2', { fingerprint256: 'FP', tenantId: 't2' }));
    await rejectsWith(s.store.addTenantCa(tenantCa('ca3', { tenantId: 'ghost' })), 'NOT_FOUND', {
      field: 'tenantId',
    });
    assert.deepEqual(ids(await s.store.listTenantCas()), ['ca1', 'ca2']);
  });
}
