import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DataPoint } from '../src/telemetry/model.js';
import { createTenantAdmin, startTestPlatform, type TestPlatform } from './helpers/platform.js';

/**
 * The ThingSpeak HTTP API as the running platform serves it: a platform admin
 * creates a channel of a device in a tenant with a user API key, a client
 * writes with the write key the way the Python library does (parameters in the
 * query string of a POST), and reads the feed and last value back, and the
 * device's telemetry holds the update too.
 */

let platform: TestPlatform;
let adminKey: string;

before(async () => {
  platform = await startTestPlatform();
  const { actor } = await createTenantAdmin(platform, 'acme');
  await platform.app.registry.createDevice(actor, { id: 'garden-1' });
  const login = await fetch(`${platform.httpUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: platform.adminPassword }),
  });
  adminKey = ((await login.json()) as { token: string }).token;
});
after(async () => platform.stop());

describe('ThingSpeak API on the platform', () => {
  it('creates a channel in a tenant, takes /update and serves the feed', async () => {
    const created = await fetch(`${platform.httpUrl}/channels.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        api_key: adminKey,
        name: 'Garden',
        field1: 'soil',
        tenant: 'acme',
        device_id: 'garden-1',
      }),
    });
    assert.equal(created.status, 200);
    const channel = (await created.json()) as {
      id: number;
      api_keys: { api_key: string; write_flag: boolean }[];
    };
    const writeKey = channel.api_keys.find((k) => k.write_flag)?.api_key ?? '';
    assert.match(writeKey, /^[0-9A-Z]{16}$/);

    // Live views hear of the update's copy in the device's telemetry, as of any accepted telemetry.
    const heard: DataPoint[] = [];
    const listen = (points: readonly DataPoint[]) => heard.push(...points);
    platform.app.telemetry.ingest.on('accepted', listen);
    const update = await fetch(`${platform.httpUrl}/update?api_key=${writeKey}&field1=12.5`, {
      method: 'POST',
    });
    assert.equal(update.status, 200);
    assert.equal(await update.text(), '1');
    assert.equal(update.headers.get('access-control-allow-origin'), '*');
    // The copy follows the answer (docs/thingspeak.md): once it is written, both hold it.
    await platform.app.thingspeak.channels.mirrored();
    platform.app.telemetry.ingest.off('accepted', listen);
    assert.deepEqual(
      heard.map((p) => [p.seriesId, p.key, p.value]),
      [['garden-1', 'soil', 12.5]],
    );
    assert.deepEqual(
      (await platform.app.telemetry.store.latest('garden-1')).map((v) => [v.key, v.value]),
      [['soil', 12.5]],
    );

    const feed = await fetch(`${platform.httpUrl}/channels/${channel.id}/feeds.json?api_key=${writeKey}`);
    const body = (await feed.json()) as {
      channel: { id: number; field1: string };
      feeds: { entry_id: number; field1: string }[];
    };
    assert.equal(body.channel.field1, 'soil');
    assert.deepEqual(
      body.feeds.map((f) => [f.entry_id, f.field1]),
      [[1, '12.5']],
    );
    const last = await fetch(`${platform.httpUrl}/channels/${channel.id}/fields/1/last?api_key=${writeKey}`);
    assert.equal(await last.text(), '12.5');

    const noKey = await fetch(`${platform.httpUrl}/channels/${channel.id}/feeds.json`);
    assert.deepEqual([noKey.status, await noKey.text()], [400, '-1']);
  });
});
