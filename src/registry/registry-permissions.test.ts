/**
 * The permission model end to end: every role of tenant "own" tries every
 * management action on a record of its own tenant and of tenant "other", and a
 * platform admin tries them all. Allowed actions must succeed; forbidden ones
 * fail NOT_AUTHORIZED; anything of another tenant fails NOT_FOUND, exactly as
 * a missing record would.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isHalyardError } from '../core/errors.js';
import { createCertificateAuthority } from '../transport/pki.js';
import { openTestRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import type { Registry } from './registry.js';
import { SYSTEM_ACTOR, type Actor } from './service.js';

type Level = 'viewer' | 'operator' | 'admin' | 'platform';
const RANK: Record<Level, number> = { viewer: 0, operator: 1, admin: 2, platform: 3 };

interface Fixture {
  tenantId: string;
  deviceId: string;
  profileId: string;
  userId: string;
  credentialId: string;
  caId: string;
}

let counter = 0;
const unique = (prefix: string) => `${prefix}${++counter}`;

interface Case {
  name: string;
  needs: Level;
  run(r: Registry, actor: Actor, f: Fixture): Promise<unknown>;
}

/** Setup steps run as the system actor; only the call under test runs as `actor`. */
const CASES: Case[] = [
  { name: 'getTenant', needs: 'viewer', run: (r, a, f) => r.getTenant(a, f.tenantId) },
  {
    name: 'rename tenant',
    needs: 'admin',
    run: (r, a, f) => r.updateTenant(a, f.tenantId, { name: unique('T') }),
  },
  {
    name: 'set tenant connection limit',
    needs: 'platform',
    run: (r, a, f) => r.updateTenant(a, f.tenantId, { maxConnections: ++counter }),
  },
  { name: 'getUser', needs: 'viewer', run: (r, a, f) => r.getUser(a, f.userId) },
  {
    name: 'createUser',
    needs: 'admin',
    run: (r, a, f) =>
      r.createUser(a, {
        username: unique('user'),
        password: 'long enough',
        role: 'viewer',
        tenantId: f.tenantId,
      }),
  },
  {
    name: 'updateUser',
    needs: 'admin',
    run: async (r, a, f) => {
      const user = await r.getUser(SYSTEM_ACTOR, f.userId);
      return r.updateUser(a, f.userId, { role: user.role === 'viewer' ? 'operator' : 'viewer' });
    },
  },
  {
    name: 'setPassword of another user',
    needs: 'admin',
    run: (r, a, f) => r.setPassword(a, f.userId, 'new password'),
  },
  {
    name: 'deleteUser',
    needs: 'admin',
    run: async (r, a, f) => {
      const victim = await r.createUser(SYSTEM_ACTOR, {
        username: unique('victim'),
        password: 'long enough',
        role: 'viewer',
        tenantId: f.tenantId,
      });
      return r.deleteUser(a, victim.id);
    },
  },
  { name: 'getProfile', needs: 'viewer', run: (r, a, f) => r.getProfile(a, f.profileId) },
  {
    name: 'createProfile',
    needs: 'admin',
    run: (r, a, f) => r.createProfile(a, { tenantId: f.tenantId, name: 'P' }),
  },
  {
    name: 'updateProfile',
    needs: 'admin',
    run: (r, a, f) => r.updateProfile(a, f.profileId, { acl: [{ action: 'all', topic: unique('t/') }] }),
  },
  {
    name: 'deleteProfile',
    needs: 'admin',
    run: async (r, a, f) => {
      const p = await r.createProfile(SYSTEM_ACTOR, { tenantId: f.tenantId, name: 'doomed' });
      return r.deleteProfile(a, p.id);
    },
  },
  { name: 'getDevice', needs: 'viewer', run: (r, a, f) => r.getDevice(a, f.deviceId) },
  { name: 'createDevice', needs: 'operator', run: (r, a, f) => r.createDevice(a, { tenantId: f.tenantId }) },
  {
    name: 'updateDevice',
    needs: 'operator',
    run: (r, a, f) => r.updateDevice(a, f.deviceId, { name: unique('n') }),
  },
  {
    name: 'edit device ACL',
    needs: 'operator',
    run: (r, a, f) => r.updateDevice(a, f.deviceId, { acl: [{ action: 'publish', topic: unique('t/') }] }),
  },
  {
    name: 'deactivate device',
    needs: 'operator',
    run: async (r, a, f) => {
      await r.setDeviceActive(SYSTEM_ACTOR, f.deviceId, true);
      return r.setDeviceActive(a, f.deviceId, false);
    },
  },
  {
    name: 'deleteDevice',
    needs: 'admin',
    run: async (r, a, f) => {
      const d = await r.createDevice(SYSTEM_ACTOR, { tenantId: f.tenantId });
      return r.deleteDevice(a, d.id);
    },
  },
  { name: 'listCredentials', needs: 'viewer', run: (r, a, f) => r.listCredentials(a, f.deviceId) },
  {
    name: 'issueCredential',
    needs: 'operator',
    run: (r, a, f) => r.issueCredential(a, f.deviceId, { kind: 'token' }),
  },
  { name: 'rotateCredential', needs: 'operator', run: (r, a, f) => r.rotateCredential(a, f.credentialId) },
  {
    name: 'revokeCredential',
    needs: 'operator',
    run: async (r, a, f) => {
      const { credential } = await r.issueCredential(SYSTEM_ACTOR, f.deviceId, { kind: 'hmac' });
      return r.revokeCredential(a, credential.id);
    },
  },
  { name: 'listTenantCas', needs: 'viewer', run: (r, a, f) => r.listTenantCas(a, f.tenantId) },
  {
    name: 'addTenantCa',
    needs: 'admin',
    run: async (r, a, f) => {
      const ca = await createCertificateAuthority({ commonName: unique('CA '), days: 5 });
      return r.addTenantCa(a, f.tenantId, ca.certPem);
    },
  },
  {
    name: 'removeTenantCa',
    needs: 'admin',
    run: async (r, a, f) => {
      const ca = await createCertificateAuthority({ commonName: unique('CA '), days: 5 });
      const added = await r.addTenantCa(SYSTEM_ACTOR, f.tenantId, ca.certPem);
      return r.removeTenantCa(a, f.tenantId, added.id);
    },
  },
];

