import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createCertificateAuthority } from '../transport/pki.js';
import { expectStatus, openApiHarness, seedTenants, type ApiHarness, type Seed } from './api-test-support.js';

/**
 * Tenant isolation at the API: globex's admin, using ids of acme's records,
 * gets exactly what a missing record gets (404) on every route, and nothing
 * of acme changes.
 */
describe('REST API: tenant isolation', () => {
  let h: ApiHarness;
  let s: Seed;
  const acme = {
    userId: '',
    tokenId: '',
    caId: '',
    credentialId: '',
    profileId: 'acme-prof',
    deviceId: 'acme-dev',
  };

  before(async () => {
    h = await openApiHarness();
    s = await seedTenants(h);
    const token = s.acme.admin.token;
    acme.userId = s.acme.viewer.id;
    await expectStatus(h, 201, 'POST', '/api/profiles', { token, body: { id: acme.profileId, name: 'P' } });
    await expectStatus(h, 201, 'POST', '/api/devices', {
      token,
      body: { id: acme.deviceId, name: 'Original', profileId: acme.profileId },
    });
    const issued = await expectStatus(h, 201, 'POST', `/api/devices/${acme.deviceId}/credentials`, {
      token,
      body: { kind: 'token' },
    });
    acme.credentialId = issued.json<{ credential: { id: string } }>().credential.id;
    const ca = await createCertificateAuthority({ commonName: 'ACME CA', days: 30 });
    const added = await expectStatus(h, 201, 'POST', '/api/tenants/acme/cas', {
      token,
      body: { certPem: ca.certPem },
    });
    acme.caId = added.json<{ id: string }>().id;
    const apiToken = await expectStatus(h, 201, 'POST', '/api/tokens', {
      token,
      body: { name: 'acme script' },
    });
    acme.tokenId = apiToken.json<{ record: { id: string } }>().record.id;
    await expectStatus(h, 201, 'POST', '/api/devices', {
      token: s.globex.admin.token,
      body: { id: 'globex-dev' },
    });
  });
  after(() => h.close());

  function foreignCalls(): Array<[string, string, unknown?]> {
    const { userId, tokenId, caId, credentialId, profileId, deviceId } = acme;
    const rules = { rules: [{ action: 'all', topic: '#' }] };
    return [
      ['GET', '/api/tenants/acme'],
      ['PATCH', '/api/tenants/acme', { name: 'pwned' }],
      ['DELETE', '/api/tenants/acme'],
      ['GET', '/api/tenants/acme/cas'],
      [
        'POST',
        '/api/tenants/acme/cas',
        { certPem: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----' },
      ],
      ['DELETE', `/api/tenants/acme/cas/${caId}`],
      ['DELETE', `/api/tenants/globex/cas/${caId}`],
      ['GET', `/api/users/${userId}`],
      ['PATCH', `/api/users/${userId}`, { active: false }],
      ['PUT', `/api/users/${userId}/password`, { password: 'taken-over-123' }],
      ['DELETE', `/api/users/${userId}`],
      ['DELETE', `/api/tokens/${tokenId}`],
      ['GET', `/api/profiles/${profileId}`],
      ['PATCH', `/api/profiles/${profileId}`, { name: 'pwned' }],
      ['DELETE', `/api/profiles/${profileId}`],
      ['GET', `/api/profiles/${profileId}/acl`],
      ['PUT', `/api/profiles/${profileId}/acl`, rules],
      ['GET', `/api/devices/${deviceId}`],
      ['PATCH', `/api/devices/${deviceId}`, { name: 'pwned' }],
      ['DELETE', `/api/devices/${deviceId}`],
      ['POST', `/api/devices/${deviceId}/activate`],
      ['POST', `/api/devices/${deviceId}/deactivate`],
      ['GET', `/api/devices/${deviceId}/acl`],
      ['PUT', `/api/devices/${deviceId}/acl`, rules],
      ['GET', `/api/devices/${deviceId}/credentials`],
      ['POST', `/api/devices/${deviceId}/credentials`, { kind: 'token' }],
      ['POST', `/api/devices/${deviceId}/credentials/${credentialId}/rotate`],
      ['DELETE', `/api/devices/${deviceId}/credentials/${credentialId}`],
      // Own device in the URL, foreign credential id.
      ['POST', `/api/devices/globex-dev/credentials/${credentialId}/rotate`],
      ['DELETE', `/api/devices/globex-dev/credentials/${credentialId}`],
      // Foreign references inside bodies.
      ['POST', '/api/devices', { id: 'planted', tenantId: 'acme' }],
      ['POST', '/api/devices', { id: 'planted-2', profileId }],
      ['PATCH', '/api/devices/globex-dev', { profileId }],
      ['POST', '/api/profiles', { name: 'planted', tenantId: 'acme' }],
      [
        'POST',
        '/api/users',
        { username: 'planted', password: 'planted-pass-1', role: 'admin', tenantId: 'acme' },
      ],
    ];
  }

  it("globex's admin gets 404 for every acme id on every route", async () => {
    const calls = foreignCalls();
    for (const [method, url, body] of calls) {
      const res = await h.call(method, url, { token: s.globex.admin.token, body });
      assert.equal(res.status, 404, `${method} ${url} → ${res.status} ${res.text}`);
      assert.equal(res.json<{ error: string }>().error, 'NOT_FOUND');
    }
    assert.ok(calls.length >= 35);
  });

  it('a foreign id answers exactly like a missing one', async () => {
    const foreign = await h.call('GET', `/api/devices/${acme.deviceId}`, { token: s.globex.admin.token });
    const missing = await h.call('GET', '/api/devices/acme-dex', { token: s.globex.admin.token });
    assert.equal(foreign.text.replace(acme.deviceId, 'ID'), missing.text.replace('acme-dex', 'ID'));
  });

  it("lists never show another tenant's records", async () => {
    const token = s.globex.admin.token;
    const devices = (await expectStatus(h, 200, 'GET', '/api/devices?tenantId=acme', { token })).json<{
      items: unknown[];
      total: number;
    }>();
    assert.deepEqual(devices, { items: [], total: 0 });
    const own = (await expectStatus(h, 200, 'GET', '/api/devices', { token })).json<{
      items: Array<{ id: string }>;
    }>();
    assert.deepEqual(
      own.items.map((d) => d.id),
      ['globex-dev'],
    );
    assert.deepEqual((await expectStatus(h, 200, 'GET', '/api/users?tenantId=acme', { token })).json(), []);
    assert.deepEqual(
      (await expectStatus(h, 200, 'GET', '/api/profiles?tenantId=acme', { token })).json(),
      [],
    );
    const tenants = (await expectStatus(h, 200, 'GET', '/api/tenants', { token })).json<
      Array<{ id: string }>
    >();
    assert.deepEqual(
      tenants.map((t) => t.id),
      ['globex'],
    );
    assert.deepEqual((await expectStatus(h, 200, 'GET', '/api/tokens', { token })).json(), []);
  });

  it('nothing of acme changed, and its own admin still reaches every record', async () => {
    const token = s.acme.admin.token;
    const device = (await expectStatus(h, 200, 'GET', `/api/devices/${acme.deviceId}`, { token })).json<{
      name: string;
      active: boolean;
      acl: unknown[];
    }>();
    assert.deepEqual(device, { ...device, name: 'Original', active: true, acl: [] });
    const credentials = (
      await expectStatus(h, 200, 'GET', `/api/devices/${acme.deviceId}/credentials`, { token })
    ).json<Array<{ id: string; revokedAt: number | null }>>();
    assert.deepEqual(credentials, [{ ...credentials[0], id: acme.credentialId, revokedAt: null }]);
    const profile = (await expectStatus(h, 200, 'GET', `/api/profiles/${acme.profileId}`, { token })).json<{
      name: string;
      acl: unknown[];
    }>();
    assert.deepEqual([profile.name, profile.acl], ['P', []]);
    const viewer = (await expectStatus(h, 200, 'GET', `/api/users/${acme.userId}`, { token })).json<{
      active: boolean;
    }>();
    assert.equal(viewer.active, true);
    await expectStatus(h, 200, 'GET', '/api/me', { token: s.acme.viewer.token });
    assert.equal(
      (await expectStatus(h, 200, 'GET', '/api/tenants/acme', { token })).json<{ name: string }>().name,
      'acme',
    );
    assert.equal(
      (await expectStatus(h, 200, 'GET', '/api/tenants/acme/cas', { token })).json<unknown[]>().length,
      1,
    );
    const tokens = (await expectStatus(h, 200, 'GET', '/api/tokens', { token })).json<
      Array<{ revokedAt: unknown }>
    >();
    assert.deepEqual(
      tokens.map((t) => t.revokedAt),
      [null],
    );
    const globexDevice = (
      await expectStatus(h, 200, 'GET', '/api/devices/globex-dev', { token: s.globex.admin.token })
    ).json<{ profileId: string | null }>();
    assert.equal(globexDevice.profileId, null);
  });
});
