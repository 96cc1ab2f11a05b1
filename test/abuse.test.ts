import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { IClientOptions } from 'mqtt';
import type { AuditEntry } from '../src/registry/model.js';
import { SYSTEM_ACTOR, type Actor } from '../src/registry/service.js';
import { connectClient, connectRefusal, type TestClient } from './helpers/halyard-process.js';
import {
  createTenantAdmin,
  createTokenDevice,
  startTestPlatform,
  type TestPlatform,
} from './helpers/platform.js';

/**
 * Abuse resistance with real clients: lockout per identity and per address,
 * the connection rate limit, connection caps, publish quotas; and the audit
 * entry each of them leaves. Each describe has its own platform, because a
 * lockout of 127.0.0.1 would otherwise spill into the next test.
 */

async function audit(platform: TestPlatform, action: string): Promise<AuditEntry[]> {
  return platform.app.registry.queryAudit(SYSTEM_ACTOR, { action });
}

describe('lockout', () => {
  let platform: TestPlatform;
  let admin: Actor;
  before(async () => {
    platform = await startTestPlatform({
      security: { lockout: { maxFailures: 3, windowSeconds: 60, lockSeconds: 600 } },
    });
    admin = (await createTenantAdmin(platform, 'acme')).actor;
  });
  after(async () => platform.stop());

  it('locks an identity after N failures (0x8A even with the right password), audited; the API answers 429', async () => {
    const registry = platform.app.registry;
    await registry.createDevice(admin, { id: 'lock-1' });
    await registry.issueCredential(admin, 'lock-1', {
      kind: 'password',
      username: 'lock-1',
      password: 'right-pass-1',
    });
    for (let i = 0; i < 3; i++) {
      assert.equal(
        await connectRefusal(platform.mqttUrl, { username: 'lock-1', password: 'wrong', clientId: `l${i}` }),
        0x86,
      );
    }
    assert.equal(
      await connectRefusal(platform.mqttUrl, {
        username: 'lock-1',
        password: 'right-pass-1',
        clientId: 'l9',
      }),
      0x8a,
    );
    const failures = await audit(platform, 'login.failure');
    assert.ok(failures.filter((e) => e.actor === 'lock-1' && e.address?.includes('127.0.0.1')).length >= 3);
    const locks = await audit(platform, 'login.locked');
    assert.ok(locks.length >= 1, 'login.locked audited');
    // The address is locked as well now: REST logins from it get 429 with Retry-After.
    const res = await fetch(`${platform.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'acme-admin', password: 'acme-password-123' }),
    });
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get('retry-after')) > 0);
  });
});

describe('success resets the failure count', () => {
  let platform: TestPlatform;
  let admin: Actor;
  before(async () => {
    platform = await startTestPlatform({
      security: { lockout: { maxFailures: 3, windowSeconds: 60, lockSeconds: 600 } },
    });
    admin = (await createTenantAdmin(platform, 'acme')).actor;
  });
  after(async () => platform.stop());

  it('two failures, a success, two failures: never locked', async () => {
    await platform.app.registry.createDevice(admin, { id: 'reset-1' });
    await platform.app.registry.issueCredential(admin, 'reset-1', {
      kind: 'password',
      username: 'reset-1',
      password: 'right-pass-1',
    });
    const good = { username: 'reset-1', password: 'right-pass-1' };
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 2; i++) {
        assert.equal(
          await connectRefusal(platform.mqttUrl, {
            username: 'reset-1',
            password: 'nope',
            clientId: `r${i}`,
          }),
          0x86,
        );
      }
      const client = await connectClient(platform.mqttUrl, {
        protocolVersion: 5,
        ...good,
        clientId: `ok${round}`,
      });
      assert.equal(client.connack.reasonCode, 0);
      await client.drop();
    }
  });
});

describe('connection rate limit per address', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform({ security: { connectRate: { perAddressPerSecond: 1, burst: 2 } } });
  });
  after(async () => platform.stop());

  it('refuses with 0x9F beyond the burst, audited once', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 4; i++)
      codes.push(
        await connectRefusal(platform.mqttUrl, { username: 'nobody', password: 'x', clientId: `c${i}` }),
      );
    // The burst admits two attempts (refused for their bad password); then the rate limit answers.
    assert.deepEqual(codes.slice(0, 2), [0x86, 0x86]);
    assert.equal(codes[2], 0x9f);
    assert.equal(codes[3], 0x9f);
    const entries = await audit(platform, 'connect.rate-limited');
    assert.equal(entries.length, 1);
    assert.equal(entries[0].address, '127.0.0.1');
  });
});

describe('connection caps and publish quotas', () => {
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

  const connect = async (opts: IClientOptions) => {
    const client = await connectClient(platform.mqttUrl, {
      protocolVersion: 5,
      password: undefined,
      ...opts,
    });
    clients.push(client);
    return client;
  };

  it('caps connections per device (0x97), but a reconnect taking over its own session passes', async () => {
    const registry = platform.app.registry;
    await registry.createProfile(admin, { id: 'single', name: 'single', limits: { maxConnections: 1 } });
    const device = await registry.createDevice(admin, { id: 'cap-1', profileId: 'single' });
    const { secret } = await registry.issueCredential(admin, device.id, { kind: 'token' });
    const first = await connect({ username: secret, clientId: 'cap-a' });
    assert.equal(await connectRefusal(platform.mqttUrl, { username: secret, clientId: 'cap-b' }), 0x97);
    const takeover = await connect({ username: secret, clientId: 'cap-a' });
    assert.equal(takeover.connack.reasonCode, 0);
    assert.equal((await first.disconnectPacket).reasonCode, 0x8e);
    const entries = await audit(platform, 'connect.limit-reached');
    assert.equal(entries[0].actor, 'cap-1');
  });

  it('holds the device cap when CONNECTs arrive together: exactly as many as the cap get in', async () => {
    const registry = platform.app.registry;
    await registry.createProfile(admin, { id: 'pair', name: 'pair', limits: { maxConnections: 2 } });
    const device = await registry.createDevice(admin, { id: 'cap-race', profileId: 'pair' });
    // A password: its check (scrypt) runs on the thread pool, so the CONNECTs' checks overlap.
    const { secret } = await registry.issueCredential(admin, device.id, {
      kind: 'password',
      username: 'cap-race',
    });
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        connectClient(platform.mqttUrl, {
          protocolVersion: 5,
          username: 'cap-race',
          password: secret,
          clientId: `race-${i}`,
        }).then(
          (client) => {
            clients.push(client);
            return 'connected';
          },
          () => 'refused',
        ),
      ),
    );
    assert.equal(outcomes.filter((o) => o === 'connected').length, 2, outcomes.join(' '));
  });

  it('caps connections per tenant', async () => {
    const registry = platform.app.registry;
    await registry.createTenant(SYSTEM_ACTOR, { id: 'tiny', name: 'Tiny', maxConnections: 1 });
    const tinyAdmin = await registry.createUser(SYSTEM_ACTOR, {
      username: 'tiny-admin',
      password: 'tiny-password-1',
      role: 'admin',
      tenantId: 'tiny',
    });
    const actor: Actor = {
      type: 'user',
      id: tinyAdmin.id,
      name: 'tiny-admin',
      tenantId: 'tiny',
      role: 'admin',
    };
    const one = await createTokenDevice(platform, actor, { id: 'tiny-1' });
    const two = await createTokenDevice(platform, actor, { id: 'tiny-2' });
    await connect({ username: one.token, clientId: 'tiny-1' });
    assert.equal(await connectRefusal(platform.mqttUrl, { username: two.token, clientId: 'tiny-2' }), 0x97);
  });

  it('answers 0x96 past the message rate and 0x97 past the byte rate; 3.1.1 is disconnected; metrics count it', async () => {
    const registry = platform.app.registry;
    await registry.createProfile(admin, {
      id: 'slow',
      name: 'slow',
      limits: { publishMessagesPerSecond: 2, publishBytesPerSecond: 1000 },
    });
    const device = await registry.createDevice(admin, { id: 'quota-1', profileId: 'slow' });
    const { secret } = await registry.issueCredential(admin, device.id, { kind: 'token' });
    const client = await connect({ username: secret, clientId: 'quota-1' });
    // Past 2 messages/s: DISCONNECT 0x96 (MQTT 5 has that code for DISCONNECT only). QoS 0, so the
    // burst goes out at once, faster than the bucket refills.
    for (let i = 0; i < 5; i++) client.client.publish('t', 'x', { qos: 0 });
    assert.equal((await client.disconnectPacket).reasonCode, 0x96);
    const quotaAudit = await audit(platform, 'publish.quota-exceeded');
    assert.deepEqual(
      quotaAudit.map((e) => [e.actor, e.details.reasonCode]),
      [['quota-1', 0x96]],
    );

    const bytesDevice = await registry.createDevice(admin, { id: 'quota-2', profileId: 'slow' });
    const bytesToken = (await registry.issueCredential(admin, bytesDevice.id, { kind: 'token' })).secret;
    const big = await connect({ username: bytesToken, clientId: 'quota-2' });
    await big.client.publishAsync('t', Buffer.alloc(900), { qos: 1 });
    const second = await big.client.publishAsync('t', Buffer.alloc(900), { qos: 1 }).then(
      () => 0,
      (err: { code?: number }) => err.code ?? -1,
    );
    assert.equal(second, 0x97);

    const legacyDevice = await registry.createDevice(admin, { id: 'quota-3', profileId: 'slow' });
    const legacyToken = (await registry.issueCredential(admin, legacyDevice.id, { kind: 'token' })).secret;
    const legacy = await connect({ protocolVersion: 4, username: legacyToken, clientId: 'quota-3' });
    for (let i = 0; i < 3; i++) legacy.client.publish('t', 'x', { qos: 0 });
    await legacy.closed;

    const metrics = await (await fetch(`${platform.httpUrl}/metrics`)).text();
    const rejected = Number(/^halyard_publish_quota_rejections_total (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(rejected >= 3, `quota rejections in /metrics: ${rejected}`);
  });
});
