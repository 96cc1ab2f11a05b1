import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, afterEach, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { SYSTEM_ACTOR, type Actor } from '../src/registry/service.js';
import { connectClient, type TestClient } from './helpers/halyard-process.js';
import { LiveClient, signIn, upgradeStatus } from './helpers/live-client.js';
import {
  createTenantAdmin,
  createTokenDevice,
  startTestPlatform,
  type TestPlatform,
} from './helpers/platform.js';

/**
 * The dashboard's live feed over real sockets: who may open it, what each
 * tenant sees, telemetry from an MQTT device to the socket within the
 * latency bound, presence, watch requests, bad frames, stats.
 */

let platform: TestPlatform;
let liveUrl: string;
const admins: Record<string, { actor: Actor; username: string; password: string }> = {};
const tokens: Record<string, string> = {};
const sessions: Record<string, { token: string; cookie: string }> = {};
const devices: TestClient[] = [];
const sockets: LiveClient[] = [];

before(async () => {
  platform = await startTestPlatform();
  liveUrl = `${platform.httpUrl.replace('http:', 'ws:')}/api/live`;
  for (const tenant of ['acme', 'globex']) {
    admins[tenant] = await createTenantAdmin(platform, tenant);
    sessions[tenant] = await signIn(platform.httpUrl, admins[tenant].username, admins[tenant].password);
  }
  for (const [id, tenant] of [
    ['acme-1', 'acme'],
    ['acme-2', 'acme'],
    ['globex-1', 'globex'],
  ]) {
    tokens[id] = (await createTokenDevice(platform, admins[tenant].actor, { id })).token;
  }
  sessions.platform = await signIn(platform.httpUrl, 'admin', platform.adminPassword);
});
afterEach(async () => {
  await Promise.all(sockets.splice(0).map((s) => s.close()));
  await Promise.all(devices.splice(0).map((d) => d.drop()));
});
after(async () => platform.stop());

async function live(who: 'acme' | 'globex' | 'platform'): Promise<LiveClient> {
  const socket = await LiveClient.open(`${liveUrl}?token=${sessions[who].token}`);
  sockets.push(socket);
  await socket.waitFor('hello');
  return socket;
}

async function device(id: string): Promise<TestClient> {
  const client = await connectClient(platform.mqttUrl, {
    protocolVersion: 5,
    username: tokens[id],
    password: undefined,
    clientId: `${id}-${devices.length}`,
  });
  devices.push(client);
  return client;
}

async function publish(client: TestClient, values: Record<string, unknown>): Promise<void> {
  await client.client.publishAsync('devices/me/telemetry', JSON.stringify(values), { qos: 1 });
}

const telemetryOf =
  (deviceId: string, key: string, value: unknown) => (m: { deviceId: string; values: object }) =>
    m.deviceId === deviceId && (m.values as Record<string, unknown>)[key] === value;

describe('live feed: authentication', () => {
  it('refuses an upgrade without a valid session with 401', async () => {
    const none = await upgradeStatus(liveUrl);
    assert.equal(none.status, 401);
    assert.equal((JSON.parse(none.body) as { error: string }).error, 'UNAUTHENTICATED');
    assert.equal((await upgradeStatus(`${liveUrl}?token=not-a-token`)).status, 401);
    assert.equal((await upgradeStatus(liveUrl, { cookie: 'halyard_session=not-a-session' })).status, 401);
  });

  it('refuses a cookie-authenticated upgrade from another origin with 403', async () => {
    const refused = await upgradeStatus(liveUrl, {
      cookie: sessions.acme.cookie,
      origin: 'https://evil.example',
    });
    assert.equal(refused.status, 403);
    assert.equal((JSON.parse(refused.body) as { error: string }).error, 'NOT_AUTHORIZED');
    assert.equal(
      (await upgradeStatus(liveUrl, { cookie: sessions.acme.cookie, origin: 'null' })).status,
      403,
      'a sandboxed page says Origin: null',
    );
  });

  it('greets a same-origin cookie session, a session token and an API token with hello', async () => {
    const viaCookie = await LiveClient.open(liveUrl, {
      cookie: sessions.acme.cookie,
      origin: platform.httpUrl,
    });
    sockets.push(viaCookie);
    const hello = await viaCookie.waitFor('hello');
    assert.equal(viaCookie.messages[0], hello, 'hello comes first');
    assert.equal(hello.user.username, admins.acme.username);
    assert.equal(hello.tenantId, 'acme');
    assert.equal(hello.role, 'admin');

    const platformHello = await (await live('platform')).waitFor('hello');
    assert.equal(platformHello.tenantId, null);
    assert.equal(platformHello.user.username, 'admin');

    const { token } = await platform.app.registry.createApiToken(admins.globex.actor, { name: 'live' });
    const viaApiToken = await LiveClient.open(`${liveUrl}?token=${token}`);
    sockets.push(viaApiToken);
    assert.equal((await viaApiToken.waitFor('hello')).tenantId, 'globex');
  });

  it('closes the socket (4401) when its user is deactivated', async () => {
    const { actor } = admins.acme;
    const user = await platform.app.registry.createUser(SYSTEM_ACTOR, {
      username: 'acme-viewer',
      password: 'acme-viewer-password-123',
      role: 'viewer',
      tenantId: 'acme',
    });
    const session = await signIn(platform.httpUrl, 'acme-viewer', 'acme-viewer-password-123');
    const socket = await LiveClient.open(`${liveUrl}?token=${session.token}`);
    sockets.push(socket);
    assert.equal((await socket.waitFor('hello')).role, 'viewer');
    await platform.app.registry.updateUser(actor, user.id, { active: false });
    assert.equal((await socket.whenClosed()).code, 4401);
  });
});

