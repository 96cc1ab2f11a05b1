import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { IClientOptions } from 'mqtt';
import type { IPubackPacket, Packet } from 'mqtt-packet';
import type { Actor } from '../src/registry/service.js';
import { connectClient, type TestClient } from './helpers/halyard-process.js';
import {
  createTenantAdmin,
  createTokenDevice,
  startTestPlatform,
  type TestPlatform,
} from './helpers/platform.js';

/**
 * Cross-tenant attack suite: a device of tenant B tries every trick we know to
 * read or write tenant A's data, and gets nothing. "Nothing arrived" is proven
 * without sleeping: after the attempt, a marker is published on a path the
 * receiver does get; the broker delivers in order, so the marker arriving first
 * means the attempt's message never will.
 */

let platform: TestPlatform;
let adminA: Actor;
let adminB: Actor;
const tokens: Record<string, string> = {};
const clients: TestClient[] = [];

async function connectDevice(name: string, opts: IClientOptions = {}): Promise<TestClient> {
  const client = await connectClient(platform.mqttUrl, {
    username: tokens[name],
    password: undefined,
    protocolVersion: 5,
    clientId: `${name}-${clients.length}`,
    ...opts,
  });
  clients.push(client);
  return client;
}

/** The SUBACK code for one filter (MQTT.js rejects on a failure code; the code is what we test). */
async function subscribe(client: TestClient, filter: string): Promise<number> {
  try {
    return (await client.client.subscribeAsync(filter, { qos: 1 }))[0].qos;
  } catch (err) {
    const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
    if (!granted) throw err;
    return granted[0];
  }
}

/** The PUBACK reason code of a QoS 1 publish (MQTT.js rejects on a failure code). */
async function publishReason(client: TestClient, topic: string, payload: string): Promise<number> {
  try {
    return reasonOf(await client.client.publishAsync(topic, payload, { qos: 1 })) ?? 0;
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (typeof code !== 'number') throw err;
    return code;
  }
}

const reasonOf = (ack: Packet | undefined) => (ack as IPubackPacket | undefined)?.reasonCode;

/** The next message that is not a device status update (retained, they arrive on `#`). */
async function nextApp(client: TestClient) {
  for (;;) {
    const message = await client.nextMessage();
    if (!message.topic.startsWith('halyard/')) return message;
  }
}

/** Publishes a marker from `sender` to `topic` and returns the first message `receiver` gets after that. */
async function firstAfterMarker(receiver: TestClient, sender: TestClient, topic: string) {
  await sender.client.publishAsync(topic, 'marker', { qos: 1 });
  return nextApp(receiver);
}

before(async () => {
  platform = await startTestPlatform();
  adminA = (await createTenantAdmin(platform, 'tenant-a')).actor;
  adminB = (await createTenantAdmin(platform, 'tenant-b')).actor;
  for (const [actor, names] of [
    [adminA, ['a1', 'a2']],
    [adminB, ['b1', 'b2']],
  ] as const) {
    for (const name of names) tokens[name] = (await createTokenDevice(platform, actor, { id: name })).token;
  }
});

afterEach(async () => {
  // Devices may hold 5 connections each: every test starts with none.
  await Promise.all(clients.splice(0).map((c) => c.drop()));
});

after(async () => {
  await platform.stop();
});

