import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Actor } from '../src/registry/service.js';
import { connectClient, type TestClient } from './helpers/halyard-process.js';
import {
  createTenantAdmin,
  createTokenDevice,
  startTestPlatform,
  type TestPlatform,
} from './helpers/platform.js';

/**
 * ThingSpeak over MQTT end to end: a device publishes a channel update, the
 * channel gets an entry, subscribers of channels/<id>/subscribe… get the JSON
 * entry and bare field values, the publish topic itself reaches nobody, and
 * the values are readable as the device's telemetry too.
 */

let platform: TestPlatform;
let admin: Actor;
const clients: TestClient[] = [];
const tokens: Record<string, string> = {};

before(async () => {
  platform = await startTestPlatform();
  admin = (await createTenantAdmin(platform, 'acme')).actor;
  for (const id of ['station', 'watcher'])
    tokens[id] = (await createTokenDevice(platform, admin, { id })).token;
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.drop()));
});
after(async () => platform.stop());

async function device(id: string): Promise<TestClient> {
  const client = await connectClient(platform.mqttUrl, {
    protocolVersion: 4,
    username: tokens[id],
    password: undefined,
    clientId: `${id}-${clients.length}`,
  });
  clients.push(client);
  return client;
}

describe('ThingSpeak over MQTT', () => {
  it('turns a publish into an entry, tells subscribers, and mirrors the values into telemetry', async () => {
    const { channel } = await platform.app.thingspeak.channels.createChannel(admin, {
      name: 'Weather',
      deviceId: 'station',
      fields: { field1: 'temperature', field2: 'humidity' },
    });
    const watcher = await device('watcher');
    await watcher.client.subscribeAsync(`channels/${channel.id}/subscribe`, { qos: 0 });
    await watcher.client.subscribeAsync(`channels/${channel.id}/subscribe/fields/field1`, { qos: 0 });
    await watcher.client.subscribeAsync(`channels/${channel.id}/publish`, { qos: 0 });
    const station = await device('station');
    station.client.publish(`channels/${channel.id}/publish`, '&field1=21.5&field2=40&status=ok', { qos: 0 });

    const first = await watcher.nextMessage();
    const second = await watcher.nextMessage();
    const byTopic = Object.fromEntries([first, second].map((m) => [m.topic, m.payload]));
    const entry = JSON.parse(byTopic[`channels/${channel.id}/subscribe`]) as Record<string, unknown>;
    assert.equal(entry.channel_id, channel.id);
    assert.equal(entry.entry_id, 1);
    assert.equal(entry.field1, '21.5');
    assert.equal(entry.field2, '40');
    assert.equal(byTopic[`channels/${channel.id}/subscribe/fields/field1`], '21.5');
    assert.ok(!(`channels/${channel.id}/publish` in byTopic), 'the publish topic itself is not routed');

    const last = await platform.app.thingspeak.channels.lastEntry(channel.id);
    assert.equal(last?.fields.field1, '21.5');
    const latest = Object.fromEntries(
      (await platform.app.telemetry.store.latest('station')).map((l) => [l.key, l.value]),
    );
    assert.equal(latest.temperature, 21.5);
    assert.equal(latest.humidity, 40);
  });
});
