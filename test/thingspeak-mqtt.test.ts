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
 * the values are readable as the device's telemetry too; legacy subscriptions
 * with a read key get the last entry at once; native telemetry of the bound
 * device reads back as channel entries.
 */

let platform: TestPlatform;
let admin: Actor;
const clients: TestClient[] = [];
const tokens: Record<string, string> = {};

before(async () => {
  platform = await startTestPlatform();
  admin = (await createTenantAdmin(platform, 'acme')).actor;
  for (const id of ['station', 'watcher', 'sensor'])
    tokens[id] = (await createTokenDevice(platform, admin, { id })).token;
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.drop()));
});
after(async () => platform.stop());

async function device(id: string, protocolVersion: 4 | 5 = 4): Promise<TestClient> {
  const client = await connectClient(platform.mqttUrl, {
    protocolVersion,
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
    await platform.app.thingspeak.channels.mirrored();
    const latest = Object.fromEntries(
      (await platform.app.telemetry.store.latest('station')).map((l) => [l.key, l.value]),
    );
    assert.equal(latest.temperature, 21.5);
    assert.equal(latest.humidity, 40);
  });
});

/** Waits until `client` sees a probe published after everything else, so nothing earlier is still in flight. */
async function settle(client: TestClient, via: TestClient): Promise<void> {
  const probe = `probe/${Math.random()}`;
  await client.client.subscribeAsync(probe, { qos: 0 });
  via.client.publish(probe, 'done', { qos: 0 });
  for (;;) if ((await client.nextMessage()).topic === probe) return;
}

describe('ThingSpeak MQTT: what is never routed', () => {
  it('refuses QoS 1/2 channel publishes (0x83) and routes no channel publish to anyone', async () => {
    const { channel, writeKey } = await platform.app.thingspeak.channels.createChannel(admin, {
      name: 'Keys',
      deviceId: 'station',
    });
    const watcher = await device('watcher');
    await watcher.client.subscribeAsync('#', { qos: 2 });
    const station = await device('station', 5);
    const topics = [
      `channels/${channel.id}/publish/${writeKey}`,
      `channels/${channel.id}/publish/fields/field1/${writeKey}`,
      `channels/${channel.id}/publish`,
    ];
    for (const topic of topics)
      for (const qos of [1, 2] as const) {
        const refused = await station.client.publishAsync(topic, 'field1=1', { qos }).then(
          () => undefined,
          (err: { code?: number }) => err.code,
        );
        assert.equal(refused, 0x83, `${topic} at QoS ${qos}`);
      }
    station.client.publish(`channels/${channel.id}/publish/${writeKey}`, 'field1=7', { qos: 0 });
    station.client.publish(`channels/${channel.id}/publish/fields/field9/${writeKey}`, '1', { qos: 0 });
    station.client.publish(`channels/${channel.id}/subscribe`, '{"forged":true}', { qos: 0 });
    await settle(watcher, station);
    const seen = watcher.received.map((m) => m.topic);
    assert.ok(!seen.some((t) => t.includes('/publish')), `routed: ${seen.join(', ')}`);
    assert.ok(!seen.some((t) => t.includes(writeKey)));
    assert.deepEqual(
      watcher.received
        .filter((m) => m.topic === `channels/${channel.id}/subscribe`)
        .map((m) => m.payload.includes('"field1":"7"')),
      [true],
      'only the platform publishes on the subscribe topic',
    );
    const entries = await platform.app.thingspeak.channels.entries({ channelId: channel.id, limit: 10 });
    assert.deepEqual(
      entries.map((e) => e.fields.field1),
      ['7'],
    );
  });
});