describe('cross-tenant isolation', () => {
  it('wildcard subscriptions of tenant B never see tenant A topics', async () => {
    const spy = await connectDevice('b1');
    for (const filter of ['#', '+/#', 'sensors/+', '+/+']) assert.equal(await subscribe(spy, filter), 1);
    const victim = await connectDevice('a1');
    await victim.client.publishAsync('sensors/t1', 'secret-a', { qos: 1 });
    const b2 = await connectDevice('b2');
    const first = await firstAfterMarker(spy, b2, 'marker/b');
    assert.equal(first.topic, 'marker/b');
    assert.equal(first.payload, 'marker');
  });

  it('refuses `$` filters and topics to tenant clients: $t/<other>, $SYS, $share into another namespace', async () => {
    const spy = await connectDevice('b1');
    assert.equal(await subscribe(spy, '$t/tenant-a/#'), 0x87);
    assert.equal(await subscribe(spy, '$SYS/#'), 0x87);
    assert.equal(await subscribe(spy, '$share/g/$t/tenant-a/#'), 0x87);
    assert.equal(await subscribe(spy, '$t/#'), 0x87);
    const listener = await connectDevice('a1');
    assert.equal(await subscribe(listener, '#'), 1);
    assert.equal(await publishReason(spy, '$t/tenant-a/sensors/t1', 'forged'), 0x87);
    const a2 = await connectDevice('a2');
    assert.equal((await firstAfterMarker(listener, a2, 'marker/a')).topic, 'marker/a');
  });

  it('keeps shared subscription groups of equal names apart', async () => {
    const memberA = await connectDevice('a1');
    const memberB = await connectDevice('b1');
    assert.equal(await subscribe(memberA, '$share/workers/jobs/#'), 1);
    assert.equal(await subscribe(memberB, '$share/workers/jobs/#'), 1);
    const producerA = await connectDevice('a2');
    for (let i = 0; i < 4; i++) await producerA.client.publishAsync(`jobs/${i}`, `job-${i}`, { qos: 1 });
    for (let i = 0; i < 4; i++) assert.equal((await nextApp(memberA)).payload, `job-${i}`);
    const b2 = await connectDevice('b2');
    assert.equal((await firstAfterMarker(memberB, b2, 'jobs/marker')).payload, 'marker');
  });

  it('retained messages of tenant A are invisible to tenant B', async () => {
    const publisher = await connectDevice('a1');
    await publisher.client.publishAsync('config/setpoint', '21.5', { qos: 1, retain: true });
    const sameTenant = await connectDevice('a2');
    await subscribe(sameTenant, 'config/#');
    const retained = await nextApp(sameTenant);
    assert.deepEqual(
      [retained.topic, retained.payload, retained.packet.retain],
      ['config/setpoint', '21.5', true],
    );
    const spy = await connectDevice('b1');
    await subscribe(spy, 'config/#');
    await subscribe(spy, '#');
    const b2 = await connectDevice('b2');
    assert.equal((await firstAfterMarker(spy, b2, 'config/marker')).topic, 'config/marker');
    await publisher.client.publishAsync('config/setpoint', '', { qos: 1, retain: true }); // later tests subscribe `#`
  });

  it('a will of tenant B lands in tenant B only', async () => {
    const listenerA = await connectDevice('a1');
    await subscribe(listenerA, '#');
    const listenerB = await connectDevice('b2');
    await subscribe(listenerB, 'sensors/t1');
    const dying = await connectDevice('b1', {
      will: { topic: 'sensors/t1', payload: Buffer.from('will-of-b1'), qos: 1, retain: false },
    });
    dying.client.stream.destroy(); // no DISCONNECT: the will goes out
    const will = await nextApp(listenerB);
    assert.equal(will.payload, 'will-of-b1');
    const a2 = await connectDevice('a2');
    assert.equal((await firstAfterMarker(listenerA, a2, 'marker/a')).topic, 'marker/a');
  });

  it('response topics stay in the sender tenant: relative for peers, unreachable across tenants', async () => {
    const responder = await connectDevice('b2');
    await subscribe(responder, 'requests/#');
    const requester = await connectDevice('b1');
    await subscribe(requester, 'replies/b1');
    await requester.client.publishAsync('requests/time', 'what time is it', {
      qos: 1,
      properties: { responseTopic: 'replies/b1', correlationData: Buffer.from('c1') },
    });
    const request = await nextApp(responder);
    assert.equal(request.packet.properties?.responseTopic, 'replies/b1');
    await responder.client.publishAsync(request.packet.properties?.responseTopic ?? '', 'noon', { qos: 1 });
    assert.equal((await nextApp(requester)).payload, 'noon');

    // A response topic naming another tenant's namespace is just a topic inside B's own.
    const victim = await connectDevice('a1');
    await subscribe(victim, '#');
    await requester.client.publishAsync('requests/forged', 'x', {
      qos: 1,
      properties: { responseTopic: 'inbox' },
    });
    const forged = await nextApp(responder);
    const forgedReply = `$t/tenant-a/${forged.packet.properties?.responseTopic}`;
    assert.equal(await publishReason(responder, forgedReply, 'x'), 0x87);
    const a2 = await connectDevice('a2');
    assert.equal((await firstAfterMarker(victim, a2, 'marker/a')).topic, 'marker/a');
  });

  it('topic aliases are per connection and resolve inside the own tenant', async () => {
    const victim = await connectDevice('a1');
    await subscribe(victim, 'sensors/#');
    const listenerB = await connectDevice('b2');
    await subscribe(listenerB, 'sensors/#');
    const spy = await connectDevice('b1', { properties: { topicAliasMaximum: 0 } });
    await spy.client.publishAsync('sensors/t1', 'define', { qos: 1, properties: { topicAlias: 1 } });
    await spy.client.publishAsync('', 'by-alias', { qos: 1, properties: { topicAlias: 1 } });
    assert.equal((await nextApp(listenerB)).payload, 'define');
    const byAlias = await nextApp(listenerB);
    assert.deepEqual([byAlias.topic, byAlias.payload], ['sensors/t1', 'by-alias']);
    const a2 = await connectDevice('a2');
    assert.equal((await firstAfterMarker(victim, a2, 'sensors/marker')).payload, 'marker');
  });

  it('an equal client id in another tenant neither takes over nor shares the session', async () => {
    const victim = await connectDevice('a1', {
      clientId: 'shared-id',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    });
    await subscribe(victim, 'cmd/#');
    const intruder = await connectDevice('b1', {
      clientId: 'shared-id',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    });
    assert.equal(intruder.connack.sessionPresent, false);
    const a2 = await connectDevice('a2');
    await a2.client.publishAsync('cmd/go', 'still-connected', { qos: 1 });
    assert.equal((await nextApp(victim)).payload, 'still-connected');
    assert.equal(victim.client.connected, true);
  });

  it('the REST API answers 404 for every id of another tenant', async () => {
    const login = async (username: string, password: string) => {
      const res = await fetch(`${platform.httpUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      assert.equal(res.status, 200);
      return ((await res.json()) as { token: string }).token;
    };
    const tokenB = await login('tenant-b-admin', 'tenant-b-password-123');
    const credentials = await platform.app.registry.listCredentials(adminA, 'a1');
    const auth = { authorization: `Bearer ${tokenB}`, 'content-type': 'application/json' };
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', '/api/devices/a1'],
      ['PATCH', '/api/devices/a1', { name: 'pwned' }],
      ['POST', '/api/devices/a1/deactivate'],
      ['DELETE', '/api/devices/a1'],
      ['GET', '/api/devices/a1/credentials'],
      ['POST', '/api/devices/a1/credentials', { kind: 'token' }],
      ['DELETE', `/api/devices/a1/credentials/${credentials[0].id}`],
      ['DELETE', `/api/devices/b1/credentials/${credentials[0].id}`],
      ['GET', '/api/devices/a1/acl'],
      ['PUT', '/api/devices/a1/acl', { rules: [] }],
      ['GET', '/api/tenants/tenant-a'],
      ['GET', `/api/users/${adminA.id}`],
    ];
    for (const [method, path, body] of attempts) {
      const res = await fetch(`${platform.httpUrl}${path}`, {
        method,
        headers: body === undefined ? { authorization: auth.authorization } : auth,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      assert.equal(res.status, 404, `${method} ${path} answered ${res.status}`);
    }
    const listed = await fetch(`${platform.httpUrl}/api/devices?tenantId=tenant-a`, {
      headers: { authorization: auth.authorization },
    });
    const page =
      listed.status === 200 ? ((await listed.json()) as { items: { id: string }[] }) : { items: [] };
    assert.ok(!page.items.some((d) => d.id.startsWith('a')), 'tenant B listed tenant A devices');
    const device = await platform.app.registry.getDevice(adminA, 'a1');
    assert.deepEqual([device.name, device.active], ['a1', true]);
    assert.equal((await platform.app.registry.listCredentials(adminA, 'a1'))[0].revokedAt, null);
  });

  it('a platform admin reaches a tenant only by naming $t/<tenant>/ explicitly', async () => {
    const admin = await connectClient(platform.mqttUrl, {
      username: 'admin',
      password: platform.adminPassword,
      protocolVersion: 5,
      clientId: 'platform-admin',
    });
    clients.push(admin);
    assert.equal(await subscribe(admin, '$t/tenant-a/telemetry/#'), 1);
    assert.equal(await subscribe(admin, '#'), 1);
    const device = await connectDevice('a1');
    await device.client.publishAsync('telemetry/temp', '20', { qos: 1 });
    const seen = await nextApp(admin);
    assert.deepEqual([seen.topic, seen.payload], ['$t/tenant-a/telemetry/temp', '20']);
    // And may send into the tenant: a command to the device.
    await subscribe(device, 'commands/#');
    await admin.client.publishAsync('$t/tenant-a/commands/reboot', 'now', { qos: 1 });
    const command = await nextApp(device);
    assert.deepEqual([command.topic, command.payload], ['commands/reboot', 'now']);
  });
});
