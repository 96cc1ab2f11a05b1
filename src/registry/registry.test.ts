import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isHalyardError, type ErrorCode } from '../core/errors.js';
import { openTestRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { ID_PATTERN } from './model.js';
import { SYSTEM_ACTOR, type Actor, type RegistryEvents } from './service.js';

const actor = (role: Actor['role'], tenantId: string | null, id = `${role}-${tenantId}`): Actor => ({
  type: 'user',
  id,
  name: id,
  tenantId,
  role,
  address: '192.0.2.7',
});

async function rejects(promise: Promise<unknown>, code: ErrorCode, field?: string): Promise<void> {
  await assert.rejects(promise, (err) => {
    assert.ok(isHalyardError(err, code), `expected ${code}, got ${String(err)}`);
    if (field !== undefined) assert.equal(err.context.field, field);
    return true;
  });
}

function recordEvents(t: TestRegistry): Array<[string, unknown]> {
  const seen: Array<[string, unknown]> = [];
  const names: Array<keyof RegistryEvents> = [
    'device.created',
    'device.updated',
    'device.deactivated',
    'device.activated',
    'device.deleted',
    'credential.revoked',
    'acl.changed',
    'user.changed',
    'user.deleted',
    'tenant.ca.changed',
  ];
  for (const name of names) t.registry.on(name, (arg: unknown) => seen.push([name, arg]));
  return seen;
}

describe('Registry management', () => {
  let t: TestRegistry;
  before(async () => {
    t = await openTestRegistry();
    await t.registry.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Acme' });
    await t.registry.createTenant(SYSTEM_ACTOR, { id: 'globex', name: 'Globex' });
  });
  after(() => t.close());

  it('creates tenants with a slug id from the name, and unique ids on collision', async () => {
    const a = await t.registry.createTenant(SYSTEM_ACTOR, { name: 'Initech Corp.' });
    assert.equal(a.id, 'initech-corp');
    const b = await t.registry.createTenant(SYSTEM_ACTOR, { name: 'Initech Corp!' });
    assert.match(b.id, /^initech-corp-[a-z2-7]{4}$/);
    const c = await t.registry.createTenant(SYSTEM_ACTOR, { name: '株式会社' });
    assert.match(c.id, ID_PATTERN);
    await rejects(t.registry.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Again' }), 'CONFLICT');
    await rejects(t.registry.createTenant(SYSTEM_ACTOR, { id: 'bad id', name: 'x' }), 'INVALID_INPUT', 'id');
    await rejects(t.registry.createTenant(SYSTEM_ACTOR, { name: '' }), 'INVALID_INPUT', 'name');
    await rejects(
      t.registry.createTenant(SYSTEM_ACTOR, { name: 'x', maxConnections: -1 }),
      'INVALID_INPUT',
      'maxConnections',
    );
  });

  it('sets telemetry retention: tenant admins for their own tenant, checked and audited', async () => {
    const created = await t.registry.createTenant(SYSTEM_ACTOR, { name: 'Retention Co' });
    assert.deepEqual([created.retentionDays, created.keyRetentionDays], [0, {}]);
    const admin = actor('admin', 'acme');
    const updated = await t.registry.updateTenant(admin, 'acme', {
      retentionDays: 30,
      keyRetentionDays: { debug_log: 7, archive: 3650 },
    });
    assert.deepEqual(
      [updated.retentionDays, updated.keyRetentionDays],
      [30, { debug_log: 7, archive: 3650 }],
    );
    const [entry] = await t.registry.queryAudit(SYSTEM_ACTOR, { action: 'tenant.update', limit: 1 });
    assert.deepEqual(entry.details, {
      fields: ['retentionDays', 'keyRetentionDays'],
      retentionDays: 30,
      keyRetentionDays: { debug_log: 7, archive: 3650 },
    });
    await rejects(
      t.registry.updateTenant(actor('operator', 'acme'), 'acme', { retentionDays: 1 }),
      'NOT_AUTHORIZED',
    );
    await rejects(
      t.registry.updateTenant(actor('admin', 'globex'), 'acme', { retentionDays: 1 }),
      'NOT_FOUND',
    );
    const bad = (patch: object, field: string) =>
      rejects(t.registry.updateTenant(admin, 'acme', patch), 'INVALID_INPUT', field);
    await bad({ retentionDays: 36_501 }, 'retentionDays');
    await bad({ retentionDays: -1 }, 'retentionDays');
    await bad({ keyRetentionDays: { x: 0.5 } }, 'keyRetentionDays.x');
    await bad({ keyRetentionDays: { ['k'.repeat(129)]: 1 } }, 'keyRetentionDays key');
    await bad({ keyRetentionDays: null }, 'keyRetentionDays');
    await bad(
      { keyRetentionDays: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, 1])) },
      'keyRetentionDays',
    );
    await rejects(
      t.registry.createTenant(SYSTEM_ACTOR, { name: 'x', retentionDays: 40_000 }),
      'INVALID_INPUT',
      'retentionDays',
    );
    assert.equal((await t.registry.getTenant(admin, 'acme')).retentionDays, 30);
    await t.registry.updateTenant(admin, 'acme', { retentionDays: 0, keyRetentionDays: {} });
  });

  it('creates devices with generated ids and defaults, and emits device.created', async () => {
    const events = recordEvents(t);
    const device = await t.registry.createDevice(actor('operator', 'acme'), { type: 'thermostat' });
    assert.match(device.id, /^d-[a-z2-7]{10}$/);
    assert.equal(device.name, device.id);
    assert.equal(device.tenantId, 'acme');
    assert.equal(device.active, true);
    assert.deepEqual(device.acl, []);
    assert.deepEqual(events, [['device.created', device]]);
    assert.deepEqual(await t.registry.getDevice(actor('viewer', 'acme'), device.id), device);
  });

  it('validates device input and names the field', async () => {
    const op = actor('operator', 'acme');
    await rejects(t.registry.createDevice(op, { id: '-x' }), 'INVALID_INPUT', 'id');
    await rejects(t.registry.createDevice(op, { tags: ['a', ''] }), 'INVALID_INPUT', 'tags[1]');
    await rejects(
      t.registry.createDevice(op, { tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }),
      'INVALID_INPUT',
      'tags',
    );
    await rejects(
      t.registry.createDevice(op, { labels: { k: 'x'.repeat(257) } }),
      'INVALID_INPUT',
      'labels.k',
    );
    await rejects(
      t.registry.createDevice(op, { acl: [{ action: 'publish', topic: 'a/#/b' }] }),
      'INVALID_INPUT',
      'acl[0].topic',
    );
    await rejects(
      t.registry.createDevice(op, { acl: [{ action: 'write' as 'publish', topic: 'a' }] }),
      'INVALID_INPUT',
      'acl[0].action',
    );
    await rejects(
      t.registry.createDevice(op, {
        acl: [{ action: 'all', topic: 'a', permission: 'maybe' as 'allow' }],
      }),
      'INVALID_INPUT',
      'acl[0].permission',
    );
    const many = Array.from({ length: 10_001 }, () => ({ action: 'all' as const, topic: 'x' }));
    await rejects(t.registry.createDevice(op, { acl: many }), 'INVALID_INPUT', 'acl');
    // A platform-level actor must say where the device goes.
    await rejects(t.registry.createDevice(SYSTEM_ACTOR, {}), 'INVALID_INPUT', 'tenantId');
    await rejects(t.registry.createDevice(SYSTEM_ACTOR, { tenantId: 'nope' }), 'NOT_FOUND', 'tenantId');
  });

  it('refuses another tenant profile as if it did not exist', async () => {
    const theirs = await t.registry.createProfile(SYSTEM_ACTOR, { tenantId: 'globex', name: 'Theirs' });
    await rejects(
      t.registry.createDevice(actor('admin', 'acme'), { profileId: theirs.id }),
      'NOT_FOUND',
      'profileId',
    );
    await rejects(
      t.registry.createDevice(actor('admin', 'acme'), { profileId: 'missing' }),
      'NOT_FOUND',
      'profileId',
    );
  });

  it('updates devices: device.updated, acl.changed, audit with changed fields', async () => {
    const op = actor('operator', 'acme');
    const device = await t.registry.createDevice(op, { id: 'upd-1' });
    const events = recordEvents(t);
    const updated = await t.registry.updateDevice(op, device.id, { name: 'Boiler', tags: ['b', 'a', 'b'] });
    assert.equal(updated.name, 'Boiler');
    assert.deepEqual(updated.tags, ['b', 'a']);
    const acl = [{ action: 'publish' as const, topic: 'boiler/+/temp' }];
    const withAcl = await t.registry.updateDevice(op, device.id, { acl });
    assert.deepEqual(withAcl.acl, [{ action: 'publish', topic: 'boiler/+/temp', permission: 'allow' }]);
    assert.deepEqual(
      events.map(([name]) => name),
      ['device.updated', 'device.updated', 'acl.changed'],
    );
    assert.deepEqual(events[2][1], { deviceId: device.id });
    const entries = await t.registry.queryAudit(SYSTEM_ACTOR, { target: `device:${device.id}` });
    const update = entries.find((e) => e.action === 'device.update');
    assert.deepEqual(update?.details.fields, ['name', 'tags']);
    assert.equal(update?.actor, op.name);
    assert.equal(update?.address, '192.0.2.7');
    assert.equal(update?.tenantId, 'acme');
    const aclEntry = entries.find((e) => e.action === 'acl.change');
    assert.deepEqual(aclEntry?.details.acl, withAcl.acl);
  });

  it('deactivates and activates devices with events and audit', async () => {
    const op = actor('operator', 'acme');
    const device = await t.registry.createDevice(op, {});
    const events = recordEvents(t);
    const off = await t.registry.setDeviceActive(op, device.id, false);
    assert.equal(off.active, false);
    // Deactivating twice changes nothing and says nothing.
    await t.registry.setDeviceActive(op, device.id, false);
    const on = await t.registry.setDeviceActive(op, device.id, true);
    assert.equal(on.active, true);
    assert.deepEqual(
      events.map(([name]) => name),
      ['device.deactivated', 'device.activated'],
    );
    const actions = (await t.registry.queryAudit(SYSTEM_ACTOR, { target: `device:${device.id}` })).map(
      (e) => e.action,
    );
    assert.deepEqual(actions, ['device.activate', 'device.deactivate', 'device.create']);
  });

  it('deletes devices with device.deleted, and their credentials with them', async () => {
    const admin = actor('admin', 'acme');
    const device = await t.registry.createDevice(admin, {});
    const { credential } = await t.registry.issueCredential(admin, device.id, { kind: 'token' });
    const events = recordEvents(t);
    await t.registry.deleteDevice(admin, device.id);
    assert.deepEqual(events, [['device.deleted', device]]);
    await rejects(t.registry.getDevice(admin, device.id), 'NOT_FOUND');
    assert.equal(await t.store.getCredential(credential.id), undefined);
  });

  it('updates profiles, emitting acl.changed for their ACL', async () => {
    const admin = actor('admin', 'acme');
    const profile = await t.registry.createProfile(admin, { name: 'Sensors', limits: { maxConnections: 2 } });
    assert.equal(profile.tenantId, 'acme');
    assert.deepEqual(profile.limits, {
      maxConnections: 2,
      publishMessagesPerSecond: 0,
      publishBytesPerSecond: 0,
    });
    const events = recordEvents(t);
    const updated = await t.registry.updateProfile(admin, profile.id, {
      acl: [{ action: 'subscribe', topic: 'cmd/#', permission: 'deny' }],
      limits: { publishMessagesPerSecond: 5 },
    });
    assert.equal(updated.limits.maxConnections, 2);
    assert.equal(updated.limits.publishMessagesPerSecond, 5);
    assert.deepEqual(events, [['acl.changed', { profileId: profile.id }]]);
    await rejects(
      t.registry.updateProfile(admin, profile.id, { limits: { bogus: 1 } as never }),
      'INVALID_INPUT',
      'limits.bogus',
    );
    // In use: the store refuses, and the profile stays.
    await t.registry.createDevice(admin, { profileId: profile.id });
    await rejects(t.registry.deleteProfile(admin, profile.id), 'CONFLICT');
    assert.equal((await t.registry.getProfile(admin, profile.id)).id, profile.id);
  });

  it('scopes lists to the actor tenant', async () => {
    await t.registry.createDevice(SYSTEM_ACTOR, { tenantId: 'globex', id: 'globex-dev' });
    const acmeViewer = actor('viewer', 'acme');
    const own = await t.registry.listDevices(acmeViewer, {});
    assert.ok(own.items.length > 0);
    assert.ok(own.items.every((d) => d.tenantId === 'acme'));
    assert.deepEqual(await t.registry.listDevices(acmeViewer, { tenantId: 'globex' }), {
      items: [],
      total: 0,
    });
    const all = await t.registry.listDevices(SYSTEM_ACTOR, {});
    assert.ok(all.items.some((d) => d.id === 'globex-dev'));
    assert.deepEqual(
      (await t.registry.listTenants(acmeViewer)).map((x) => x.id),
      ['acme'],
    );
    assert.ok((await t.registry.listTenants(SYSTEM_ACTOR)).length >= 2);
    assert.deepEqual(await t.registry.listProfiles(acmeViewer, { tenantId: 'globex' }), []);
    await rejects(t.registry.listDevices(acmeViewer, { limit: 5000 }), 'INVALID_INPUT', 'limit');
  });

  it('keeps each tenant to its own audit entries', async () => {
    await t.registry.createDevice(SYSTEM_ACTOR, { tenantId: 'globex' });
    const acme = await t.registry.queryAudit(actor('viewer', 'acme'), {});
    assert.ok(acme.length > 0);
    assert.ok(acme.every((e) => e.tenantId === 'acme'));
    assert.deepEqual(await t.registry.queryAudit(actor('viewer', 'acme'), { tenantId: 'globex' }), []);
    const globex = await t.registry.queryAudit(SYSTEM_ACTOR, { tenantId: 'globex' });
    assert.ok(globex.some((e) => e.action === 'device.create'));
  });

  it('manages users within a tenant, never platform admins from a tenant', async () => {
    const admin = actor('admin', 'acme');
    const user = await t.registry.createUser(admin, {
      username: 'olga',
      password: 'long enough',
      role: 'operator',
    });
    assert.equal(user.tenantId, 'acme');
    assert.ok(user.passwordHash.startsWith('$scrypt$'));
    await rejects(
      t.registry.createUser(admin, {
        username: 'root2',
        password: 'long enough',
        role: 'admin',
        tenantId: null,
      }),
      'NOT_AUTHORIZED',
    );
    await rejects(
      t.registry.createUser(admin, {
        username: 'x',
        password: 'long enough',
        role: 'viewer',
        tenantId: 'globex',
      }),
      'NOT_FOUND',
      'tenantId',
    );
    await rejects(
      t.registry.createUser(admin, { username: 'shorty', password: 'short', role: 'viewer' }),
      'INVALID_INPUT',
      'password',
    );
    await rejects(
      t.registry.createUser(admin, { username: 'olga', password: 'long enough', role: 'viewer' }),
      'CONFLICT',
    );
    await rejects(
      t.registry.createUser(admin, { username: 'bad name', password: 'long enough', role: 'viewer' }),
      'INVALID_INPUT',
      'username',
    );
    await rejects(
      t.registry.createUser(admin, { username: 'r', password: 'long enough', role: 'root' as 'admin' }),
      'INVALID_INPUT',
      'role',
    );
    const events = recordEvents(t);
    const promoted = await t.registry.updateUser(admin, user.id, { role: 'admin' });
    assert.equal(promoted.role, 'admin');
    await t.registry.deleteUser(admin, user.id);
    assert.deepEqual(
      events.map(([name]) => name),
      ['user.changed', 'user.deleted'],
    );
    const listed = await t.registry.listUsers(actor('viewer', 'acme'));
    assert.ok(listed.every((u) => u.tenantId === 'acme'));
  });

  it('protects people from locking themselves or the platform out', async () => {
    const root = await t.registry.createUser(SYSTEM_ACTOR, {
      username: 'root',
      password: 'long enough',
      role: 'admin',
      tenantId: null,
    });
    const self: Actor = { type: 'user', id: root.id, name: root.username, tenantId: null, role: 'admin' };
    await rejects(t.registry.updateUser(self, root.id, { active: false }), 'NOT_AUTHORIZED');
    await rejects(t.registry.deleteUser(self, root.id), 'NOT_AUTHORIZED');
    // The only platform admin: the system cannot remove it either.
    await rejects(t.registry.updateUser(SYSTEM_ACTOR, root.id, { active: false }), 'CONFLICT');
    await rejects(t.registry.deleteUser(SYSTEM_ACTOR, root.id), 'CONFLICT');
    await rejects(t.registry.updateUser(SYSTEM_ACTOR, root.id, { role: 'viewer' }), 'INVALID_INPUT', 'role');
    // A second one makes the first removable.
    await t.registry.createUser(self, {
      username: 'root-b',
      password: 'long enough',
      role: 'admin',
      tenantId: null,
    });
    await t.registry.deleteUser(SYSTEM_ACTOR, root.id);
    await rejects(t.registry.getUser(SYSTEM_ACTOR, root.id), 'NOT_FOUND');
  });

  it('changes passwords: own needs the current one, admins set others', async () => {
    const admin = actor('admin', 'acme');
    const user = await t.registry.createUser(admin, {
      username: 'pat',
      password: 'first-pass',
      role: 'viewer',
    });
    const self: Actor = {
      type: 'user',
      id: user.id,
      name: 'pat',
      tenantId: 'acme',
      role: 'viewer',
      address: '::1',
    };
    await rejects(t.registry.setPassword(self, user.id, 'second-pass'), 'INVALID_INPUT', 'currentPassword');
    await rejects(t.registry.setPassword(self, user.id, 'second-pass', 'wrong-pass'), 'BAD_CREDENTIALS');
    await t.registry.setPassword(self, user.id, 'second-pass', 'first-pass');
    const ctx = { address: '::1', via: 'http' };
    assert.equal((await t.registry.loginUser('pat', 'second-pass', ctx)).ok, true);
    // A viewer may not set another user's password; an admin may, without the current one.
    const other = actor('viewer', 'acme');
    await rejects(t.registry.setPassword(other, user.id, 'third-pass'), 'NOT_AUTHORIZED');
    await t.registry.setPassword(admin, user.id, 'third-pass');
    assert.equal((await t.registry.loginUser('pat', 'third-pass', ctx)).ok, true);
    assert.equal((await t.registry.loginUser('pat', 'second-pass', ctx)).ok, false);
    await rejects(t.registry.setPassword(actor('admin', 'globex'), user.id, 'fourth-pass'), 'NOT_FOUND');
  });

  it('manages tenant CAs: only CA certificates, events, no duplicates', async () => {
    const { createCertificateAuthority, issueCertificate } = await import('../transport/pki.js');
    const admin = actor('admin', 'acme');
    const tenantCa = await createCertificateAuthority({ commonName: 'Acme Devices', days: 10 });
    const events = recordEvents(t);
    const ca = await t.registry.addTenantCa(admin, 'acme', tenantCa.certPem);
    assert.match(ca.subject, /CN=Acme Devices/);
    assert.match(ca.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    await rejects(t.registry.addTenantCa(admin, 'acme', tenantCa.certPem), 'CONFLICT', 'certPem');
    const leaf = await issueCertificate(tenantCa, { commonName: 'leaf', usage: 'client', days: 1 });
    await rejects(t.registry.addTenantCa(admin, 'acme', leaf.certPem), 'INVALID_INPUT', 'certPem');
    await rejects(t.registry.addTenantCa(admin, 'acme', 'hello'), 'INVALID_INPUT', 'certPem');
    assert.deepEqual(
      (await t.registry.listTenantCas(actor('viewer', 'acme'), 'acme')).map((c) => c.id),
      [ca.id],
    );
    await rejects(t.registry.removeTenantCa(admin, 'acme', 'ca-missing'), 'NOT_FOUND');
    await t.registry.removeTenantCa(admin, 'acme', ca.id);
    assert.deepEqual(events, [
      ['tenant.ca.changed', 'acme'],
      ['tenant.ca.changed', 'acme'],
    ]);
  });

  it('deletes a tenant only when empty, taking its profiles along', async () => {
    const tenant = await t.registry.createTenant(SYSTEM_ACTOR, { id: 'short-lived', name: 'Short' });
    await t.registry.createProfile(SYSTEM_ACTOR, { tenantId: tenant.id, name: 'P' });
    const device = await t.registry.createDevice(SYSTEM_ACTOR, { tenantId: tenant.id });
    await rejects(t.registry.deleteTenant(SYSTEM_ACTOR, tenant.id), 'CONFLICT');
    assert.equal((await t.registry.listProfiles(SYSTEM_ACTOR, { tenantId: tenant.id })).length, 1);
    await t.registry.deleteDevice(SYSTEM_ACTOR, device.id);
    await t.registry.deleteTenant(SYSTEM_ACTOR, tenant.id);
    await rejects(t.registry.getTenant(SYSTEM_ACTOR, tenant.id), 'NOT_FOUND');
  });

  it('keeps going when an event listener throws', async () => {
    const failing = () => {
      throw new Error('listener bug');
    };
    let reached = false;
    const second = () => {
      reached = true;
    };
    t.registry.on('device.created', failing);
    t.registry.on('device.created', second);
    try {
      const device = await t.registry.createDevice(actor('operator', 'acme'), {});
      assert.equal(device.active, true);
      assert.equal(reached, true);
    } finally {
      t.registry.off('device.created', failing);
      t.registry.off('device.created', second);
    }
  });

  it('audits a refused action with outcome failure', async () => {
    const viewer = actor('viewer', 'acme', 'vera');
    await rejects(t.registry.createDevice(viewer, {}), 'NOT_AUTHORIZED');
    const [entry] = await t.registry.queryAudit(SYSTEM_ACTOR, { actor: 'vera' });
    assert.equal(entry.action, 'device.create');
    assert.equal(entry.outcome, 'failure');
    assert.equal(entry.tenantId, 'acme');
  });
});