describe('live feed: events', () => {
  it('sends a tenant only its own telemetry, presence and audit; a platform admin all', async () => {
    const acme = await live('acme');
    const globex = await live('globex');
    const all = await live('platform');

    const globexDevice = await device('globex-1');
    await publish(globexDevice, { level: 1001 });
    const acmeDevice = await device('acme-1');
    await publish(acmeDevice, { level: 2001 });
    await publish(globexDevice, { level: 1002 });

    // Events reach a socket in the order they happened: by the later event, the earlier one would be there.
    const acmeTelemetry = await acme.waitFor('telemetry', telemetryOf('acme-1', 'level', 2001));
    assert.equal(acmeTelemetry.tenantId, 'acme');
    assert.equal(typeof acmeTelemetry.ts, 'number');
    assert.deepEqual(acmeTelemetry.values, { level: 2001 });
    await globex.waitFor('telemetry', telemetryOf('globex-1', 'level', 1002));
    await all.waitFor('telemetry', telemetryOf('globex-1', 'level', 1002));
    for (const id of ['acme-1', 'globex-1']) {
      await all.waitFor('presence', (m) => m.deviceId === id && m.online);
    }
    assert.equal(all.received('telemetry').length, 3);

    await platform.app.registry.updateDevice(admins.globex.actor, 'globex-1', { name: 'Globex one' });
    await platform.app.registry.updateDevice(admins.acme.actor, 'acme-1', { name: 'Acme one' });
    await platform.app.registry.updateDevice(admins.globex.actor, 'globex-1', { name: 'Globex 1' });
    const updateOf = (id: string) => (m: { entry: { target: string | null; action: string } }) =>
      m.entry.target === `device:${id}` && m.entry.action === 'device.update';
    const audit = await acme.waitFor('audit', updateOf('acme-1'));
    assert.equal(audit.entry.actor, admins.acme.username);
    assert.equal(typeof audit.entry.id, 'number');
    const globexUpdates = () => globex.received('audit', updateOf('globex-1')).length;
    await globex.waitFor('audit', () => globexUpdates() === 2);
    await all.waitFor('audit', updateOf('acme-1'));
    assert.ok(
      acme.received('audit', (m) => m.entry.action === 'login.success').length > 0,
      'device logins too',
    );

    for (const [socket, tenant] of [
      [acme, 'acme'],
      [globex, 'globex'],
    ] as const) {
      const foreign = socket.messages.filter(
        (m) =>
          ((m.type === 'telemetry' || m.type === 'presence') && m.tenantId !== tenant) ||
          (m.type === 'audit' && m.entry.tenantId !== tenant),
      );
      assert.deepEqual(foreign, [], `${tenant} saw another tenant's events`);
    }
    assert.ok(acme.received('presence', (m) => m.deviceId === 'acme-1' && m.online).length === 1);
  });

  it('delivers a value published over MQTT within 250 ms', async (t) => {
    const socket = await live('acme');
    const client = await device('acme-1');
    const latencies: number[] = [];
    for (let i = 0; i < 30; i++) {
      const started = performance.now();
      client.client.publish('devices/me/telemetry', JSON.stringify({ latency: i }), { qos: 0 });
      await socket.waitFor('telemetry', telemetryOf('acme-1', 'latency', i));
      latencies.push(performance.now() - started);
    }
    latencies.sort((a, b) => a - b);
    const median = latencies[Math.floor(latencies.length / 2)];
    const max = latencies[latencies.length - 1];
    t.diagnostic(`publish → live socket: median ${median.toFixed(2)} ms, max ${max.toFixed(2)} ms`);
    assert.ok(max < 250, `slowest delivery took ${max.toFixed(1)} ms`);
  });

  it('reports presence online and offline with the cause', async () => {
    const socket = await live('acme');
    const client = await device('acme-2');
    const online = await socket.waitFor('presence', (m) => m.deviceId === 'acme-2' && m.online);
    assert.equal(online.tenantId, 'acme');
    assert.equal(online.cause, 'connect');
    assert.ok(Math.abs(online.at - Date.now()) < 5000);
    await client.client.endAsync();
    const offline = await socket.waitFor('presence', (m) => m.deviceId === 'acme-2' && !m.online);
    assert.equal(offline.cause, 'client');
  });

  it('narrows telemetry to watched devices, and widens it again on an empty watch', async () => {
    const socket = await live('acme');
    const one = await device('acme-1');
    const two = await device('acme-2');
    await socket.watch(['acme-2']);
    await publish(one, { watched: 1 });
    await publish(two, { watched: 2 });
    await socket.waitFor('telemetry', telemetryOf('acme-2', 'watched', 2));
    assert.deepEqual(
      socket.received('telemetry', (m) => m.deviceId === 'acme-1'),
      [],
    );

    await socket.watch([]);
    await publish(one, { watched: 3 });
    await socket.waitFor('telemetry', telemetryOf('acme-1', 'watched', 3));
  });

  it('answers a malformed frame with an error and keeps the socket open', async () => {
    const socket = await live('acme');
    const frames = [
      'not json',
      '[1,2]',
      '{"type":"subscribe"}',
      '{"type":"watch","deviceIds":"acme-1"}',
      '{"type":"watch","deviceIds":[42]}',
      Buffer.from([1, 2, 3]),
    ];
    for (const frame of frames) socket.send(frame);
    await socket.waitFor('error', () => socket.received('error').length === frames.length);
    const messages = socket.received('error').map((m) => m.message);
    assert.match(messages[0], /JSON object/);
    assert.match(messages[2], /unknown type "subscribe"/);
    assert.match(messages[3], /deviceIds must be an array/);
    assert.match(messages[4], /deviceIds\[0\]/);
    assert.match(messages[5], /text/);

    const client = await device('acme-1');
    await publish(client, { stillOpen: true });
    await socket.waitFor('telemetry', telemetryOf('acme-1', 'stillOpen', true));
  });

  it('sends stats once a second: a tenant its own figures, a platform admin the broker-wide ones', async () => {
    const acme = await live('acme');
    const globex = await live('globex');
    const all = await live('platform');
    const client = await device('acme-1');
    for (let i = 0; i < 5; i++) await publish(client, { a: i, b: i });
    const acmeStats = await acme.waitFor('stats', (m) => m.pointsPerSecond > 0, 3000);
    assert.equal(acmeStats.devicesOnline, 1);
    assert.equal(acmeStats.connections, 1);
    assert.ok(acmeStats.messagesPerSecond > 0);
    const globexStats = await globex.waitFor('stats', (m) => m.at === acmeStats.at);
    assert.deepEqual(
      { ...globexStats, at: 0 },
      { type: 'stats', at: 0, messagesPerSecond: 0, pointsPerSecond: 0, devicesOnline: 0, connections: 0 },
    );
    const platformStats = await all.waitFor('stats', (m) => m.at === acmeStats.at);
    assert.equal(platformStats.pointsPerSecond, acmeStats.pointsPerSecond);
    assert.equal(platformStats.devicesOnline, platform.app.presence.onlineCount());
    assert.equal(platformStats.connections, platform.app.broker.connectedCount());
    const ticks = acme.received('stats').map((m) => m.at);
    assert.ok(
      ticks.every((at, i) => i === 0 || at - ticks[i - 1] >= 900),
      'about one a second',
    );
  });
});

describe('live feed: beside the other WebSocket endpoints', () => {
  it('leaves MQTT over WebSocket at /mqtt working and 404s unknown paths', async () => {
    const wsUrl = platform.httpUrl.replace('http:', 'ws:');
    const client = await mqtt.connectAsync(`${wsUrl}/mqtt`, {
      username: tokens['acme-1'],
      reconnectPeriod: 0,
      protocolVersion: 5,
    });
    const socket = await live('acme');
    await client.publishAsync('devices/me/telemetry', '{"overWebSocket":1}', { qos: 1 });
    await socket.waitFor('telemetry', telemetryOf('acme-1', 'overWebSocket', 1));
    await client.endAsync();
    assert.equal((await upgradeStatus(`${wsUrl}/api/elsewhere`)).status, 404);
  });

  it('counts open live sockets in /metrics', async () => {
    await live('acme');
    await live('globex');
    const metrics = await (await fetch(`${platform.httpUrl}/metrics`)).text();
    assert.match(metrics, /^halyard_live_sockets 2$/m);
    assert.match(metrics, /^halyard_live_telemetry_dropped_total 0$/m);
  });
});