describe('ThingSpeak MQTT: legacy subscribe topics', () => {
  it('sends the last entry at once, then every update, in json, xml, csv and field form', async () => {
    const created = await platform.app.thingspeak.channels.createChannel(admin, {
      name: 'Legacy',
      fields: { field1: 'a', field2: 'b' },
    });
    const { channel, writeKey } = created;
    const readKey = created.readKeys[0];
    const station = await device('station');
    station.client.publish(`channels/${channel.id}/publish/${writeKey}`, 'field1=1&field2=2', { qos: 0 });
    const watcher = await device('watcher');
    await settle(watcher, station);
    const base = `channels/${channel.id}/subscribe`;
    const topics = {
      json: `${base}/json/${readKey}`,
      xml: `${base}/xml/${readKey}`,
      csv: `${base}/csv/${writeKey}`,
      field: `${base}/fields/field2/${readKey}`,
    };
    const got = new Map<string, string[]>();
    const take = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const m = await watcher.nextMessage();
        got.set(m.topic, [...(got.get(m.topic) ?? []), m.payload]);
      }
    };
    for (const topic of Object.values(topics)) await watcher.client.subscribeAsync(topic, { qos: 0 });
    await take(4);
    const entry1 = JSON.parse(got.get(topics.json)![0]) as Record<string, unknown>;
    assert.deepEqual(
      [entry1.channel_id, entry1.entry_id, entry1.field1, entry1.field2],
      [channel.id, 1, '1', '2'],
    );
    assert.match(
      got.get(topics.xml)![0],
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<feed><channel-id type="integer">\d+<\/channel-id>/,
    );
    assert.match(
      got.get(topics.xml)![0],
      /<entry-id type="integer">1<\/entry-id><field1>1<\/field1><field2>2<\/field2>/,
    );
    assert.match(
      got.get(topics.csv)![0],
      /^created_at,entry_id,field1,field2,field3,field4,field5,field6,field7,field8,latitude,longitude,elevation,status\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC,1,1,2,,,,,,,,,,\n$/,
    );
    assert.deepEqual(got.get(topics.field), ['2']);

    station.client.publish(`channels/${channel.id}/publish/${writeKey}`, 'field2=5', { qos: 0 });
    await take(4);
    assert.equal((JSON.parse(got.get(topics.json)![1]) as { entry_id: number }).entry_id, 2);
    assert.deepEqual(got.get(topics.field), ['2', '5']);
    assert.equal(got.get(topics.csv)!.length, 2);
  });

  it("keeps a persistent session's legacy subscription across a reconnect, the last entry included", async () => {
    const created = await platform.app.thingspeak.channels.createChannel(admin, {
      name: 'Resumed',
      fields: { field1: 'a' },
    });
    const { channel, writeKey } = created;
    const topic = `channels/${channel.id}/subscribe/json/${created.readKeys[0]}`;
    const persistent = { protocolVersion: 5 as const, username: tokens.watcher, password: undefined };
    const options = {
      ...persistent,
      clientId: 'resumer',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    };
    const first = await connectClient(platform.mqttUrl, options);
    await first.client.subscribeAsync(topic, { qos: 0 });
    await first.drop();

    const station = await device('station');
    const sensor = await device('sensor');
    await sensor.client.subscribeAsync(`channels/${channel.id}/subscribe/fields/field1`, { qos: 0 });
    station.client.publish(`channels/${channel.id}/publish/${writeKey}`, 'field1=7', { qos: 0 });
    assert.equal((await sensor.nextMessage()).payload, '7'); // stored and announced
    const again = await connectClient(platform.mqttUrl, options);
    clients.push(again);
    assert.equal(again.connack.sessionPresent, true);
    // No SUBSCRIBE this time: the resumed subscription brings the last entry, then updates.
    const last = await again.nextMessage();
    assert.equal(last.topic, topic);
    assert.equal((JSON.parse(last.payload) as { field1: string }).field1, '7');
    station.client.publish(`channels/${channel.id}/publish/${writeKey}`, 'field1=8', { qos: 0 });
    const next = await again.nextMessage();
    assert.equal((JSON.parse(next.payload) as { field1: string }).field1, '8');
  });

  it("disconnects a subscriber naming a wrong key or another tenant's channel", async () => {
    const { channel } = await platform.app.thingspeak.channels.createChannel(admin, { name: 'Private' });
    const watcher = await device('watcher', 5);
    await watcher.client.subscribeAsync(`channels/${channel.id}/subscribe/json/AAAAAAAAAAAAAAAA`, { qos: 0 });
    assert.equal((await watcher.disconnectPacket).reasonCode, 0x87);
    await watcher.closed;

    const other = await createTenantAdmin(platform, 'globex');
    const foreign = await platform.app.thingspeak.channels.createChannel(other.actor, { publicFlag: true });
    const again = await device('watcher', 5);
    await again.client.subscribeAsync(`channels/${foreign.channel.id}/subscribe/json`, { qos: 0 });
    assert.equal((await again.disconnectPacket).reasonCode, 0x87);
  });
});

describe('ThingSpeak: native telemetry of a bound device', () => {
  it('reads MQTT and HTTP telemetry back as channel entries, once each', async () => {
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const { channel } = await platform.app.thingspeak.channels.createChannel(admin, {
      name: 'Sensor',
      deviceId: 'sensor',
      fields: { field1: 'temperature', field2: 'humidity', field3: null },
    });
    const watcher = await device('watcher');
    await watcher.client.subscribeAsync(`channels/${channel.id}/subscribe`, { qos: 0 });
    const sensor = await device('sensor');
    // Acknowledged (QoS 1) means stored in both: read at once, no waiting.
    await sensor.client.publishAsync(
      'devices/me/telemetry',
      JSON.stringify({
        ts: t0,
        values: { temperature: 21.5, humidity: 40, field3: 'x', other: 1 },
      }),
      { qos: 1 },
    );
    const posted = await fetch(`${platform.httpUrl}/api/v1/telemetry`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.sensor}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ts: t0 + 1000, values: { humidity: 41, status: 'ok' } }),
    });
    assert.equal(posted.status, 200);
    // A channel update of the same device: one entry, not one more from its own mirror.
    sensor.client.publish(`channels/${channel.id}/publish`, `field1=22&created_at=${iso(t0 + 2000)}`, {
      qos: 0,
    });
    const notices = [await watcher.nextMessage(), await watcher.nextMessage(), await watcher.nextMessage()];
    assert.deepEqual(
      notices.map((m) => (JSON.parse(m.payload) as { entry_id: number }).entry_id),
      [1, 2, 3],
    );
    const entries = await platform.app.thingspeak.channels.entries({ channelId: channel.id, limit: 10 });
    assert.deepEqual(
      entries.map((e) => [
        e.entryId,
        new Date(e.createdAt).toISOString(),
        e.fields.field1,
        e.fields.field2,
        e.fields.field3,
        e.status,
      ]),
      [
        [1, iso(t0), '21.5', '40', 'x', null],
        [2, iso(t0 + 1000), null, '41', null, 'ok'],
        [3, iso(t0 + 2000), '22', null, null, null],
      ],
    );
    const feed = await fetch(
      `${platform.httpUrl}/channels/${channel.id}/feeds.json?results=10&status=true&api_key=${(await platform.app.thingspeak.channels.getChannel(admin, channel.id)).readKeys[0]}`,
    );
    const body = (await feed.json()) as { feeds: Record<string, unknown>[] };
    assert.deepEqual(body.feeds[1], {
      created_at: iso(t0 + 1000).replace('.000Z', 'Z'),
      entry_id: 2,
      field1: null,
      field2: '41',
      status: 'ok',
    });
  });
});
