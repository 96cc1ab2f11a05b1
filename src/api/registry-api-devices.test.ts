import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { z } from 'zod';
import { createCertificateAuthority, issueCertificate } from '../transport/pki.js';
import {
  assertNoSecretLeaked,
  expectStatus,
  openApiHarness,
  seedTenants,
  type ApiHarness,
  type IssuedSecret,
  type Seed,
} from './api-test-support.js';
import type {
  AuditEntryDto,
  CredentialDto,
  DeviceDto,
  IssuedCredentialDto,
  ProfileDto,
  TenantCaDto,
} from './dto.js';

type Profile = z.infer<typeof ProfileDto>;
type Device = z.infer<typeof DeviceDto>;
type Credential = z.infer<typeof CredentialDto>;
type Issued = z.infer<typeof IssuedCredentialDto>;
type TenantCa = z.infer<typeof TenantCaDto>;
type AuditEntry = z.infer<typeof AuditEntryDto>;

describe('REST API: profiles, devices, credentials and audit', () => {
  let h: ApiHarness;
  let s: Seed;
  const issuedSecrets: IssuedSecret[] = [];
  const remember = (value: string | undefined, what: string) => {
    assert.ok(value, `${what} was issued`);
    issuedSecrets.push({ value, response: h.responses.length - 1, what });
  };

  before(async () => {
    h = await openApiHarness();
    s = await seedTenants(h);
  });
  after(() => h.close());

  it('profiles: admins manage them and their ACL; operators and viewers only read', async () => {
    const admin = s.acme.admin.token;
    const created = await expectStatus(h, 201, 'POST', '/api/profiles', {
      token: admin,
      body: {
        id: 'sensor',
        name: 'Sensor',
        description: 'battery sensors',
        acl: [{ action: 'publish', topic: 'sensors/%c/#' }],
        limits: { publishMessagesPerSecond: 10 },
      },
    });
    const profile = created.json<Profile>();
    assert.equal(profile.tenantId, 'acme');
    assert.equal(profile.limits.publishMessagesPerSecond, 10);
    assert.equal(profile.limits.maxConnections, 0);

    const patched = await expectStatus(h, 200, 'PATCH', '/api/profiles/sensor', {
      token: admin,
      body: { description: 'all sensors' },
    });
    assert.equal(patched.json<Profile>().description, 'all sensors');
    const acl = await expectStatus(h, 200, 'GET', '/api/profiles/sensor/acl', { token: s.acme.viewer.token });
    assert.deepEqual(
      acl.json<{ rules: Array<{ topic: string }> }>().rules.map((r) => r.topic),
      ['sensors/%c/#'],
    );
    const rules = [
      { action: 'publish', topic: 'sensors/%c/#' },
      { action: 'subscribe', topic: 'commands/%c', permission: 'allow' },
      { action: 'all', topic: 'admin/#', permission: 'deny' },
    ];
    const put = await expectStatus(h, 200, 'PUT', '/api/profiles/sensor/acl', {
      token: admin,
      body: { rules },
    });
    assert.equal(put.json<{ rules: unknown[] }>().rules.length, 3);
    const listed = (
      await expectStatus(h, 200, 'GET', '/api/profiles', { token: s.acme.operator.token })
    ).json<Profile[]>();
    assert.deepEqual(
      listed.map((p) => [p.id, p.acl.length]),
      [['sensor', 3]],
    );

    await expectStatus(h, 403, 'PUT', '/api/profiles/sensor/acl', {
      token: s.acme.operator.token,
      body: { rules },
    });
    await expectStatus(h, 403, 'POST', '/api/profiles', { token: s.acme.viewer.token, body: { name: 'x' } });
    await expectStatus(h, 403, 'DELETE', '/api/profiles/sensor', { token: s.acme.operator.token });
    await expectStatus(h, 201, 'POST', '/api/profiles', {
      token: admin,
      body: { id: 'spare', name: 'Spare' },
    });
    await expectStatus(h, 204, 'DELETE', '/api/profiles/spare', { token: admin });
    await expectStatus(h, 404, 'GET', '/api/profiles/spare', { token: admin });
  });

  it('devices: operators create, change, (de)activate and set ACLs; only admins delete; viewers read', async () => {
    const op = s.acme.operator.token;
    const make = async (body: Record<string, unknown>) =>
      (await expectStatus(h, 201, 'POST', '/api/devices', { token: op, body })).json<Device>();
    const d1 = await make({
      id: 'therm-1',
      name: 'Thermostat 1',
      profileId: 'sensor',
      type: 'thermostat',
      serial: 'SN-001',
      tags: ['floor-1', 'hvac'],
      labels: { room: 'lobby' },
    });
    assert.deepEqual(
      [d1.tenantId, d1.profileId, d1.active, d1.online, d1.lastSeen],
      ['acme', 'sensor', true, false, null],
    );
    await make({ id: 'therm-2', name: 'Thermostat 2', type: 'thermostat', tags: ['floor-2'] });
    await make({ id: 'meter-1', name: 'Meter', type: 'meter', tags: ['floor-1'] });
    await expectStatus(h, 409, 'POST', '/api/devices', { token: op, body: { id: 'therm-1' } });
    await expectStatus(h, 404, 'POST', '/api/devices', {
      token: op,
      body: { id: 'x-1', profileId: 'missing' },
    });

    h.online.add('therm-1');
    const got = (
      await expectStatus(h, 200, 'GET', '/api/devices/therm-1', { token: s.acme.viewer.token })
    ).json<Device>();
    assert.equal(got.online, true);

    type Page = { items: Device[]; total: number };
    const ids = async (query: string) => {
      const page = (await expectStatus(h, 200, 'GET', `/api/devices${query}`, { token: op })).json<Page>();
      return { ids: page.items.map((d) => d.id).sort(), total: page.total };
    };
    assert.deepEqual(await ids('?type=thermostat'), { ids: ['therm-1', 'therm-2'], total: 2 });
    assert.deepEqual(await ids('?tag=floor-1'), { ids: ['meter-1', 'therm-1'], total: 2 });
    assert.deepEqual(await ids('?profileId=sensor'), { ids: ['therm-1'], total: 1 });
    assert.deepEqual(await ids('?search=sn-00'), { ids: ['therm-1'], total: 1 });
    const page = await ids('?limit=2&offset=2');
    assert.equal(page.total, 3);
    assert.equal(page.ids.length, 1);
    const all = (await expectStatus(h, 200, 'GET', '/api/devices', { token: op })).json<Page>();
    assert.equal(all.items.find((d) => d.id === 'therm-1')?.online, true);
    assert.equal(all.items.find((d) => d.id === 'therm-2')?.online, false);

    const patched = await expectStatus(h, 200, 'PATCH', '/api/devices/therm-2', {
      token: op,
      body: { name: 'Upstairs', labels: { room: 'attic' }, serial: null },
    });
    assert.deepEqual(
      [patched.json<Device>().name, patched.json<Device>().labels.room],
      ['Upstairs', 'attic'],
    );

    const off = await expectStatus(h, 200, 'POST', '/api/devices/therm-2/deactivate', { token: op });
    assert.equal(off.json<Device>().active, false);
    assert.deepEqual(await ids('?active=false'), { ids: ['therm-2'], total: 1 });
    const on = await expectStatus(h, 200, 'POST', '/api/devices/therm-2/activate', { token: op });
    assert.equal(on.json<Device>().active, true);

    assert.deepEqual((await expectStatus(h, 200, 'GET', '/api/devices/therm-2/acl', { token: op })).json(), {
      rules: [],
    });
    const rules = [{ action: 'publish', topic: 'upstairs/#' }];
    const acl = await expectStatus(h, 200, 'PUT', '/api/devices/therm-2/acl', { token: op, body: { rules } });
    assert.deepEqual(acl.json<{ rules: Array<{ topic: string }> }>().rules[0].topic, 'upstairs/#');
    const reread = (await expectStatus(h, 200, 'GET', '/api/devices/therm-2', { token: op })).json<Device>();
    assert.equal(reread.acl.length, 1);

    const viewer = s.acme.viewer.token;
    await expectStatus(h, 403, 'POST', '/api/devices', { token: viewer, body: { id: 'v-1' } });
    await expectStatus(h, 403, 'PATCH', '/api/devices/therm-2', { token: viewer, body: { name: 'v' } });
    await expectStatus(h, 403, 'POST', '/api/devices/therm-2/deactivate', { token: viewer });
    await expectStatus(h, 403, 'PUT', '/api/devices/therm-2/acl', { token: viewer, body: { rules: [] } });
    await expectStatus(h, 403, 'DELETE', '/api/devices/meter-1', { token: op });
    await expectStatus(h, 204, 'DELETE', '/api/devices/meter-1', { token: s.acme.admin.token });
    await expectStatus(h, 404, 'GET', '/api/devices/meter-1', { token: op });
    // The profile is in use now.
    await expectStatus(h, 409, 'DELETE', '/api/profiles/sensor', { token: s.acme.admin.token });
  });

  it('tenant CAs: admins add and remove trust anchors; operators may not', async () => {
    const tenantCa = await createCertificateAuthority({ commonName: 'ACME Devices CA', days: 30 });
    const admin = s.acme.admin.token;
    await expectStatus(h, 403, 'POST', '/api/tenants/acme/cas', {
      token: s.acme.operator.token,
      body: { certPem: tenantCa.certPem },
    });
    const added = (
      await expectStatus(h, 201, 'POST', '/api/tenants/acme/cas', {
        token: admin,
        body: { certPem: tenantCa.certPem },
      })
    ).json<TenantCa>();
    assert.match(added.subject, /ACME Devices CA/);
    assert.ok(!JSON.stringify(added).includes('PRIVATE KEY'));
    await expectStatus(h, 409, 'POST', '/api/tenants/acme/cas', {
      token: admin,
      body: { certPem: tenantCa.certPem },
    });
    const bad = await expectStatus(h, 400, 'POST', '/api/tenants/acme/cas', {
      token: admin,
      body: { certPem: 'x' },
    });
    assert.equal(bad.json<{ field: string }>().field, 'certPem');
    const listed = (
      await expectStatus(h, 200, 'GET', '/api/tenants/acme/cas', { token: s.acme.viewer.token })
    ).json<TenantCa[]>();
    assert.deepEqual(
      listed.map((c) => c.id),
      [added.id],
    );
    await expectStatus(h, 403, 'DELETE', `/api/tenants/acme/cas/${added.id}`, {
      token: s.acme.operator.token,
    });
    await expectStatus(h, 204, 'DELETE', `/api/tenants/acme/cas/${added.id}`, { token: admin });
    await expectStatus(h, 404, 'DELETE', `/api/tenants/acme/cas/${added.id}`, { token: admin });
  });

  it('credentials: every kind is issued with its secret once, listed without it, rotated and revoked', async () => {
    const op = s.acme.operator.token;
    const issue = async (body: Record<string, unknown>, deviceId = 'therm-1') =>
      (
        await expectStatus(h, 201, 'POST', `/api/devices/${deviceId}/credentials`, { token: op, body })
      ).json<Issued>();

    const token = await issue({ kind: 'token' });
    remember(token.secret, 'device token');
    assert.equal(token.credential.kind, 'token');
    assert.equal(token.credential.lookup, undefined, "a token's lookup is its hash: not shown");

    const chosen = await issue({ kind: 'password', username: 'therm-1-mqtt', password: 'chosen-password-1' });
    assert.equal(chosen.secret, 'chosen-password-1');
    assert.equal(chosen.credential.lookup, 'therm-1-mqtt');
    remember(chosen.secret, 'chosen device password');
    const generated = await issue({ kind: 'password', username: 'therm-2-mqtt' }, 'therm-2');
    remember(generated.secret, 'generated device password');

    const hmac = await issue({ kind: 'hmac' });
    remember(hmac.secret, 'hmac secret');
    assert.equal(hmac.credential.lookup, undefined);

    const cert = await issue({ kind: 'certificate', days: 30 });
    assert.equal(cert.secret, undefined);
    assert.ok(cert.certificate?.keyPem?.includes('PRIVATE KEY'));
    remember(cert.certificate?.keyPem, 'device private key');
    assert.equal(cert.credential.lookup, cert.certificate?.fingerprint256);

    const ownCa = await createCertificateAuthority({ commonName: 'Elsewhere CA', days: 30 });
    const external = await issueCertificate(ownCa, { commonName: 'therm-1', usage: 'client', days: 10 });
    const registered = await issue({ kind: 'certificate', certPem: external.certPem });
    assert.equal(registered.certificate?.keyPem, undefined);
    assert.equal(registered.credential.lookup, external.fingerprint256);

    const listRes = await expectStatus(h, 200, 'GET', '/api/devices/therm-1/credentials', {
      token: s.acme.viewer.token,
    });
    const listed = listRes.json<Credential[]>();
    assert.deepEqual(
      listed.map((c) => c.kind),
      ['token', 'password', 'hmac', 'certificate', 'certificate'],
    );
    for (const c of listed) {
      assert.ok(!('secret' in c), `${c.kind} has no secret field`);
      assert.equal('lookup' in c, c.kind === 'password' || c.kind === 'certificate', c.kind);
    }

    await expectStatus(h, 403, 'POST', '/api/devices/therm-1/credentials', {
      token: s.acme.viewer.token,
      body: { kind: 'token' },
    });

    const rotated = (
      await expectStatus(h, 201, 'POST', `/api/devices/therm-1/credentials/${hmac.credential.id}/rotate`, {
        token: op,
      })
    ).json<Issued>();
    remember(rotated.secret, 'rotated hmac secret');
    assert.notEqual(rotated.credential.id, hmac.credential.id);
    assert.notEqual(rotated.secret, hmac.secret);
    const rotatedPassword = (
      await expectStatus(h, 201, 'POST', `/api/devices/therm-1/credentials/${chosen.credential.id}/rotate`, {
        token: op,
      })
    ).json<Issued>();
    remember(rotatedPassword.secret, 'rotated password');
    assert.equal(rotatedPassword.credential.lookup, 'therm-1-mqtt');

    // The URL names the device: another device's credential is not found there.
    await expectStatus(h, 404, 'POST', `/api/devices/therm-2/credentials/${hmac.credential.id}/rotate`, {
      token: op,
    });
    await expectStatus(h, 404, 'DELETE', `/api/devices/therm-2/credentials/${hmac.credential.id}`, {
      token: op,
    });
    await expectStatus(h, 404, 'DELETE', '/api/devices/therm-1/credentials/c-missing', { token: op });
    await expectStatus(h, 403, 'DELETE', `/api/devices/therm-1/credentials/${hmac.credential.id}`, {
      token: s.acme.viewer.token,
    });

    const revoked = await expectStatus(
      h,
      200,
      'DELETE',
      `/api/devices/therm-1/credentials/${hmac.credential.id}`,
      {
        token: op,
      },
    );
    const body = revoked.json<Credential>();
    assert.equal(body.id, hmac.credential.id);
    assert.ok(body.revokedAt !== null);
    assert.ok(!('secret' in body));
    await expectStatus(h, 409, 'POST', `/api/devices/therm-1/credentials/${hmac.credential.id}/rotate`, {
      token: op,
    });
  });

  it('audit: times are ms, filters apply, and a tenant sees only its own entries', async () => {
    const admin = s.acme.admin.token;
    const since = Date.now() - 60_000;
    const entries = (
      await expectStatus(h, 200, 'GET', `/api/audit?action=credential.&since=${since}&limit=50`, {
        token: admin,
      })
    ).json<AuditEntry[]>();
    assert.ok(entries.length >= 7, `${entries.length} credential entries`);
    for (const e of entries) {
      assert.ok(e.action.startsWith('credential.'), e.action);
      assert.equal(e.tenantId, 'acme');
      assert.ok(Number.isInteger(e.at) && e.at >= since);
    }
    assert.ok(entries.some((e) => e.action === 'credential.revoke' && e.actor === 'acme-operator'));
    const ids = entries.map((e) => e.id);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
      'newest first',
    );
    const older = (
      await expectStatus(h, 200, 'GET', `/api/audit?action=credential.&beforeId=${ids[0]}&limit=2`, {
        token: admin,
      })
    ).json<AuditEntry[]>();
    assert.deepEqual(
      older.map((e) => e.id),
      ids.slice(1, 3),
    );
    const failures = (
      await expectStatus(h, 200, 'GET', '/api/audit?outcome=failure', { token: s.acme.viewer.token })
    ).json<AuditEntry[]>();
    assert.ok(failures.length > 0 && failures.every((e) => e.outcome === 'failure'));
    assert.deepEqual(
      (await expectStatus(h, 200, 'GET', '/api/audit?tenantId=acme', { token: s.globex.admin.token })).json(),
      [],
    );
    const platform = (
      await expectStatus(h, 200, 'GET', '/api/audit?action=tenant.create', { token: s.platform.token })
    ).json<AuditEntry[]>();
    assert.deepEqual(platform.map((e) => e.target).sort(), ['tenant:acme', 'tenant:globex']);
    await expectStatus(h, 400, 'GET', '/api/audit?until=yesterday', { token: admin });
  });

  it('no response carries a hash or stored secret; each issued secret appears in its own answer only', async () => {
    assert.ok(issuedSecrets.length >= 7);
    const checked = await assertNoSecretLeaked(h, s, issuedSecrets);
    assert.ok(checked >= 15, `${checked} values checked`);
    assert.ok(h.responses.length >= 80, `${h.responses.length} responses scanned`);
  });
});