async function makeFixture(r: Registry, tenantId: string): Promise<Fixture> {
  await r.createTenant(SYSTEM_ACTOR, { id: tenantId, name: tenantId });
  const profile = await r.createProfile(SYSTEM_ACTOR, { tenantId, name: 'Profile' });
  const device = await r.createDevice(SYSTEM_ACTOR, { tenantId, profileId: profile.id });
  const user = await r.createUser(SYSTEM_ACTOR, {
    username: `someone-${tenantId}`,
    password: 'long enough',
    role: 'viewer',
    tenantId,
  });
  const { credential } = await r.issueCredential(SYSTEM_ACTOR, device.id, { kind: 'token' });
  const ca = await createCertificateAuthority({ commonName: `${tenantId} CA`, days: 5 });
  const tenantCa = await r.addTenantCa(SYSTEM_ACTOR, tenantId, ca.certPem);
  return {
    tenantId,
    deviceId: device.id,
    profileId: profile.id,
    userId: user.id,
    credentialId: credential.id,
    caId: tenantCa.id,
  };
}

const actorOf = (level: Level): Actor =>
  level === 'platform'
    ? { type: 'user', id: 'u-platform', name: 'platform', tenantId: null, role: 'admin' }
    : { type: 'api-token', id: `u-${level}`, name: level, tenantId: 'own', role: level };

describe('permission matrix (role × action × tenant)', () => {
  let t: TestRegistry;
  const fixtures: Record<string, Fixture> = {};
  before(async () => {
    t = await openTestRegistry();
    fixtures.own = await makeFixture(t.registry, 'own');
    fixtures.other = await makeFixture(t.registry, 'other');
  });
  after(() => t.close());

  for (const level of ['viewer', 'operator', 'admin', 'platform'] as const) {
    for (const c of CASES) {
      const allowed = RANK[level] >= RANK[c.needs];
      it(`${level} ${c.name}: own tenant ${allowed ? 'allowed' : 'NOT_AUTHORIZED'}`, async () => {
        const run = c.run(t.registry, actorOf(level), fixtures.own);
        if (allowed) await run;
        else await assert.rejects(run, (err) => isHalyardError(err, 'NOT_AUTHORIZED'));
      });
      it(`${level} ${c.name}: other tenant ${level === 'platform' ? 'allowed' : 'NOT_FOUND'}`, async () => {
        const run = c.run(t.registry, actorOf(level), fixtures.other);
        if (level === 'platform') await run;
        else await assert.rejects(run, (err) => isHalyardError(err, 'NOT_FOUND'));
      });
    }
  }

  it('answers another tenant record and a missing one alike', async () => {
    const admin = actorOf('admin');
    const errors: unknown[] = [];
    for (const id of [fixtures.other.deviceId, 'no-such-device']) {
      await t.registry.getDevice(admin, id).catch((err: unknown) => errors.push(err));
    }
    assert.equal(errors.length, 2);
    const [foreign, missing] = errors as Array<{ code: string; message: string }>;
    assert.equal(foreign.code, missing.code);
    assert.equal(
      foreign.message.replace(fixtures.other.deviceId, 'X'),
      missing.message.replace('no-such-device', 'X'),
    );
  });

  it('lets only a platform admin create and delete tenants', async () => {
    for (const level of ['viewer', 'operator', 'admin'] as const) {
      await assert.rejects(t.registry.createTenant(actorOf(level), { name: 'Nope' }), (err) =>
        isHalyardError(err, 'NOT_AUTHORIZED'),
      );
      await assert.rejects(t.registry.deleteTenant(actorOf(level), 'own'), (err) =>
        isHalyardError(err, 'NOT_AUTHORIZED'),
      );
      await assert.rejects(t.registry.deleteTenant(actorOf(level), 'other'), (err) =>
        isHalyardError(err, 'NOT_FOUND'),
      );
    }
    const tenant = await t.registry.createTenant(actorOf('platform'), { name: 'Fresh' });
    await t.registry.deleteTenant(actorOf('platform'), tenant.id);
    await assert.rejects(t.registry.getTenant(actorOf('platform'), tenant.id), (err) =>
      isHalyardError(err, 'NOT_FOUND'),
    );
  });

  it('lets every role read its own tenant audit log, and only that', async () => {
    for (const level of ['viewer', 'operator', 'admin'] as const) {
      const entries = await t.registry.queryAudit(actorOf(level), { limit: 1000 });
      assert.ok(entries.length > 0, level);
      assert.ok(
        entries.every((e) => e.tenantId === 'own'),
        level,
      );
    }
    const all = await t.registry.queryAudit(actorOf('platform'), { limit: 1000 });
    assert.ok(all.some((e) => e.tenantId === 'other'));
  });
});
