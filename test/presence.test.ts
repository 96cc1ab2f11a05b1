import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SYSTEM_ACTOR } from '../src/registry/service.js';
import { connectClient, type TestClient } from './helpers/halyard-process.js';
import {
  createTenantAdmin,
  createTokenDevice,
  startTestPlatform,
  type TestPlatform,
} from './helpers/platform.js';
import { RawClient } from './helpers/raw-client.js';

/**
 * Online/offline end to end: the retained status on the tenant's platform topic
 * follows connect, DISCONNECT, keep-alive timeout and network loss; the REST API
 * shows `online`; last-seen times reach the registry.
 */

let platform: TestPlatform;
let watcher: TestClient;
const tokens: Record<string, string> = {};

interface Status {
  deviceId: string;
  status: string;
  cause: string;
  at: number;
}

async function nextStatus(deviceId: string): Promise<Status> {
  for (;;) {
    const message = await watcher.nextMessage();
    const status = JSON.parse(message.payload) as Status;
    if (message.topic === `halyard/devices/${deviceId}/status`) return status;
  }
}

before(async () => {
  platform = await startTestPlatform();
  const { actor } = await createTenantAdmin(platform, 'acme');
  for (const id of ['watcher', 'p1', 'p2', 'p3'])
    tokens[id] = (await createTokenDevice(platform, actor, { id })).token;
  watcher = await connectClient(platform.mqttUrl, {
    protocolVersion: 5,
    username: tokens.watcher,
    password: undefined,
    clientId: 'watcher',
  });
  await watcher.client.subscribeAsync('halyard/devices/+/status', { qos: 1 });
  assert.equal((await nextStatus('watcher')).status, 'online'); // its own, retained
});

after(async () => {
  await watcher.drop();
  await platform.stop();
});

describe('device presence', () => {
  it('online on connect, offline with the cause: DISCONNECT, then network loss', async () => {
    const device = await connectClient(platform.mqttUrl, {
      protocolVersion: 5,
      username: tokens.p1,
      password: undefined,
      clientId: 'p1',
    });
    const online = await nextStatus('p1');
    assert.deepEqual([online.status, online.cause], ['online', 'connect']);
    const res = await fetch(`${platform.httpUrl}/api/devices/p1`, {
      headers: { authorization: `Bearer ${await adminToken()}` },
    });
    assert.equal(((await res.json()) as { online: boolean }).online, true);
    await device.client.endAsync();
    assert.deepEqual(pick(await nextStatus('p1')), ['offline', 'client']);

    const again = await connectClient(platform.mqttUrl, {
      protocolVersion: 5,
      username: tokens.p1,
      password: undefined,
      clientId: 'p1',
    });
    assert.equal((await nextStatus('p1')).status, 'online');
    await again.drop(); // socket closed without DISCONNECT
    assert.deepEqual(pick(await nextStatus('p1')), ['offline', 'lost']);
  });

  it('goes offline by keep-alive timeout when a device falls silent', async () => {
    const silent = await RawClient.connected(Number(new URL(platform.mqttUrl).port), {
      protocolVersion: 5,
      clientId: 'p2',
      username: tokens.p2,
      keepalive: 1,
    });
    assert.equal((await nextStatus('p2')).status, 'online');
    // Nothing more is sent: after 1.5 × keep-alive the broker gives up on it.
    assert.deepEqual(pick(await nextStatus('p2')), ['offline', 'keep-alive']);
    silent.destroy();
  });

  it('stays online while a second connection of the same device remains', async () => {
    const connect = (clientId: string) =>
      connectClient(platform.mqttUrl, {
        protocolVersion: 5,
        username: tokens.p3,
        password: undefined,
        clientId,
      });
    const first = await connect('p3-a');
    assert.equal((await nextStatus('p3')).status, 'online');
    const second = await connect('p3-b');
    await first.drop();
    await second.drop();
    // One change only: the first drop left the device online.
    assert.deepEqual(pick(await nextStatus('p3')), ['offline', 'lost']);
  });

  it('keeps last-seen times in the registry', async () => {
    // The bridge writes last-seen in batches; stopping flushes them, and a restart reads them back.
    await watcher.drop();
    await platform.stop();
    platform = await startTestPlatform({ dataDir: platform.config.dataDir });
    const device = await platform.app.registry.getDevice(SYSTEM_ACTOR, 'p1');
    assert.ok(
      device.lastSeen !== null && device.lastSeen > Date.now() - 60_000,
      `lastSeen ${device.lastSeen}`,
    );
    watcher = await connectClient(platform.mqttUrl, {
      protocolVersion: 5,
      username: tokens.watcher,
      password: undefined,
      clientId: 'watcher',
    });
  });
});

const pick = (s: Status) => [s.status, s.cause];

let cachedToken: string | undefined;
async function adminToken(): Promise<string> {
  if (cachedToken) return cachedToken;
  const res = await fetch(`${platform.httpUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'acme-admin', password: 'acme-password-123' }),
  });
  cachedToken = ((await res.json()) as { token: string }).token;
  return cachedToken;
}
