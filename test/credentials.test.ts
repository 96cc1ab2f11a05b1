import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { IClientOptions } from 'mqtt';
import { createCertificateAuthority, issueCertificate } from '../src/transport/pki.js';
import type { Actor } from '../src/registry/service.js';
import { connectClient, connectRefusal, type TestClient } from './helpers/halyard-process.js';
import { createTenantAdmin, startTestPlatform, type TestPlatform } from './helpers/platform.js';

/**
 * Each credential kind end to end with a real MQTT.js client: login, rotation
 * with overlap, revocation closing the live connection, deactivation.
 */

let platform: TestPlatform;
let admin: Actor;
const clients: TestClient[] = [];

before(async () => {
  platform = await startTestPlatform();
  admin = (await createTenantAdmin(platform, 'acme')).actor;
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.drop()));
});
after(async () => platform.stop());

async function connect(opts: IClientOptions, url = platform.mqttUrl): Promise<TestClient> {
  const client = await connectClient(url, {
    protocolVersion: 5,
    username: undefined,
    password: undefined,
    ...opts,
  });
  clients.push(client);
  return client;
}

const refusal = (opts: IClientOptions, url = platform.mqttUrl) => connectRefusal(url, opts);

const mtls = (pem: { certPem: string; keyPem?: string }, caPem: string): IClientOptions => ({
  cert: pem.certPem,
  key: pem.keyPem,
  ca: caPem,
  rejectUnauthorized: true,
  servername: 'localhost',
});

describe('device credentials over MQTT', () => {
  it('access token: the token as username logs in; a wrong one is refused with 0x86', async () => {
    const device = await platform.app.registry.createDevice(admin, { id: 'tok-1' });
    const issued = await platform.app.registry.issueCredential(admin, device.id, { kind: 'token' });
    const client = await connect({ username: issued.secret, clientId: 'tok-1' });
    assert.equal(client.connack.reasonCode, 0);
    assert.equal(await refusal({ username: `${issued.secret}x`, clientId: 'tok-1b' }), 0x86);
  });

  it('password: rotation keeps both valid; revoking the old one closes its live connection only', async () => {
    const registry = platform.app.registry;
    const device = await registry.createDevice(admin, { id: 'pw-1' });
    const first = await registry.issueCredential(admin, device.id, {
      kind: 'password',
      username: 'pw-1-user',
      password: 'first-password-1',
    });
    const second = await registry.rotateCredential(admin, first.credential.id);
    assert.ok(second.secret && second.secret !== 'first-password-1');
    const old = await connect({ username: 'pw-1-user', password: 'first-password-1', clientId: 'pw-old' });
    const fresh = await connect({ username: 'pw-1-user', password: second.secret, clientId: 'pw-new' });
    await registry.revokeCredential(admin, first.credential.id);
    const disconnect = await old.disconnectPacket;
    assert.equal(disconnect.reasonCode, 0x98);
    await old.closed;
    assert.equal(fresh.client.connected, true);
    assert.equal(
      await refusal({ username: 'pw-1-user', password: 'first-password-1', clientId: 'pw-x' }),
      0x86,
    );
    const again = await connect({ username: 'pw-1-user', password: second.secret, clientId: 'pw-again' });
    assert.equal(again.connack.reasonCode, 0);
  });

  it('certificate from the platform CA over mutual TLS, without a password; revocation closes it', async () => {
    const registry = platform.app.registry;
    const device = await registry.createDevice(admin, { id: 'cert-1' });
    const issued = await registry.issueCredential(admin, device.id, { kind: 'certificate', days: 2 });
    assert.ok(issued.certificate?.keyPem);
    const url = `mqtts://127.0.0.1:${platform.mqttsPort}`;
    const client = await connect({ ...mtls(issued.certificate, platform.caPem), clientId: 'cert-1' }, url);
    assert.equal(client.connack.reasonCode, 0);
    await client.client.subscribeAsync('x/#', { qos: 1 }); // works as a device of its tenant
    await registry.revokeCredential(admin, issued.credential.id);
    assert.equal((await client.disconnectPacket).reasonCode, 0x98);
    assert.equal(
      await refusal({ ...mtls(issued.certificate, platform.caPem), clientId: 'cert-1' }, url),
      0x86,
    );
  });

  it('a certificate signed by a CA the tenant trusts identifies the device by its CN', async () => {
    const registry = platform.app.registry;
    const tenantCa = await createCertificateAuthority({ commonName: 'Acme Factory CA', days: 30 });
    await registry.addTenantCa(admin, 'acme', tenantCa.certPem);
    await registry.createDevice(admin, { id: 'own-ca-1' });
    const leaf = await issueCertificate(tenantCa, { commonName: 'own-ca-1', usage: 'client', days: 2 });
    const url = `mqtts://127.0.0.1:${platform.mqttsPort}`;
    const client = await connect({ ...mtls(leaf, platform.caPem), clientId: 'own-ca-1' }, url);
    assert.equal(client.connack.reasonCode, 0);

    // A CA nobody trusts gets nowhere, even naming a real device.
    const rogueCa = await createCertificateAuthority({ commonName: 'Rogue', days: 30 });
    const rogue = await issueCertificate(rogueCa, { commonName: 'own-ca-1', usage: 'client', days: 2 });
    assert.equal(await refusal({ ...mtls(rogue, platform.caPem), clientId: 'rogue' }, url), 0x86);
  });

  it('deactivation disconnects at once and refuses reconnects; activation restores', async () => {
    const registry = platform.app.registry;
    const device = await registry.createDevice(admin, { id: 'deact-1' });
    const { secret } = await registry.issueCredential(admin, device.id, { kind: 'token' });
    const client = await connect({ username: secret, clientId: 'deact-1' });
    await registry.setDeviceActive(admin, device.id, false);
    assert.equal((await client.disconnectPacket).reasonCode, 0x98);
    assert.equal(await refusal({ username: secret, clientId: 'deact-1' }), 0x87);
    await registry.setDeviceActive(admin, device.id, true);
    const back = await connect({ username: secret, clientId: 'deact-1' });
    assert.equal(back.connack.reasonCode, 0);
  });

  it('an ACL change reconnects the device under the new rules', async () => {
    const registry = platform.app.registry;
    const device = await registry.createDevice(admin, {
      id: 'acl-1',
      acl: [{ action: 'all', topic: 'devices/%d/#', permission: 'allow' }],
    });
    const { secret } = await registry.issueCredential(admin, device.id, { kind: 'token' });
    const client = await connect({ username: secret, clientId: 'acl-1' });
    await client.client.publishAsync('devices/acl-1/temp', '1', { qos: 1 }); // resolves: allowed (0x87 rejects)
    await registry.updateDevice(admin, device.id, {
      acl: [{ action: 'subscribe', topic: '#', permission: 'allow' }],
    });
    assert.equal((await client.disconnectPacket).reasonCode, 0x98);
    const after = await connect({ username: secret, clientId: 'acl-1' });
    const refused = await after.client.publishAsync('devices/acl-1/temp', '1', { qos: 1 }).then(
      () => 0,
      (err: { code?: number }) => err.code ?? -1,
    );
    assert.equal(refused, 0x87);
  });

  it('3.1.1 clients log in with every kind too (token shown)', async () => {
    const device = await platform.app.registry.createDevice(admin, { id: 'v311-1' });
    const { secret } = await platform.app.registry.issueCredential(admin, device.id, { kind: 'token' });
    const client = await connect({ protocolVersion: 4, username: secret, clientId: 'v311-1' });
    assert.equal(client.connack.returnCode, 0);
  });
});
