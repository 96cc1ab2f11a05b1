import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Device } from '../model.js';
import type { DevicePatch, ProfilePatch } from '../store.js';
import { credential, device, ids, profile, rejectsWith, T0, tenant, type SuiteContext } from './fixtures.js';

const ACL = [
  { action: 'publish' as const, topic: 'devices/%c/telemetry/#' },
  { action: 'subscribe' as const, topic: 'devices/%c/commands/+', permission: 'allow' as const },
  { action: 'all' as const, topic: 'secret/#', permission: 'deny' as const },
];

export function profileTests(s: SuiteContext): void {
  const setup = async () => {
    await s.store.createTenant(tenant('t1'));
    await s.store.createTenant(tenant('t2'));
  };

  it('creates, reads and lists profiles with their ACL and limits', async () => {
    await setup();
    const p2 = profile('p2', {
      description: 'Thermostats – 2nd generation',
      acl: ACL,
      limits: { maxConnections: 3, publishMessagesPerSecond: 10, publishBytesPerSecond: 65_536 },
      updatedAt: T0 + 9,
    });
    await s.store.createProfile(p2);
    await s.store.createProfile(profile('p1'));
    await s.store.createProfile(profile('p3', { tenantId: 't2' }));
    assert.deepStrictEqual(await s.store.getProfile('p2'), p2);
    assert.equal(await s.store.getProfile('nope'), undefined);
    assert.deepEqual(ids(await s.store.listProfiles()), ['p1', 'p2', 'p3']);
    assert.deepEqual(ids(await s.store.listProfiles('t1')), ['p1', 'p2']);
    assert.deepEqual(await s.store.listProfiles('nope'), []);
  });

  it('rejects a duplicate profile id with CONFLICT, and a profile of a missing tenant with NOT_FOUND', async () => {
    await setup();
    await s.store.createProfile(profile('p1'));
    await rejectsWith(s.store.createProfile(profile('p1', { tenantId: 't2' })), 'CONFLICT', { field: 'id' });
    await rejectsWith(s.store.createProfile(profile('p2', { tenantId: 'ghost' })), 'NOT_FOUND', {
      field: 'tenantId',
    });
    assert.deepEqual(ids(await s.store.listProfiles()), ['p1']);
  });

  it('updates name, description, ACL, limits and updatedAt, never the tenant', async () => {
    await setup();
    await s.store.createProfile(profile('p1', { acl: ACL }));
    const limits = { maxConnections: 1, publishMessagesPerSecond: 2, publishBytesPerSecond: 3 };
    const patch = { name: 'Renamed', description: 'd', acl: [], limits, updatedAt: T0 + 1, tenantId: 't2' };
    const expected = profile('p1', { name: 'Renamed', description: 'd', acl: [], limits, updatedAt: T0 + 1 });
    assert.deepStrictEqual(await s.store.updateProfile('p1', patch as ProfilePatch), expected);
    assert.deepStrictEqual(await s.store.getProfile('p1'), expected);
    assert.deepStrictEqual((await s.store.updateProfile('p1', { acl: ACL }))?.acl, ACL);
    assert.equal(await s.store.updateProfile('nope', { name: 'x' }), undefined);
  });

  it('refuses to delete a profile while devices use it', async () => {
    await setup();
    await s.store.createProfile(profile('p1'));
    await s.store.createDevice(device('d1', { profileId: 'p1' }));
    await s.store.createDevice(device('d2', { profileId: 'p1' }));
    await rejectsWith(s.store.deleteProfile('p1'), 'CONFLICT', { devices: 2 });
    await s.store.deleteDevice('d1');
    await s.store.updateDevice('d2', { profileId: null });
    assert.equal(await s.store.deleteProfile('p1'), true);
    assert.equal(await s.store.getProfile('p1'), undefined);
    assert.equal(await s.store.deleteProfile('p1'), false);
  });
}

