import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { IPubackPacket } from 'mqtt-packet';
import type { Actor } from '../src/registry/service.js';
import { connectClient, type TestClient } from './helpers/halyard-process.js';
import { RawClient } from './helpers/raw-client.js';
import {
  createTenantAdmin,
  createTokenDevice,
  startTestPlatform,
  type TestPlatform,
} from './helpers/platform.js';

/**
 * Telemetry over MQTT with real clients: values land in the store with their
 * types before the PUBACK; bad payloads get 0x99 with the reason; the message
 * still reaches subscribers; a device writes only its own series.
 */

let platform: TestPlatform;
let admin: Actor;
const tokens: Record<string, string> = {};
const clients: TestClient[] = [];

before(async () => {
  platform = await startTestPlatform();
  admin = (await createTenantAdmin(platform, 'acme')).actor;
  for (const id of ['t1', 't2', 'watcher'])
    tokens[id] = (await createTokenDevice(platform, admin, { id })).token;
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.drop()));
});
after(async () => platform.stop());

async function device(id: string, protocolVersion: 4 | 5 = 5): Promise<TestClient> {
  const client = await connectClient(platform.mqttUrl, {
    protocolVersion,
    username: tokens[id],
    password: undefined,
    clientId: `${id}-${clients.length}`,
  });
  clients.push(client);
  return client;
}

/** PUBACK reason code of a QoS 1 publish (MQTT.js rejects on ≥ 0x80; the code is what we test). */
async function publish(client: TestClient, topic: string, payload: string): Promise<number> {
  try {
    const ack = await client.client.publishAsync(topic, payload, { qos: 1 });
    return (ack as IPubackPacket | undefined)?.reasonCode ?? 0;
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (typeof code !== 'number') throw err;
    return code;
  }
}

describe('telemetry over MQTT', () => {
  it('stores JSON values with their types before the PUBACK', async () => {
    const client = await device('t1');
    const ack = await publish(
      client,
      'devices/me/telemetry',
      '{"temperature":21.5,"door":"open","heating":true}',
    );
    assert.ok(ack < 0x80);
    // No waiting: the PUBACK means the values are durable and readable.
    const latest = await platform.app.telemetry.store.latest('t1');
    const values = Object.fromEntries(latest.map((l) => [l.key, l.value]));
    assert.deepEqual(values, { temperature: 21.5, door: 'open', heating: true });
  });

  it('honours device timestamps and arrays of readings, and ThingsBoard topic and ThingSpeak form', async () => {
    const client = await device('t2');
    const ts = Date.now() - 60_000;
    await publish(
      client,
      'v1/devices/me/telemetry',
      JSON.stringify([
        { ts, values: { power: 1 } },
        { ts: ts + 1000, values: { power: 2 } },
      ]),
    );
    await publish(client, 'devices/me/telemetry', 'field1=7.5&status=ok');
    const { points } = await platform.app.telemetry.store.query({
      seriesId: 't2',
      keys: ['power'],
      from: 0,
      to: Date.now() + 1,
    });
    assert.deepEqual(
      points.map((p) => [p.ts, p.value]),
      [
        [ts, 1],
        [ts + 1000, 2],
      ],
    );
    const latest = Object.fromEntries(
      (await platform.app.telemetry.store.latest('t2')).map((l) => [l.key, l.value]),
    );
    assert.equal(latest.field1, 7.5);
    assert.equal(latest.status, 'ok');
  });

  it('refuses a bad payload with 0x99 and a reason, stores nothing of it, and the connection goes on', async () => {
    const port = Number(new URL(platform.mqttUrl).port);
    const raw = await RawClient.connected(port, {
      protocolVersion: 5,
      username: tokens.t1,
      clientId: 't1-raw',
    });
    const send = async (messageId: number, payload: string) => {
      raw.send({
        cmd: 'publish',
        topic: 'devices/me/telemetry',
        payload,
        qos: 1,
        messageId,
        retain: false,
        dup: false,
      });
      return raw.next('puback');
    };
    const bad = await send(1, '{"temperature": 21.5,');
    assert.equal(bad.reasonCode, 0x99);
    assert.match(bad.properties?.reasonString ?? '', /JSON/i);
    const nested = await send(2, '{"a":{"b":1}}');
    assert.equal(nested.reasonCode, 0x99);
    assert.match(nested.properties?.reasonString ?? '', /\ba\b/);
    assert.equal((await platform.app.telemetry.store.latest('t1', ['a'])).length, 0);
    const good = await send(3, '{"humidity":40}');
    assert.ok((good.reasonCode ?? 0) < 0x80);
    assert.equal(platform.app.telemetry.mqtt.messagesRejected, 2);
    raw.destroy();
  });

  it('still delivers the message to subscribers of the tenant', async () => {
    const watcher = await device('watcher');
    await watcher.client.subscribeAsync('devices/#', { qos: 1 });
    const sender = await device('t2');
    await publish(sender, 'devices/me/telemetry', '{"rpm":1200}');
    const seen = await watcher.nextMessage();
    assert.deepEqual([seen.topic, seen.payload], ['devices/me/telemetry', '{"rpm":1200}']);
  });

  it('3.1.1 clients store telemetry too', async () => {
    const client = await device('t1', 4);
    await client.client.publishAsync('devices/me/telemetry', '{"legacy":3}', { qos: 1 });
    const latest = await platform.app.telemetry.store.latest('t1', ['legacy']);
    assert.equal(latest[0]?.value, 3);
  });

  it('counts stored and refused telemetry in /metrics', async () => {
    const text = await (await fetch(`${platform.httpUrl}/metrics`)).text();
    const sample = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
    assert.ok(sample('halyard_telemetry_points_written_total') >= 8);
    assert.equal(sample('halyard_telemetry_mqtt_messages_rejected_total'), 2);
    assert.equal(sample('halyard_telemetry_pending_points'), 0);
  });
});