export function deviceTests(s: SuiteContext): void {
  const setup = async () => {
    await s.store.createTenant(tenant('t1'));
    await s.store.createTenant(tenant('t2'));
    await s.store.createProfile(profile('p1'));
    await s.store.createProfile(profile('p2'));
  };

  it('round-trips every field of a device: JSON, unicode, nulls and large times', async () => {
    await setup();
    const full: Device = device('d1', {
      name: 'Salle de réunion — 温度计 🌡️',
      profileId: 'p1',
      type: 'thermostat',
      serial: 'SN-0001',
      tags: ['floor-2', 'hvac', 'ünïcödé'],
      labels: { building: 'Zürich HQ', room: '会议室', empty: '', 'key with spaces': 'v"quoted"\\' },
      acl: ACL,
      active: false,
      createdAt: T0 + 1,
      updatedAt: T0 + 2,
      lastSeen: 8_640_000_000_000,
    });
    const bare = device('d2');
    await s.store.createDevice(full);
    await s.store.createDevice(bare);
    assert.deepStrictEqual(await s.store.getDevice('d1'), full);
    assert.deepStrictEqual(await s.store.getDevice('d2'), bare);
    assert.equal(await s.store.getDevice('nope'), undefined);
  });

  it('rejects a duplicate device id across tenants with CONFLICT on id', async () => {
    await setup();
    await s.store.createDevice(device('d1'));
    await rejectsWith(s.store.createDevice(device('d1', { tenantId: 't2' })), 'CONFLICT', { field: 'id' });
    assert.equal((await s.store.getDevice('d1'))?.tenantId, 't1');
  });

  it('rejects a device of a missing tenant or profile with NOT_FOUND naming the field', async () => {
    await setup();
    await rejectsWith(s.store.createDevice(device('d1', { tenantId: 'ghost' })), 'NOT_FOUND', {
      field: 'tenantId',
    });
    await rejectsWith(s.store.createDevice(device('d1', { profileId: 'ghost' })), 'NOT_FOUND', {
      field: 'profileId',
    });
    assert.equal(await s.store.countDevices(), 0);
    await s.store.createDevice(device('d1', { profileId: 'p1' }));
    await rejectsWith(s.store.updateDevice('d1', { profileId: 'ghost' }), 'NOT_FOUND', {
      field: 'profileId',
    });
    assert.equal((await s.store.getDevice('d1'))?.profileId, 'p1');
  });

  it('updates the patched fields only, never id, tenant, createdAt or lastSeen', async () => {
    await setup();
    await s.store.createDevice(
      device('d1', { profileId: 'p1', serial: 'A', tags: ['x'], labels: { a: '1' } }),
    );
    await s.store.setLastSeen([{ deviceId: 'd1', at: T0 + 50 }]);
    const patch = {
      name: 'Renamed',
      profileId: 'p2',
      type: 'meter',
      tags: ['y', 'z'],
      labels: { b: '2' },
      acl: ACL,
      active: false,
      updatedAt: T0 + 60,
      serial: undefined,
      id: 'd9',
      tenantId: 't2',
      createdAt: 0,
      lastSeen: 1,
    } as DevicePatch;
    const expected = device('d1', {
      name: 'Renamed',
      profileId: 'p2',
      type: 'meter',
      serial: 'A',
      tags: ['y', 'z'],
      labels: { b: '2' },
      acl: ACL,
      active: false,
      updatedAt: T0 + 60,
      lastSeen: T0 + 50,
    });
    assert.deepStrictEqual(await s.store.updateDevice('d1', patch), expected);
    assert.deepStrictEqual(await s.store.getDevice('d1'), expected);
    const cleared = await s.store.updateDevice('d1', { profileId: null, serial: null, tags: [], labels: {} });
    assert.deepStrictEqual(cleared, { ...expected, profileId: null, serial: null, tags: [], labels: {} });
    assert.deepStrictEqual(await s.store.updateDevice('d1', {}), cleared);
    assert.equal(await s.store.updateDevice('nope', { name: 'x' }), undefined);
  });

  it('deletes a device with its credentials, and no other device’s', async () => {
    await setup();
    await s.store.createDevice(device('d1'));
    await s.store.createDevice(device('d2'));
    await s.store.createCredential(credential('c1', { kind: 'password', lookup: 'user-1', secret: 'h' }));
    await s.store.createCredential(credential('c2', { deviceId: 'd2' }));
    assert.equal(await s.store.deleteDevice('d1'), true);
    assert.equal(await s.store.getDevice('d1'), undefined);
    assert.equal(await s.store.getCredential('c1'), undefined);
    assert.deepEqual(await s.store.listCredentials('d1'), []);
    assert.deepEqual(await s.store.findCredentials('password', 'user-1'), []);
    assert.equal((await s.store.getCredential('c2'))?.deviceId, 'd2');
    assert.equal(await s.store.deleteDevice('d1'), false);
  });

  it('sets last-seen times in batches, ignoring unknown devices and leaving updatedAt', async () => {
    await setup();
    await s.store.createDevice(device('d1'));
    await s.store.createDevice(device('d2'));
    await s.store.createDevice(device('d3'));
    await s.store.setLastSeen([]);
    await s.store.setLastSeen([
      { deviceId: 'd1', at: T0 + 10 },
      { deviceId: 'ghost', at: T0 + 11 },
      { deviceId: 'd2', at: T0 + 12 },
    ]);
    await s.store.setLastSeen([{ deviceId: 'd1', at: T0 + 20 }]);
    const seen = await Promise.all(['d1', 'd2', 'd3'].map((id) => s.store.getDevice(id)));
    assert.deepEqual(
      seen.map((d) => d?.lastSeen),
      [T0 + 20, T0 + 12, null],
    );
    assert.equal(seen[0]?.updatedAt, T0);
    assert.equal(await s.store.getDevice('ghost'), undefined);
  });

  it('counts devices overall and per tenant', async () => {
    await setup();
    await s.store.createDevice(device('d1'));
    await s.store.createDevice(device('d2'));
    await s.store.createDevice(device('d3', { tenantId: 't2' }));
    assert.equal(await s.store.countDevices(), 3);
    assert.equal(await s.store.countDevices('t1'), 2);
    assert.equal(await s.store.countDevices('t2'), 1);
    assert.equal(await s.store.countDevices('nope'), 0);
  });
}
